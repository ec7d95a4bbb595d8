import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import t from 'tap'
import { startApp } from '../helpers.js'
import { ROOT } from '../fixtures/paths.js'

const CHANGELOG = resolve(ROOT, 'docs/CHANGELOG.md')

t.test("the document's version has an entry in docs/CHANGELOG.md", async (t) => {
  const app = await startApp(t)
  const { version } = (await app.inject({ url: '/openapi.json' })).json().info
  t.match(version, /^\d+\.\d+\.\d+$/, 'info.version is a semantic version')
  const headings = [...readFileSync(CHANGELOG, 'utf8').matchAll(/^## (\S+)\s*$/gm)].map((m) => m[1])
  t.ok(headings.includes(version), `docs/CHANGELOG.md has a "## ${version}" entry`, { headings })
  t.equal(headings[0], version, 'the newest entry, first, is the served version')
})

import { existsSync, readFileSync, writeFileSync } from 'node:fs'

const RESULTS = 'bench/RESULTS.md'

/**
 * Puts `section` (which starts with its `## ` heading) into bench/RESULTS.md in place
 * of the section with that heading, up to the next `## ` heading, or at the end when
 * there is none: each benchmark rewrites its own section and keeps the others'.
 */
export function writeResultsSection(heading: string, section: string): void {
  const results = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : ''
  const at = results.indexOf(heading)
  if (at === -1) {
    writeFileSync(RESULTS, results.trimEnd() + '\n\n' + section)
    return
  }
  const next = results.indexOf('\n## ', at + heading.length)
  writeFileSync(RESULTS, results.slice(0, at) + section + (next === -1 ? '' : '\n' + results.slice(next + 1)))
}

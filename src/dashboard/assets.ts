import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { AssetUrls } from './pages.js'

/** The page script and style, found from this file in both src/ (tsx) and dist/ (built), as migrations are. */
const OWN_DIR = fileURLToPath(new URL('../../assets/dashboard/', import.meta.url))

interface Asset {
  type: string
  body: Buffer
}

/**
 * The dashboard's static files, read once at start-up and served from memory: its own
 * script and style, and uPlot's from its package (nothing from another host). Page
 * links carry a hash of each file, so a browser may keep them for a day and still
 * never runs an old script against a new page.
 */
export class DashboardAssets {
  private constructor(
    private readonly files: Map<string, Asset>,
    readonly urls: AssetUrls,
  ) {}

  static async load(): Promise<DashboardAssets> {
    const require = createRequire(import.meta.url)
    const uplot = (file: string) => require.resolve(`uplot/dist/${file}`)
    const sources: Array<[string, string, string]> = [
      ['dashboard.js', `${OWN_DIR}dashboard.js`, 'text/javascript; charset=utf-8'],
      ['dashboard.css', `${OWN_DIR}dashboard.css`, 'text/css; charset=utf-8'],
      ['uPlot.iife.min.js', uplot('uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
      ['uPlot.min.css', uplot('uPlot.min.css'), 'text/css; charset=utf-8'],
    ]
    const files = new Map<string, Asset>()
    const url: Record<string, string> = {}
    for (const [name, path, type] of sources) {
      const body = await readFile(path)
      files.set(name, { type, body })
      url[name] = `/dashboard/assets/${name}?v=${createHash('sha256').update(body).digest('hex').slice(0, 12)}`
    }
    return new DashboardAssets(files, {
      js: url['dashboard.js']!,
      css: url['dashboard.css']!,
      chartJs: url['uPlot.iife.min.js']!,
      chartCss: url['uPlot.min.css']!,
    })
  }

  /** A file by its name; null for anything else. */
  get(name: string): Asset | null {
    return this.files.get(name) ?? null
  }
}

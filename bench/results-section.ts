import { existsSync, readFileSync, writeFileSync } from 'node:fs'

const RESULTS = 'bench/RESULTS.md'

/**
 * Puts `section` (starting with its `## heading` line) into bench/RESULTS.md in place
 * of the section with the same heading, up to the next `## `, or at the end when there
 * is none. `npm run bench` rewrites the file above the first of these sections.
 */
export function writeResultsSection(heading: string, section: string): void {
  const results = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : ''
  const at = results.indexOf(heading)
  if (at === -1) {
    writeFileSync(RESULTS, results.trimEnd() + '\n\n' + section)
    return
  }
  const next = results.indexOf('\n## ', at + heading.length)
  writeFileSync(RESULTS, results.slice(0, at) + section + (next === -1 ? '' : results.slice(next + 1)))
}

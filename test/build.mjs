// Type-checks src, test and bench in one tsc run that also writes them as JavaScript
// to .build/ (test/tsconfig.json), for `npm test` to run without a TypeScript loader in
// every test process. The folder is emptied first, so that a deleted or renamed test
// leaves no compiled copy behind to be run.
import { spawnSync } from 'node:child_process'
import { rmSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'

rmSync('.build', { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const { status } = spawnSync(process.execPath, [tsc, '-p', 'test/tsconfig.json'], { stdio: 'inherit' })
if (status !== 0) process.exit(status ?? 1)
// src/db/migrate.ts finds the migrations at ../../migrations/ from itself, and
// src/dashboard/assets.ts the dashboard's files at ../../assets/.
symlinkSync('../migrations', '.build/migrations', 'dir')
symlinkSync('../assets', '.build/assets', 'dir')

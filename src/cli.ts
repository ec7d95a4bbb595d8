#!/usr/bin/env node
/**
 * The operator's command line: `smslinks <command>` (or `npm run cli -- <command>`).
 * A thin layer like the HTTP routes: it reads the same configuration, opens the same
 * store and calls the same use-case functions as the API. Results are JSON on stdout;
 * a failure is one line on stderr and exit code 1. The commands are in cli/commands.ts.
 */
import { existsSync } from 'node:fs'
import { runCli } from './cli/commands.js'

// The same configuration the service reads: the environment, then ./.env under it.
if (existsSync('.env')) process.loadEnvFile('.env')

process.exitCode = await runCli(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
})

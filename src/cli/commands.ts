/**
 * The operator's commands, one entry each, over the same use-case functions as the
 * HTTP API. src/cli.ts runs them as `smslinks <command>`; tests may call runCli directly.
 */
import { existsSync, statSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Value } from 'typebox/value'
import { messageStats } from '../clicks/stats.js'
import { loadConfig, type Config } from '../config.js'
import { copyToPostgres, type CopyProgress } from '../db/copy-to-postgres.js'
import { migrate } from '../db/migrate.js'
import { openDatabase } from '../db/open.js'
import { backendOf, describeStore, openStore } from '../db/open-store.js'
import { migratePostgresAt } from '../db/postgres/index.js'
import { describeUrl } from '../db/postgres/pool.js'
import type { Store } from '../db/store.js'
import { notFound } from '../errors.js'
import { presentMessage } from '../messages/present.js'
import { Label } from '../routes/schemas.js'
import { DomainRegistry } from '../tenants/domain-registry.js'
import { presentTenant } from '../tenants/present.js'
import {
  addDomain,
  createApiKey,
  createTenant,
  listTenants,
  revokeApiKey,
  setTenantLanguage,
  setUnsubscribePageText,
  unsubscribePageTexts,
} from '../tenants/tenants.js'

const USAGE = `usage: smslinks <command>

  tenant create <name>                     create a tenant
  tenant list                              every tenant with its domains
  domain add <tenantId> <host> [--scheme http|https]
                                           give a tenant a host (a running service serves it within a second)
  tenant language <tenantId> <language|none>
                                           the language of the tenant's recipients' pages (da, de, en, nb, sv,
                                           zh-Hans) when a message sets none; none clears it
  page-text set <tenantId> <language> <title> <text>
                                           the tenant's own unsubscribe page title and text in a language
  page-text remove <tenantId> <language>   back to the built-in wording in that language
  page-text list <tenantId>                the tenant's own wordings
  key create <tenantId> <name>             create an API key (shown only this once)
  key revoke <tenantId> <keyId>            revoke an API key; it stops working at once
  messages <tenantId> [--limit N]          the tenant's newest messages (default 50, at most 200)
  stats <tenantId> <messageId>             a message's clicks, unique clicks and CTR
  migrate                                  create the database or bring its schema up to date
  backup <file>                            copy the SQLite database to a new file while the service runs
                                           (on PostgreSQL use pg_dump)
  copy-to-postgres                         copy the database into the empty PostgreSQL database at DATABASE_URL
  help                                     this text

The database is PostgreSQL at DATABASE_URL when it is set, else the SQLite file at
DATABASE_PATH (default ./data/smslinks.db); ./.env is read as by the service.`

class UsageError extends Error {}

interface Invocation {
  words: string[]
  scheme: string | undefined
  limit: string | undefined
}

type OptionName = 'scheme' | 'limit'

interface Command {
  /** Positional arguments after the command's name, in order. */
  args: string[]
  options?: OptionName[]
  /** Whether it may create the database file; the others refuse a missing one (a wrong DATABASE_PATH). */
  createsDatabase?: boolean
  /** Checks the arguments before the database is opened: bad input touches nothing. */
  check?(args: string[], invocation: Invocation, config: Config): void
  run(store: Store, args: string[], invocation: Invocation, config: Config): Promise<unknown>
}

async function findTenant(store: Store, publicId: string) {
  const tenant = await store.getTenant(publicId)
  if (!tenant) throw notFound('tenant')
  return tenant
}

const NameSchema = Label('name')

/** The same rule the API's schema applies to a tenant's or a key's name. */
function checkName(name: string): void {
  if (!Value.Check(NameSchema, name)) {
    throw new UsageError('name must be 1–128 characters and must not start or end with a space')
  }
}

function limitOption(raw: string | undefined): number {
  if (raw === undefined) return 50
  const limit = Number(raw)
  if (!/^\d+$/.test(raw) || limit < 1 || limit > 200)
    throw new UsageError('--limit must be a whole number from 1 to 200')
  return limit
}

/** One entry per command; each calls the use-case the matching API route calls. */
const COMMANDS: Record<string, Command> = {
  'tenant create': {
    args: ['name'],
    createsDatabase: true,
    check: ([name]) => checkName(name!),
    async run(store, [name]) {
      const tenant = await createTenant(store, name!)
      return { id: tenant.publicId, name: tenant.name }
    },
  },
  'tenant list': {
    args: [],
    async run(store) {
      return { tenants: (await listTenants(store)).map(presentTenant) }
    },
  },
  'tenant language': {
    args: ['tenantId', 'language'],
    async run(store, [tenantId, language]) {
      const registry = new DomainRegistry([])
      const tenant = await setTenantLanguage(store, registry, tenantId!, language === 'none' ? null : language!)
      return { id: tenant.publicId, name: tenant.name, language: tenant.language }
    },
  },
  'page-text set': {
    args: ['tenantId', 'language', 'title', 'text'],
    async run(store, [tenantId, language, title, text]) {
      return setUnsubscribePageText(store, tenantId!, language!, { title: title!, text: text! })
    },
  },
  'page-text remove': {
    args: ['tenantId', 'language'],
    async run(store, [tenantId, language]) {
      await setUnsubscribePageText(store, tenantId!, language!, null)
      return { removed: language }
    },
  },
  'page-text list': {
    args: ['tenantId'],
    async run(store, [tenantId]) {
      return { pageTexts: await unsubscribePageTexts(store, tenantId!) }
    },
  },
  'domain add': {
    args: ['tenantId', 'host'],
    options: ['scheme'],
    check(_args, { scheme = 'https' }) {
      if (scheme !== 'https' && scheme !== 'http') throw new UsageError('--scheme must be https or http')
    },
    async run(store, [tenantId, host], { scheme }) {
      const domain = await addDomain(
        store,
        new DomainRegistry(await store.listDomains()),
        tenantId!,
        host!,
        scheme as 'http' | 'https' | undefined,
      )
      return { host: domain.host, tenantId }
    },
  },
  'key create': {
    args: ['tenantId', 'name'],
    check: ([, name]) => checkName(name!),
    async run(store, [tenantId, name]) {
      return createApiKey(store, tenantId!, name!)
    },
  },
  'key revoke': {
    args: ['tenantId', 'keyId'],
    async run(store, [tenantId, keyId]) {
      await revokeApiKey(store, tenantId!, keyId!)
      return { revoked: keyId }
    },
  },
  messages: {
    args: ['tenantId'],
    options: ['limit'],
    check: (_args, { limit }) => limitOption(limit),
    async run(store, [tenantId], { limit }) {
      const pageSize = limitOption(limit)
      const tenant = await findTenant(store, tenantId!)
      const domains = new DomainRegistry(await store.listDomains())
      const page = await store.listMessages(tenant.id, null, pageSize)
      return { messages: page.messages.map((message) => presentMessage(message, domains.get(message.domainId)!)) }
    },
  },
  stats: {
    args: ['tenantId', 'messageId'],
    async run(store, [tenantId, messageId]) {
      const tenant = await findTenant(store, tenantId!)
      const message = await store.getMessage(tenant.id, messageId!)
      if (!message) throw notFound('message')
      return messageStats(store, message)
    },
  },
  backup: {
    args: ['file'],
    check(_args, _invocation, config) {
      if (backendOf(config) === 'postgres') {
        throw new UsageError(
          'backup copies the SQLite file; with DATABASE_URL the database is PostgreSQL: back it up with pg_dump ' +
            '(pg_dump --format=custom --file=smslinks.dump "$DATABASE_URL", see docs/operations.md)',
        )
      }
    },
    async run(store, [file], _invocation, config) {
      // Never overwrite: an older backup may be the only good copy left.
      if (existsSync(file!)) throw new UsageError(`${file} already exists; choose a new file name`)
      await store.backup(file!)
      return { database: config.databasePath, backup: file, bytes: statSync(file!).size }
    },
  },
}

function parse(argv: string[]): Invocation | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: { scheme: { type: 'string' }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help || positionals.length === 0 || positionals[0] === 'help') return 'help'
  return { words: positionals, scheme: values.scheme, limit: values.limit }
}

/** `migrate` works on the bare database: it is what creates the schema the store needs. */
async function runMigrate(config: Config) {
  if (config.databaseUrl !== null) {
    return { database: describeStore(config), ...(await migratePostgresAt(config.databaseUrl)) }
  }
  const db = openDatabase(config.databasePath)
  try {
    const applied = migrate(db)
    return { database: config.databasePath, applied, version: db.pragma('user_version', { simple: true }) }
  } finally {
    db.close()
  }
}

/**
 * `copy-to-postgres` reads the SQLite file and writes PostgreSQL without a store on
 * either: it moves rows table by table. Progress goes to `err`, a line a second and
 * one per table, so that stdout stays the one JSON result.
 */
async function runCopyToPostgres(config: Config, err: (text: string) => void) {
  if (config.databaseUrl === null) {
    throw new UsageError('copy-to-postgres needs DATABASE_URL: the postgres:// URL of an empty database')
  }
  const path = config.databasePath
  if (path === ':memory:' || !existsSync(path)) throw new UsageError(`no database at ${path}: set DATABASE_PATH`)
  const started = Date.now()
  let shown = { table: '', at: 0 }
  const show = ({ table, copied, total }: CopyProgress) => {
    const now = Date.now()
    if (table === shown.table && copied < total && now - shown.at < 1000) return
    shown = { table, at: now }
    const percent = total === 0 ? 100 : Math.floor((copied / total) * 100)
    err(`copy-to-postgres: ${table} ${copied}/${total} rows (${percent}%)\n`)
  }
  const result = await copyToPostgres(path, config.databaseUrl, show)
  return { from: path, to: describeUrl(config.databaseUrl), ...result, seconds: (Date.now() - started) / 1000 }
}

function noArguments(name: string, invocation: Invocation): void {
  if (invocation.words.length > 1 || invocation.scheme !== undefined || invocation.limit !== undefined) {
    throw new UsageError(`${name} takes no arguments`)
  }
}

async function run(invocation: Invocation, config: Config, err: (text: string) => void): Promise<unknown> {
  const { words } = invocation
  if (words[0] === 'migrate') {
    noArguments('migrate', invocation)
    return runMigrate(config)
  }
  if (words[0] === 'copy-to-postgres') {
    noArguments('copy-to-postgres', invocation)
    return runCopyToPostgres(config, err)
  }
  const name = COMMANDS[words[0]!] ? words[0]! : words.slice(0, 2).join(' ')
  const command = COMMANDS[name]
  if (!command) throw new UsageError(`unknown command "${words.join(' ')}"; see "smslinks help"`)
  const given = words.slice(name.split(' ').length)
  if (given.length !== command.args.length) {
    throw new UsageError(`${name} takes ${command.args.map((arg) => `<${arg}>`).join(' ') || 'no arguments'}`)
  }
  for (const option of ['scheme', 'limit'] as const) {
    if (invocation[option] !== undefined && !command.options?.includes(option)) {
      throw new UsageError(`${name} does not take --${option}`)
    }
  }
  command.check?.(given, invocation, config)
  const path = config.databasePath
  if (backendOf(config) === 'sqlite' && !command.createsDatabase && path !== ':memory:' && !existsSync(path)) {
    throw new UsageError(`no database at ${path}: set DATABASE_PATH, or run "smslinks migrate" to create one`)
  }
  const store = await openStore(config)
  try {
    return await command.run(store, given, invocation, config)
  } finally {
    await store.close()
  }
}

/** Where a command's output goes: JSON results to `out`, one-line failures to `err`. */
export interface CliOutput {
  out: (text: string) => void
  err: (text: string) => void
}

/**
 * Runs one command line (without `node smslinks`) against the configuration in `env`
 * and returns the exit code: 0 with JSON written to `out`, or 1 with one line on `err`.
 */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, output: CliOutput): Promise<number> {
  try {
    const invocation = parse(argv)
    if (invocation === 'help') {
      output.out(`${USAGE}\n`)
      return 0
    }
    const result = await run(invocation, loadConfig(env), output.err)
    output.out(`${JSON.stringify(result, null, 2)}\n`)
    return 0
  } catch (err) {
    // UsageError, ApiError (e.g. "tenant not found"), ConfigError or a database error: one line each.
    output.err(`smslinks: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  }
}

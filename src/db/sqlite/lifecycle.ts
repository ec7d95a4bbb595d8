import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import type { LifecycleStore } from '../store.js'

function prepare(db: SqliteDatabase) {
  return {
    writeProbe: db.prepare(
      "INSERT INTO settings (key, value) VALUES ('readiness_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
  }
}

/** The connection itself: the readiness write probe, online backup, closing. */
export class SqliteLifecycle implements LifecycleStore {
  private readonly sql: ReturnType<typeof prepare>

  constructor(private readonly connection: SqliteConnection) {
    this.sql = prepare(connection.db)
  }

  async checkWritable(): Promise<void> {
    this.sql.writeProbe.run(String(Date.now()))
  }

  async backup(path: string): Promise<void> {
    await this.connection.db.backup(path)
  }

  async runExclusive(_name: string, job: () => Promise<void>): Promise<boolean> {
    await job()
    return true
  }

  async close(): Promise<void> {
    if (this.connection.db.open) this.connection.db.close()
  }
}

retryingWhileBusy(SqliteLifecycle)

import { Migrator } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';

import type { Db, DialectName } from './connect.js';
import { up as initial } from './migrations/0001_initial.js';
import { up as schedules } from './migrations/0002_schedules.js';
import { up as privacy } from './migrations/0003_privacy.js';
import { up as deliveries } from './migrations/0004_deliveries.js';
import { up as uploadsSessions } from './migrations/0005_uploads_sessions.js';
import { up as rateLimits } from './migrations/0006_rate_limits.js';
import { up as originalSha256 } from './migrations/0007_original_sha256.js';
import { up as filmstrip } from './migrations/0008_filmstrip.js';

type AnyDb = Kysely<unknown>;

/**
 * Migrations live in code so that the compiled package carries them. Each takes the
 * dialect, for the few column types that differ; names sort in the order they apply.
 */
function migrations(dialect: DialectName): Record<string, Migration> {
  return {
    '0001_initial': { up: (db) => initial(db, dialect) },
    '0002_schedules': { up: (db) => schedules(db, dialect) },
    '0003_privacy': { up: (db) => privacy(db, dialect) },
    '0004_deliveries': { up: (db) => deliveries(db, dialect) },
    '0005_uploads_sessions': { up: (db) => uploadsSessions(db, dialect) },
    '0006_rate_limits': { up: (db) => rateLimits(db, dialect) },
    '0007_original_sha256': { up: (db) => originalSha256(db, dialect) },
    '0008_filmstrip': { up: (db) => filmstrip(db, dialect) },
  };
}

export async function migrate(db: Db): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(db.dialect) };
  const migrator = new Migrator({
    db: db.kysely as unknown as AnyDb,
    provider,
    ...(db.schema === undefined ? {} : { migrationTableSchema: db.schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    throw error instanceof Error ? error : new Error('migration failed', { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

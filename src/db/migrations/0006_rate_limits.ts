import type { Kysely } from 'kysely';

import type { DialectName } from '../connect.js';

/**
 * Request counts per client and minute, kept in the database so that every process behind
 * a load balancer counts against the same limit. One row per key: a new minute overwrites
 * the last one, so the table grows with the number of clients, not with time.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema.createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('window_start', bigint, (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_limits_window').on('rate_limits').column('window_start')
    .execute();
}

import type { Kysely } from 'kysely';

import type { DialectName } from '../connect.js';

/** One row per recording and destination: where each copy to customer storage stands. */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const idType = dialect === 'postgres' ? 'bigserial' : 'integer';
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema.createTable('recording_deliveries')
    .addColumn('id', idType, (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement())
    .addColumn('account_id', bigint, (c) => c.notNull())
    .addColumn('recording_id', bigint, (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('credentials_id', bigint, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('last_attempt_at', bigint)
    .addColumn('next_attempt_at', bigint)
    .addColumn('delivered_at', bigint)
    .addColumn('files', 'text')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('recording_deliveries_one', ['recording_id', 'target', 'credentials_id'])
    .execute();
}

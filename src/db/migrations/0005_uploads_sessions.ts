import type { Kysely } from 'kysely';

import type { DialectName } from '../connect.js';

/**
 * Resumable uploads in progress, and dashboard sessions. Both live in the database so that
 * any process sharing it can answer a resumed upload's HEAD or a signed-in request.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema.createTable('uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id'))
    .addColumn('env_id', 'integer', (c) => c.notNull())
    .addColumn('upload_offset', bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('upload_length', bigint, (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('recording_id', bigint)
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('uploads_expires').on('uploads').column('expires_at').execute();
  await db.schema.createIndex('uploads_account').on('uploads')
    .columns(['account_id', 'recording_id']).execute();

  await db.schema.createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('auth_fingerprint', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_seen_at', bigint, (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
  await db.schema.createIndex('sessions_account').on('sessions').column('account_id').execute();
}

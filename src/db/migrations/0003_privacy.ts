import type { Kysely } from 'kysely';

import type { DialectName } from '../connect.js';

/**
 * Per-environment privacy settings: which of the recorder's personal data is kept (all of it
 * unless switched off, as before) and after how many days recordings are deleted (never
 * unless set). SQLite adds one column per statement.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  for (const name of ['collect_ip', 'collect_ua', 'collect_referer', 'collect_device_names']) {
    await db.schema.alterTable('environments')
      .addColumn(name, 'integer', (c) => c.notNull().defaultTo(1)).execute();
  }
  await db.schema.alterTable('environments').addColumn('lifecycle_days', 'integer').execute();
  // The daily lifecycle run looks for an environment's oldest live recordings.
  await db.schema.createIndex('recordings_lifecycle').on('recordings')
    .columns(['account_id', 'env_id', 'deleted_at', 'created_at']).execute();
}

import type { Kysely } from 'kysely';

import type { DialectName } from '../connect.js';

/**
 * Periodic tasks, a second webhook secret that keeps signing through a rotation, and job
 * groups.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema.createTable('schedules')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('next_run_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.alterTable('webhooks').addColumn('previous_secret_enc', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('previous_secret_until', bigint).execute();
  await db.schema.createIndex('deliveries_created').on('webhook_deliveries')
    .column('created_at').execute();
  // Jobs of one group (one webhook's deliveries) are limited in how many run at once.
  await db.schema.alterTable('jobs').addColumn('group_key', 'text').execute();
  await db.schema.createIndex('jobs_group_running').on('jobs').columns(['status', 'group_key'])
    .execute();
}

import type { Kysely } from 'kysely';

import type { Database } from '../db/schema.js';

type Exec = Kysely<Database>;

/** Removes finished deliveries and jobs older than `before`, at most `limit` of each. */
export async function pruneFinished(
  db: Exec,
  before: number,
  limit: number,
): Promise<{ deliveries: number; jobs: number }> {
  const oldDeliveries = db.selectFrom('webhook_deliveries').select('id')
    .where('created_at', '<', before).where('status', '!=', 'pending').limit(limit);
  const deliveries = await db.deleteFrom('webhook_deliveries')
    .where('id', 'in', (eb) => eb.selectFrom(oldDeliveries.as('old')).select('old.id'))
    .executeTakeFirst();
  const oldJobs = db.selectFrom('jobs').select('id')
    .where('updated_at', '<', before).where('status', 'in', ['done', 'failed', 'cancelled'])
    .limit(limit);
  const jobs = await db.deleteFrom('jobs')
    .where('id', 'in', (eb) => eb.selectFrom(oldJobs.as('old')).select('old.id'))
    .executeTakeFirst();
  return { deliveries: Number(deliveries.numDeletedRows), jobs: Number(jobs.numDeletedRows) };
}

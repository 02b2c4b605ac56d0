import type { Kysely } from 'kysely';

import type { Database, Recording, RecordingDelivery } from '../db/schema.js';

type Exec = Kysely<Database>;

/** An account's live recordings, newest first, before `beforeId` when paging on. */
export async function newestRecordings(
  db: Exec,
  accountId: number,
  options: { beforeId?: number | undefined; envId?: number | undefined; limit: number },
): Promise<Recording[]> {
  let query = db.selectFrom('recordings').selectAll()
    .where('account_id', '=', accountId).where('deleted_at', 'is', null);
  if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
  if (options.envId !== undefined) query = query.where('env_id', '=', options.envId);
  return query.orderBy('id', 'desc').limit(options.limit).execute();
}

export async function recordingStatusCounts(db: Exec, accountId: number) {
  const rows = await db.selectFrom('recordings')
    .select(['status', (eb) => eb.fn.countAll().as('n')])
    .where('account_id', '=', accountId).where('deleted_at', 'is', null)
    .groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
}

/** Copies to customer storage of these recordings, all of the account's own. */
export async function storageDeliveriesOf(
  db: Exec,
  accountId: number,
  recordingIds: readonly number[],
): Promise<RecordingDelivery[]> {
  if (recordingIds.length === 0) return [];
  return db.selectFrom('recording_deliveries').selectAll()
    .where('account_id', '=', accountId).where('recording_id', 'in', recordingIds)
    .orderBy('id').execute();
}

/** How many webhook deliveries about each recording stand at each status. */
export async function webhookStatusOf(
  db: Exec,
  accountId: number,
  recordingIds: readonly number[],
) {
  if (recordingIds.length === 0) return [];
  const rows = await db.selectFrom('webhook_deliveries')
    .select(['recording_id', 'status', (eb) => eb.fn.countAll().as('n')])
    .where('account_id', '=', accountId).where('recording_id', 'in', recordingIds)
    .groupBy(['recording_id', 'status']).execute();
  return rows.map((r) => ({ recordingId: Number(r.recording_id), status: r.status,
    n: Number(r.n) }));
}

/** Every webhook delivery about one recording, with the URL it went to. */
export async function webhookDeliveriesOfRecording(
  db: Exec,
  accountId: number,
  recordingId: number,
) {
  return db.selectFrom('webhook_deliveries')
    .innerJoin('webhooks', 'webhooks.id', 'webhook_deliveries.webhook_id')
    .select(['webhook_deliveries.id', 'webhook_deliveries.webhook_id', 'webhook_deliveries.event',
      'webhook_deliveries.status', 'webhook_deliveries.attempts',
      'webhook_deliveries.last_status_code', 'webhook_deliveries.last_error',
      'webhook_deliveries.created_at', 'webhook_deliveries.delivered_at', 'webhooks.webhook'])
    .where('webhook_deliveries.account_id', '=', accountId)
    .where('webhooks.account_id', '=', accountId)
    .where('webhook_deliveries.recording_id', '=', recordingId)
    .orderBy('webhook_deliveries.id').execute();
}

/** Deliveries per webhook and status, for the webhook list. */
export async function webhookDeliveryCounts(db: Exec, accountId: number) {
  const rows = await db.selectFrom('webhook_deliveries')
    .select(['webhook_id', 'status', (eb) => eb.fn.countAll().as('n')])
    .where('account_id', '=', accountId).groupBy(['webhook_id', 'status']).execute();
  return rows.map((r) => ({ webhookId: Number(r.webhook_id), status: r.status, n: Number(r.n) }));
}

import type { Insertable, Kysely, Updateable } from 'kysely';

import type { Database, WebhookDeliveriesTable, WebhookDelivery } from '../db/schema.js';

type Exec = Kysely<Database>;

export async function insertDelivery(
  db: Exec,
  row: Insertable<WebhookDeliveriesTable>,
): Promise<WebhookDelivery> {
  return db.insertInto('webhook_deliveries').values(row).returningAll()
    .executeTakeFirstOrThrow();
}

export async function findDelivery(db: Exec, id: number): Promise<WebhookDelivery | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateDelivery(
  db: Exec,
  id: number,
  changes: Updateable<WebhookDeliveriesTable>,
): Promise<void> {
  await db.updateTable('webhook_deliveries').set(changes).where('id', '=', id).execute();
}

export async function listDeliveries(
  db: Exec,
  accountId: number,
  webhookId: number,
  limit: number,
): Promise<WebhookDelivery[]> {
  return db.selectFrom('webhook_deliveries').selectAll()
    .where('account_id', '=', accountId).where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc').limit(limit).execute();
}

export async function cancelRecordingDeliveries(db: Exec, recordingId: number): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ status: 'cancelled', next_attempt_at: null })
    .where('recording_id', '=', recordingId).where('status', '=', 'pending').execute();
}

export async function findAccountDelivery(
  db: Exec,
  accountId: number,
  id: number,
): Promise<WebhookDelivery | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll()
    .where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

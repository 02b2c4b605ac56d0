import type { Insertable, Kysely, Updateable } from 'kysely';

import type { Database, Webhook, WebhooksTable } from '../db/schema.js';

type Exec = Kysely<Database>;

export async function listWebhooks(db: Exec, accountId: number): Promise<Webhook[]> {
  return db.selectFrom('webhooks').selectAll().where('account_id', '=', accountId)
    .orderBy('id').execute();
}

export async function findWebhook(
  db: Exec,
  accountId: number,
  id: number,
): Promise<Webhook | undefined> {
  return db.selectFrom('webhooks').selectAll()
    .where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

export async function insertWebhook(db: Exec, row: Insertable<WebhooksTable>): Promise<Webhook> {
  return db.insertInto('webhooks').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function updateWebhook(
  db: Exec,
  accountId: number,
  id: number,
  changes: Updateable<WebhooksTable>,
): Promise<void> {
  await db.updateTable('webhooks').set(changes)
    .where('account_id', '=', accountId).where('id', '=', id).execute();
}

export async function deleteWebhook(db: Exec, accountId: number, id: number): Promise<boolean> {
  const result = await db.deleteFrom('webhooks')
    .where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Webhook flag columns, by the event each one subscribes to. */
export const EVENT_FLAGS = {
  video_recorded: 'webhook_recorded',
  video_transcoded: 'webhook_transcoded',
  video_converted: 'webhook_converted',
  video_copied_pipe_s3: 'webhook_copied_pipe_s3',
  video_copied_s3: 'webhook_copied_s3',
  video_copied_ftp: 'webhook_copied_ftp',
  video_copied_dbox: 'webhook_copied_dbox',
} as const;

export type WebhookEvent = keyof typeof EVENT_FLAGS;

export async function subscribedWebhooks(
  db: Exec,
  accountId: number,
  envId: number,
  event: WebhookEvent,
): Promise<Webhook[]> {
  return db.selectFrom('webhooks').selectAll()
    .where('account_id', '=', accountId).where('env_id', '=', envId)
    .where('active', '=', 1).where(EVENT_FLAGS[event], '=', 1)
    .orderBy('id').execute();
}

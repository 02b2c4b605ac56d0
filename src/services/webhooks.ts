import type { Context } from '../context.js';
import type { Account, WebhookDelivery } from '../db/schema.js';
import { badRequest, notFound } from '../lib/errors.js';
import { formatDateTime } from '../lib/format.js';
import { randomHex, randomToken } from '../lib/secrets.js';
import { findAccountById, updateAccount } from '../repositories/accounts.js';
import {
  findAccountDelivery, insertDelivery, listDeliveries, updateDelivery,
} from '../repositories/deliveries.js';
import { findWebhook, updateWebhook } from '../repositories/webhooks.js';
import type { WebhookEvent } from '../repositories/webhooks.js';
import { eventBody } from '../webhooks/events.js';
import { sendWebhook } from '../webhooks/sender.js';
import { newStandardWebhookSecret } from '../webhooks/signature.js';
import { signatureHeaders } from './webhook-delivery.js';

const MAX_GRACE_SECONDS = 7 * 86_400;

/** A delivery as the delivery log shows it: numbers as strings, like the rest of the API. */
export function toDeliveryView(d: WebhookDelivery, timeZone: string) {
  const at = (ms: number | null) => (ms === null ? null : formatDateTime(ms, timeZone));
  return {
    id: String(d.id),
    webhook_id: String(d.webhook_id),
    event: d.event,
    recording_id: d.recording_id === null ? null : String(d.recording_id),
    message_id: d.message_id,
    status: d.status,
    attempts: String(d.attempts),
    http_status: d.last_status_code === null ? null : String(d.last_status_code),
    duration_ms: d.last_duration_ms === null ? null : String(d.last_duration_ms),
    error: d.last_error,
    next_attempt: d.status === 'pending' ? at(d.next_attempt_at) : null,
    created: at(d.created_at),
    delivered: at(d.delivered_at),
  };
}

async function ownWebhook(ctx: Context, account: Account, webhookId: number) {
  const hook = await findWebhook(ctx.db.kysely, account.id, webhookId);
  if (hook === undefined) throw notFound('webhook');
  return hook;
}

export async function deliveryLog(ctx: Context, account: Account, webhookId: number,
  limit: number) {
  await ownWebhook(ctx, account, webhookId);
  return listDeliveries(ctx.db.kysely, account.id, webhookId, limit);
}

/** Sends a logged event again, with the same body and message id, as a new delivery. */
export async function redeliver(ctx: Context, account: Account, webhookId: number,
  deliveryId: number): Promise<WebhookDelivery> {
  const hook = await ownWebhook(ctx, account, webhookId);
  const old = await findAccountDelivery(ctx.db.kysely, account.id, deliveryId);
  if (old === undefined || old.webhook_id !== hook.id) throw notFound('delivery');
  const now = ctx.clock();
  const created = await ctx.db.kysely.transaction().execute(async (trx) => {
    const copy = await insertDelivery(trx, {
      account_id: account.id, webhook_id: hook.id, recording_id: old.recording_id,
      event: old.event, body: old.body, message_id: old.message_id, status: 'pending',
      attempts: 0, next_attempt_at: now, created_at: now,
    });
    await ctx.queue.enqueue(trx, 'webhook.deliver', { deliveryId: copy.id },
      { recordingId: old.recording_id, groupKey: `webhook:${hook.id}` });
    return copy;
  });
  ctx.queue.notify();
  return created;
}

/**
 * Sends a sample event to a webhook now and answers with what the receiver said. The
 * sample has every field of the real event, so a strict receiver parses it the same way.
 */
export async function sendTestEvent(ctx: Context, cached: Account, webhookId: number,
  event: WebhookEvent): Promise<WebhookDelivery> {
  const hook = await ownWebhook(ctx, cached, webhookId);
  // The key that signs is read now: the account given may be a moment old.
  const account = (await findAccountById(ctx.db.kysely, cached.id)) ?? cached;
  const now = ctx.clock();
  const body = eventBody(event, sampleData(ctx, account, now));
  const delivery = await insertDelivery(ctx.db.kysely, {
    account_id: account.id, webhook_id: hook.id, recording_id: null, event, body,
    message_id: `msg_${randomToken(24)}`, status: 'pending', attempts: 0, next_attempt_at: null,
    created_at: now,
  });
  const result = await sendWebhook({
    url: hook.webhook, jsonText: body, format: hook.format === 'form' ? 'form' : 'json',
    headers: signatureHeaders(ctx, account, hook, delivery),
    timeoutMs: ctx.config.webhookTimeoutMs, allow: ctx.config.outboundAllow,
  });
  const changes = {
    status: result.ok ? 'delivered' as const : 'failed' as const,
    attempts: 1,
    last_status_code: result.status,
    last_duration_ms: Math.round(result.durationMs),
    last_error: result.error,
    delivered_at: result.ok ? ctx.clock() : null,
  };
  await updateDelivery(ctx.db.kysely, delivery.id, changes);
  return { ...delivery, ...changes };
}

function sampleData(ctx: Context, account: Account, now: number): Record<string, unknown> {
  const name = `test_${now}`;
  const url = (suffix: string) => `${ctx.config.publicUrl}/media/${account.account_hash}/` +
    `${name}${suffix}`;
  return {
    videoName: name, duration: 0, audioCodec: 'AAC', videoCodec: 'H.264', type: 'mp4', size: 0,
    width: '640', height: '480', orientation: 'landscape', id: 0,
    dateTime: formatDateTime(now, ctx.config.timeZone), timeZone: ctx.config.timeZone,
    payload: 'standpipe test event', httpReferer: '', cam_name: '', mic_name: '', ip: '',
    ua: '', url: url('.mp4'), snapshotUrl: url('.jpg'), test: true,
  };
}

function graceUntil(ctx: Context, graceSeconds: number): number {
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
    throw badRequest('grace_seconds', `grace_seconds must be 0 to ${MAX_GRACE_SECONDS}`);
  }
  return ctx.clock() + graceSeconds * 1000;
}

/** A new webhook key for the account; the old one keeps signing through the grace period. */
export async function rotateWebhookKey(ctx: Context, cached: Account,
  graceSeconds: number): Promise<string> {
  const until = graceUntil(ctx, graceSeconds);
  const account = (await findAccountById(ctx.db.kysely, cached.id)) ?? cached;
  const key = randomHex(16);
  await updateAccount(ctx.db.kysely, account.id, {
    webhook_key_enc: ctx.secrets.seal(key),
    previous_webhook_key_enc: graceSeconds > 0 ? account.webhook_key_enc : null,
    previous_webhook_key_until: graceSeconds > 0 ? until : null,
  });
  return key;
}

/** A new Standard Webhooks secret for one webhook, the old one signing alongside a while. */
export async function rotateWebhookSecret(ctx: Context, account: Account, webhookId: number,
  graceSeconds: number): Promise<string> {
  const hook = await ownWebhook(ctx, account, webhookId);
  const until = graceUntil(ctx, graceSeconds);
  const secret = newStandardWebhookSecret();
  await updateWebhook(ctx.db.kysely, account.id, hook.id, {
    secret_enc: ctx.secrets.seal(secret),
    previous_secret_enc: graceSeconds > 0 ? hook.secret_enc : null,
    previous_secret_until: graceSeconds > 0 ? until : null,
  });
  return secret;
}

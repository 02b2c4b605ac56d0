import type { Kysely } from 'kysely';

import type { Context } from '../context.js';
import type { Account, Database, Recording } from '../db/schema.js';
import { randomToken } from '../lib/secrets.js';
import { insertDelivery } from '../repositories/deliveries.js';
import { subscribedWebhooks } from '../repositories/webhooks.js';
import type { WebhookEvent } from '../repositories/webhooks.js';
import { eventBody, eventData } from '../webhooks/events.js';

/**
 * Records an event for every active webhook of the recording's environment that subscribes
 * to it, inside the caller's transaction. The body is fixed now, so every attempt and every
 * redelivery sends the same bytes with the same message id.
 */
export async function emitEvent(
  ctx: Context,
  trx: Kysely<Database>,
  event: WebhookEvent,
  rec: Recording,
  account: Account,
  data?: Record<string, unknown>,
): Promise<number> {
  const hooks = await subscribedWebhooks(trx, account.id, rec.env_id, event);
  if (hooks.length === 0) return 0;

  const view = { publicUrl: ctx.config.publicUrl, timeZone: ctx.config.timeZone,
    region: rec.region };
  const body = eventBody(event, data ?? eventData(event, rec, account, view));
  const now = ctx.clock();
  for (const hook of hooks) {
    const delivery = await insertDelivery(trx, {
      account_id: account.id,
      webhook_id: hook.id,
      recording_id: rec.id,
      event,
      body,
      message_id: `msg_${randomToken(24)}`,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      created_at: now,
    });
    await ctx.queue.enqueue(trx, 'webhook.deliver', { deliveryId: delivery.id },
      { recordingId: rec.id, groupKey: `webhook:${hook.id}` });
  }
  return hooks.length;
}

import type { Context } from '../context.js';
import type { Account, Job, Webhook, WebhookDelivery } from '../db/schema.js';
import { findAccountById } from '../repositories/accounts.js';
import { findDelivery, updateDelivery } from '../repositories/deliveries.js';
import { findRecordingForJob } from '../repositories/recordings.js';
import { findWebhook, updateWebhook } from '../repositories/webhooks.js';
import { RetryLater } from '../jobs/policies.js';
import type { JobHandler } from '../jobs/worker.js';
import { sendWebhook, buildFormBody } from '../webhooks/sender.js';
import { pipeSignature, standardWebhookSignature } from '../webhooks/signature.js';
import { AppError } from '../lib/errors.js';

/** Sends one webhook delivery; a failure is thrown so that the queue retries on schedule. */
export function webhookDeliveryHandler(ctx: Context): JobHandler {
  return {
    async run(job: Job, signal: AbortSignal) {
      const { deliveryId } = JSON.parse(job.payload) as { deliveryId: number };
      const db = ctx.db.kysely;
      const delivery = await findDelivery(db, deliveryId);
      if (delivery === undefined || delivery.status === 'cancelled') return;
      if (delivery.status === 'delivered') return;

      const hook = await findWebhook(db, delivery.account_id, delivery.webhook_id);
      const account = await findAccountById(db, delivery.account_id);
      if (hook === undefined || account === undefined || hook.active !== 1) {
        ctx.metrics.webhookDeliveries.inc({ outcome: 'cancelled' });
        await updateDelivery(db, delivery.id, { status: 'cancelled', next_attempt_at: null,
          last_error: 'webhook deleted or inactive' });
        return;
      }
      if (delivery.recording_id !== null) {
        const rec = await findRecordingForJob(db, delivery.recording_id);
        if (rec === undefined || rec.deleted_at !== null) {
          ctx.metrics.webhookDeliveries.inc({ outcome: 'cancelled' });
          await updateDelivery(db, delivery.id, { status: 'cancelled', next_attempt_at: null,
            last_error: 'recording deleted' });
          return;
        }
      }

      const headers = signatureHeaders(ctx, account, hook, delivery);
      const format = hook.format === 'form' ? 'form' : 'json';
      const result = await sendWebhook({
        url: hook.webhook,
        jsonText: delivery.body,
        format,
        headers,
        timeoutMs: ctx.config.webhookTimeoutMs,
        allow: ctx.config.outboundAllow,
        signal,
      });
      // An attempt cut short by a shutdown is not logged as one: the job is released and
      // the delivery is sent again in full by the next worker.
      if (signal.aborted && !result.ok) throw new Error('webhook attempt aborted');

      const attempts = delivery.attempts + 1;
      const base = {
        attempts,
        last_status_code: result.status,
        last_duration_ms: Math.round(result.durationMs),
        last_error: result.error,
      };
      const outcome = result.ok ? 'delivered' : result.gone ? 'gone' : 'failed';
      ctx.metrics.webhookDeliveries.inc({ outcome });
      if (result.ok) {
        await updateDelivery(db, delivery.id, { ...base, status: 'delivered',
          delivered_at: ctx.clock(), next_attempt_at: null });
        return;
      }
      if (result.gone) {
        await updateWebhook(db, account.id, hook.id, { active: 0 });
        await updateDelivery(db, delivery.id, { ...base, status: 'failed', next_attempt_at: null,
          last_error: 'receiver answered 410 Gone; webhook deactivated' });
        ctx.log.warn({ webhookId: hook.id }, 'webhook deactivated after 410');
        return;
      }
      await updateDelivery(db, delivery.id, base);
      const reason = result.error ?? `HTTP ${result.status ?? '?'}`;
      if (result.retryAfterMs !== null) throw new RetryLater(reason, result.retryAfterMs);
      throw new AppError('upstream', reason);
    },

    async retrying(job: Job, _error: Error, nextAttemptAt: number) {
      const { deliveryId } = JSON.parse(job.payload) as { deliveryId: number };
      await updateDelivery(ctx.db.kysely, deliveryId, { next_attempt_at: nextAttemptAt });
    },

    async giveUp(job: Job, error: Error) {
      const { deliveryId } = JSON.parse(job.payload) as { deliveryId: number };
      await updateDelivery(ctx.db.kysely, deliveryId, { status: 'failed', next_attempt_at: null,
        last_error: error.message });
    },
  };
}

/**
 * Pipe's signature with the account's webhook key, and the Standard Webhooks headers with
 * the webhook's own secret. Through a rotation's grace period the previous key signs too:
 * in `X-Pipe-Signature-Previous`, and as a second signature in `webhook-signature`.
 */
export function signatureHeaders(
  ctx: Context,
  account: Account,
  hook: Webhook,
  delivery: Pick<WebhookDelivery, 'body' | 'message_id'>,
): Record<string, string> {
  const now = ctx.clock();
  const sentBody = hook.format === 'form' ? buildFormBody(delivery.body) : delivery.body;
  const timestamp = Math.floor(now / 1000);
  const headers: Record<string, string> = {
    'X-Pipe-Signature': pipeSignature(ctx.secrets.open(account.webhook_key_enc), hook.webhook,
      delivery.body),
    'webhook-id': delivery.message_id,
    'webhook-timestamp': String(timestamp),
  };
  const signatures = [standardWebhookSignature(ctx.secrets.open(hook.secret_enc),
    delivery.message_id, timestamp, sentBody)];
  if (hook.previous_secret_enc !== null && (hook.previous_secret_until ?? 0) > now) {
    signatures.push(standardWebhookSignature(ctx.secrets.open(hook.previous_secret_enc),
      delivery.message_id, timestamp, sentBody));
  }
  headers['webhook-signature'] = signatures.join(' ');
  const previousKey = account.previous_webhook_key_enc;
  if (previousKey !== null && (account.previous_webhook_key_until ?? 0) > now) {
    headers['X-Pipe-Signature-Previous'] = pipeSignature(ctx.secrets.open(previousKey),
      hook.webhook, delivery.body);
  }
  return headers;
}

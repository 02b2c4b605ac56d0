import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import { notFound } from '../../lib/errors.js';
import { assertHostAllowed, isBlockedAddress, validateWebhookUrl } from '../../lib/outbound.js';
import type { AllowList } from '../../lib/outbound.js';
import { findEnvironmentByEnvId } from '../../repositories/environments.js';
import {
  deleteWebhook, findWebhook, insertWebhook, listWebhooks, updateWebhook,
} from '../../repositories/webhooks.js';
import { badRequest } from '../../lib/errors.js';
import { newStandardWebhookSecret } from '../../webhooks/signature.js';
import { toPipeWebhook } from '../../services/views.js';
import { ok, parseId } from '../envelope.js';
import { envIdRule, flagRule, oneOfRule, parseBody, wholeNumberRule } from '../validate.js';
import type { FieldRule } from '../validate.js';
import { definedOnly } from './environments.js';
import {
  deliveryLog, redeliver, rotateWebhookSecret, sendTestEvent, toDeliveryView,
} from '../../services/webhooks.js';

/**
 * Syntax, and an early word about hosts the operator has not allowed: an address written
 * in the URL is judged now; a name is judged at each send, on the address it resolves to.
 */
function urlRule(allow: AllowList): FieldRule<string> {
  return (value, field) => {
    if (typeof value !== 'string') throw badRequest(field, `field "${field}" must be a string`);
    validateWebhookUrl(value);
    const host = new URL(value).hostname;
    try {
      assertHostAllowed(host, allow);
    } catch {
      throw badRequest(field, `webhook host ${host} is a loopback, private or link-local ` +
        'address; the operator must list it in STANDPIPE_OUTBOUND_ALLOW');
    }
    if (host === 'localhost' || host.endsWith('.localhost')) {
      assertNameAllowed(field, host, allow);
    }
    return value;
  };
}

function assertNameAllowed(field: string, host: string, allow: AllowList): void {
  if (isBlockedAddress('127.0.0.1', allow)) {
    throw badRequest(field, `webhook host ${host} is this machine; the operator must list ` +
      '127.0.0.1 in STANDPIPE_OUTBOUND_ALLOW');
  }
}

const FLAG_RULES = {
  webhook_recorded: flagRule,
  webhook_transcoded: flagRule,
  webhook_converted: flagRule,
  webhook_copied_pipe_s3: flagRule,
  webhook_copied_s3: flagRule,
  webhook_copied_ftp: flagRule,
  webhook_copied_dbox: flagRule,
  active: flagRule,
  format: oneOfRule(['json', 'form'] as const),
};


export async function webhookRoutes(app: FastifyInstance, ctx: Context) {
  const db = ctx.db.kysely;
  const PUT_RULES = { webhook: urlRule(ctx.config.outboundAllow), ...FLAG_RULES };
  const POST_RULES = { ...PUT_RULES, env_id: envIdRule };

  app.get('/webhook', async (request, reply) => {
    const hooks = await listWebhooks(db, request.account.id);
    return ok(request, reply, { webhook_details: hooks.map(toPipeWebhook) });
  });

  app.put<{ Params: { id: string } }>('/webhook/:id', async (request, reply) => {
    const id = parseId(request.params.id, 'webhook');
    if ((await findWebhook(db, request.account.id, id)) === undefined) throw notFound('webhook');
    const body = parseBody(request.body, PUT_RULES, { atLeastOne: true });
    await updateWebhook(db, request.account.id, id, definedOnly(body));
    const hook = await findWebhook(db, request.account.id, id);
    if (hook === undefined) throw notFound('webhook');
    return ok(request, reply, { webhook_details: [toPipeWebhook(hook)] });
  });

  // Extension: add a webhook. The Standard Webhooks signing secret is shown this once.
  app.post('/webhook', async (request, reply) => {
    const body = parseBody(request.body, POST_RULES, { required: ['webhook'] });
    const envId = body.env_id ?? 1;
    if ((await findEnvironmentByEnvId(db, request.account.id, envId)) === undefined) {
      throw badRequest('env_id', `no environment with env_id ${envId}`);
    }
    const secret = newStandardWebhookSecret();
    const hook = await insertWebhook(db, {
      account_id: request.account.id,
      env_id: envId,
      webhook: body.webhook ?? '',
      webhook_recorded: body.webhook_recorded ?? 1,
      webhook_transcoded: body.webhook_transcoded ?? 0,
      webhook_converted: body.webhook_converted ?? 1,
      webhook_copied_pipe_s3: body.webhook_copied_pipe_s3 ?? 1,
      webhook_copied_s3: body.webhook_copied_s3 ?? 0,
      webhook_copied_ftp: body.webhook_copied_ftp ?? 0,
      webhook_copied_dbox: body.webhook_copied_dbox ?? 0,
      active: body.active ?? 1,
      format: body.format ?? 'json',
      secret_enc: ctx.secrets.seal(secret),
      created_at: ctx.clock(),
    });
    return ok(request, reply, {
      webhook_details: [{ ...toPipeWebhook(hook), webhook_secret: secret }],
    }, 201);
  });

  // Extension: remove a webhook; deliveries still pending for it are dropped.
  app.delete<{ Params: { id: string } }>('/webhook/:id', async (request, reply) => {
    const id = parseId(request.params.id, 'webhook');
    if (!(await deleteWebhook(db, request.account.id, id))) throw notFound('webhook');
    return ok(request, reply, { message: `Webhook ${id} deleted` });
  });

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>(
    '/webhook/:id/deliveries',
    async (request, reply) => {
      const id = parseId(request.params.id, 'webhook');
      const raw = request.query.limit ?? '50';
      if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > 500) {
        throw badRequest('limit', 'limit must be 1 to 500');
      }
      const rows = await deliveryLog(ctx, request.account, id, Number(raw));
      return ok(request, reply, {
        total_deliveries: rows.length,
        deliveries: rows.map((d) => toDeliveryView(d, ctx.config.timeZone)),
      });
    },
  );

  app.post<{ Params: { id: string; deliveryId: string } }>(
    '/webhook/:id/deliveries/:deliveryId/redeliver',
    async (request, reply) => {
      const id = parseId(request.params.id, 'webhook');
      const deliveryId = parseId(request.params.deliveryId, 'delivery');
      const created = await redeliver(ctx, request.account, id, deliveryId);
      return ok(request, reply, { deliveries: [toDeliveryView(created, ctx.config.timeZone)] },
        202);
    },
  );

  app.post<{ Params: { id: string } }>('/webhook/:id/test', async (request, reply) => {
    const id = parseId(request.params.id, 'webhook');
    const body = parseBody(request.body ?? {}, { event: oneOfRule(TEST_EVENTS) });
    const sent = await sendTestEvent(ctx, request.account, id, body.event ?? 'video_recorded');
    return ok(request, reply, { deliveries: [toDeliveryView(sent, ctx.config.timeZone)] });
  });

  app.post<{ Params: { id: string } }>('/webhook/:id/secret', async (request, reply) => {
    const id = parseId(request.params.id, 'webhook');
    const body = parseBody(request.body ?? {}, { grace_seconds: wholeNumberRule });
    const secret = await rotateWebhookSecret(ctx, request.account, id, body.grace_seconds ?? 0);
    return ok(request, reply, { webhook_details: [{ id: String(id), webhook_secret: secret }] });
  });
}

const TEST_EVENTS = ['video_recorded', 'video_converted', 'video_copied_pipe_s3'] as const;

import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import { findAccountById } from '../../repositories/accounts.js';
import { rotateApiKey } from '../../services/accounts.js';
import { ok } from '../envelope.js';
import { parseBody, wholeNumberRule } from '../validate.js';
import { rotateWebhookKey } from '../../services/webhooks.js';

export async function accountRoutes(app: FastifyInstance, ctx: Context) {
  app.get('/account', async (request, reply) => {
    // Saved counts and a fresh read, so that this request's own count is included.
    await app.apiKeys.flush();
    const account = (await findAccountById(ctx.db.kysely, request.account.id)) ?? request.account;
    return ok(request, reply, {
      account_details: [{
        api_requests: String(account.api_requests),
        name: account.name,
        email: account.email,
      }],
    });
  });

  // Extension: a new webhook key; with grace_seconds the old one keeps signing alongside.
  app.post('/account/webhook-key', async (request, reply) => {
    const body = parseBody(request.body ?? {}, { grace_seconds: wholeNumberRule });
    const key = await rotateWebhookKey(ctx, request.account, body.grace_seconds ?? 0);
    return ok(request, reply, { account_details: [{ webhook_key: key }] });
  });

  // Extension: a new API key; the one used for this request stops working at once.
  app.post('/account/api-key', async (request, reply) => {
    const apiKey = await rotateApiKey(ctx, request.account);
    app.apiKeys.forget();
    return ok(request, reply, { account_details: [{ api_key: apiKey }] });
  });
}

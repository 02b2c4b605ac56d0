import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import { badRequest, notFound } from '../../lib/errors.js';
import {
  findEnvironment, listEnvironments, updateEnvironment,
} from '../../repositories/environments.js';
import { createEnvironmentIn } from '../../services/accounts.js';
import { toPipeEnvironment } from '../../services/views.js';
import { ok, parseId } from '../envelope.js';
import { flagRule, parseBody, textRule } from '../validate.js';
import type { FieldRule } from '../validate.js';

/** A whole number of days, or "" / null for no lifecycle. */
const lifecycleRule: FieldRule<number | null> = (value, field) => {
  if (value === '' || value === null) return null;
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 36_500) return n;
  throw badRequest(field, `field "${field}" must be a whole number of days from 1 to 36500, ` +
    'or "" to keep recordings');
};

const RULES = {
  env_name: textRule(100, { allowEmpty: false }),
  do_not_store: flagRule,
  send_video_email: flagRule,
  collect_ip: flagRule,
  collect_ua: flagRule,
  collect_referer: flagRule,
  collect_device_names: flagRule,
  lifecycle_days: lifecycleRule,
  filmstrip: flagRule,
};

export async function environmentRoutes(app: FastifyInstance, ctx: Context) {
  const db = ctx.db.kysely;

  app.get('/environment', async (request, reply) => {
    const envs = await listEnvironments(db, request.account.id);
    return ok(request, reply, { environment_details: envs.map(toPipeEnvironment) });
  });

  app.get<{ Params: { id: string } }>('/environment/:id', async (request, reply) => {
    const env = await findEnvironment(db, request.account.id,
      parseId(request.params.id, 'environment'));
    if (env === undefined) throw notFound('environment');
    return ok(request, reply, { environment_details: [toPipeEnvironment(env)] });
  });

  // Extension: create an environment; its env_id and env_code are chosen by the server.
  app.post('/environment', async (request, reply) => {
    const body = parseBody(request.body, RULES, { required: ['env_name'] });
    const env = await db.transaction().execute(async (trx) => {
      const created = await createEnvironmentIn(ctx, trx, request.account, body.env_name ?? '');
      const { env_name: _name, ...settings } = body;
      const changes = definedOnly(settings);
      await updateEnvironment(trx, request.account.id, created.id, changes);
      return { ...created, ...changes };
    });
    return ok(request, reply, { environment_details: [toPipeEnvironment(env)] }, 201);
  });

  // Extension: rename an environment or change its switches.
  app.put<{ Params: { id: string } }>('/environment/:id', async (request, reply) => {
    const id = parseId(request.params.id, 'environment');
    const env = await findEnvironment(db, request.account.id, id);
    if (env === undefined) throw notFound('environment');
    const body = parseBody(request.body, RULES, { atLeastOne: true });
    await updateEnvironment(db, request.account.id, id, definedOnly(body));
    const updated = await findEnvironment(db, request.account.id, id);
    return ok(request, reply, { environment_details: [toPipeEnvironment(updated ?? env)] });
  });
}

export function definedOnly<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import type { Environment } from '../../db/schema.js';
import { notFound } from '../../lib/errors.js';
import { flag } from '../../lib/format.js';
import {
  findEnvironment, listEnvironments, updateEnvironment,
} from '../../repositories/environments.js';
import { createEnvironmentIn } from '../../services/accounts.js';
import { ok, parseId } from '../envelope.js';
import { flagRule, parseBody, textRule } from '../validate.js';

export function toPipeEnvironment(env: Environment) {
  return {
    id: String(env.id),
    env_id: String(env.env_id),
    env_code: env.env_code,
    env_name: env.env_name,
    do_not_store: flag(env.do_not_store),
    send_video_email: flag(env.send_video_email),
    region: env.region,
  };
}

const RULES = {
  env_name: textRule(100, { allowEmpty: false }),
  do_not_store: flagRule,
  send_video_email: flagRule,
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
      const changes = definedOnly({ do_not_store: body.do_not_store,
        send_video_email: body.send_video_email });
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

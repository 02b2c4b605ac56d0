import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';

import type { Context } from '../../context.js';
import { CONTENT_TYPE } from '../../metrics/registry.js';
import { errorBody } from '../envelope.js';
import { openApiRoutes } from './openapi.js';

/** A probe that takes longer than this counts as a failure: a readiness check must answer. */
const PROBE_TIMEOUT_MS = 3000;

/**
 * Liveness, readiness and metrics. /healthz says the process answers; /readyz that it can
 * reach what a request needs (the database and the media store), so a load balancer sends
 * traffic only to processes that can serve it.
 */
export async function systemRoutes(app: FastifyInstance, ctx: Context) {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [database, store] = await Promise.all([
      probe(async () => {
        await sql`select 1`.execute(ctx.db.kysely);
      }),
      probe(async () => ctx.store.ready?.()),
    ]);
    const body = {
      status: database === null && store === null ? 'ok' : 'unavailable',
      database: database === null ? ctx.db.dialect : 'unreachable',
      media_store: store === null ? ctx.store.kind : 'unreachable',
    };
    if (body.status === 'ok') return body;
    ctx.log.error({ database: database?.message, mediaStore: store?.message },
      'readiness check failed');
    return reply.code(503).send(body);
  });

  app.get('/metrics', async (request, reply) => {
    if (ctx.config.metricsToken !== null && !bearerMatches(request, ctx.config.metricsToken)) {
      void reply.header('www-authenticate', 'Bearer');
      return reply.code(401).send(errorBody(request.method, 401,
        'send the metrics token as Authorization: Bearer <token>'));
    }
    const text = await ctx.metrics.render();
    return reply.type(CONTENT_TYPE).send(text);
  });

  await openApiRoutes(app, ctx);
}

/** Null when the check passed in time, else what went wrong. */
async function probe(check: () => Promise<unknown>): Promise<Error | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)),
      PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    clearTimeout(timer);
  }
}

function bearerMatches(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
  // Digests of equal length, so the comparison takes the same time whatever was sent.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token));
}

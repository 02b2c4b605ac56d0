import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';

import type { Context } from '../../context.js';

export async function systemRoutes(app: FastifyInstance, ctx: Context) {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(ctx.db.kysely);
      return { status: 'ok', database: ctx.db.dialect, media_store: ctx.store.kind };
    } catch (err) {
      ctx.log.error({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', database: 'unreachable' });
    }
  });
}

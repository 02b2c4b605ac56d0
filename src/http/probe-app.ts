import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

import type { Context } from '../context.js';
import { systemRoutes } from './routes/system.js';

/**
 * What a worker process answers when given STANDPIPE_METRICS_PORT: liveness, readiness and
 * its metrics, and nothing of the API, so that its port can stay inside the cluster.
 */
export async function buildProbeApp(ctx: Context): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log.child({ component: 'probe' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  await systemRoutes(app, ctx);
  return app;
}

import { randomBytes } from 'node:crypto';

import Fastify, { LogController } from 'fastify';
import type {
  FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';

import type { Context } from '../context.js';
import type { Account } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { ApiKeyAuth } from '../services/auth.js';
import { errorBody, shownMethod } from './envelope.js';
import { rateLimitHooks } from './rate-limit.js';
import { lazyRequestLogger } from './request-logger.js';
import { accountRoutes } from './routes/account.js';
import { credentialRoutes } from './routes/credentials.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { environmentRoutes } from './routes/environments.js';
import { mediaRoutes } from './routes/media.js';
import { privacyRoutes } from './routes/privacy.js';
import { recorderRoutes } from './routes/recorder.js';
import { dashboardRoutes } from '../dashboard/plugin.js';
import { sessionAccount } from '../dashboard/auth.js';
import { systemRoutes } from './routes/system.js';
import { tusRoutes } from './routes/tus.js';
import { uploadRoutes } from './routes/upload.js';
import { videoRoutes } from './routes/videos.js';
import { webhookRoutes } from './routes/webhooks.js';

declare module 'fastify' {
  interface FastifyRequest {
    account: Account;
  }
  interface FastifyInstance {
    apiKeys: ApiKeyAuth;
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

export async function buildApp(ctx: Context): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: ctx.config.trustProxy,
    bodyLimit: 1024 * 1024,
    genReqId: requestIds(),
    childLoggerFactory: lazyRequestLogger,
    routerOptions: { ignoreTrailingSlash: true },
  });

  app.decorateRequest('account', null as unknown as Account);
  const routes: { pattern: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = ([] as string[]).concat(route.method);
    const source = route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/:[A-Za-z_]+/g, '[^/]+');
    routes.push({ pattern: new RegExp(`^${source}/?$`), methods });
  });
  const allowedMethods = (request: FastifyRequest): string[] => {
    const url = request.url.split('?')[0] ?? '/';
    const allowed = new Set<string>();
    for (const r of routes) if (r.pattern.test(url)) r.methods.forEach((m) => allowed.add(m));
    allowed.delete('HEAD');
    return METHODS.filter((m) => allowed.has(m));
  };
  // Hooks that run on every request take a callback: no promise to make and settle.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the path, so that ids do not make a series each.
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.httpRequests.inc({ method: request.method, route,
      status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'debug';
    request.log[level]({ method: request.method, url: request.routeOptions.url,
      status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    done();
  });

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const { status, message } = describeError(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    if (status === 405) void reply.header('allow', allowedMethods(request).join(', '));
    return reply.code(status).send(errorBody(request.method, status, message));
  });

  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(request);
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      return reply.code(405).send(errorBody(request.method, 405,
        `method ${shownMethod(request.method)} is not allowed here; use ${allowed.join(', ')}`));
    }
    return reply.code(404).send(errorBody(request.method, 404, 'no such endpoint'));
  });

  const apiKeys = new ApiKeyAuth(ctx);
  app.decorate('apiKeys', apiKeys);
  app.addHook('onClose', async () => apiKeys.close());

  const authenticate = (request: FastifyRequest, _reply: FastifyReply,
    done: HookHandlerDoneFunction) => {
    const header = request.headers['x-pipe-auth'];
    const key = Array.isArray(header) ? header[0] : header;
    const remembered = key === undefined ? undefined : apiKeys.remembered(key);
    if (remembered !== undefined) {
      request.account = remembered;
      apiKeys.count(remembered.id);
      done();
      return;
    }
    lookUp(request, key).then(() => done(), done);
  };

  const lookUp = async (request: FastifyRequest, key: string | undefined) => {
    if (key === undefined || key.trim() === '') {
      const viaSession = await sessionAccount(ctx, request);
      if (viaSession !== undefined) {
        request.account = viaSession;
        return;
      }
      throw new AppError('unauthorized', 'missing X-PIPE-AUTH header with your API key');
    }
    const account = await apiKeys.authenticate(key);
    if (account === undefined) throw new AppError('unauthorized', 'invalid API key');
    request.account = account;
    apiKeys.count(account.id);
  };

  // Hooks run on every request: the limits are left out altogether when switched off.
  const limits = ctx.config.rateLimitPerMinute > 0 ? rateLimitHooks(ctx) : undefined;
  if (limits !== undefined) app.addHook('onRequest', limits.byAddress);
  await app.register(async (api) => {
    api.addHook('onRequest', authenticate);
    if (limits !== undefined) api.addHook('onRequest', limits.byApiKey);
    await videoRoutes(api, ctx);
    await accountRoutes(api, ctx);
    await environmentRoutes(api, ctx);
    await webhookRoutes(api, ctx);
    await credentialRoutes(api, ctx);
    await deliveryRoutes(api, ctx);
    await privacyRoutes(api, ctx);
  });
  await uploadRoutes(app, ctx);
  await tusRoutes(app, ctx);
  await recorderRoutes(app);
  await dashboardRoutes(app, ctx);
  await mediaRoutes(app, ctx);
  await systemRoutes(app, ctx);
  return app;
}

/**
 * Request ids unique across processes without drawing random bytes for each request: a random
 * prefix per process, then a counter.
 */
function requestIds(): () => string {
  const prefix = randomBytes(4).toString('hex');
  let next = 0;
  return () => {
    next += 1;
    return `${prefix}-${next.toString(36)}`;
  };
}

function describeError(err: FastifyError | AppError): { status: number; message: string } {
  if (err instanceof AppError) return { status: err.status, message: err.message };
  const code = err.code;
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.name === 'SyntaxError') {
    return { status: 400, message: 'the body is not valid JSON' };
  }
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { status: 400, message: 'the body is empty; send a JSON object' };
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || code === 'FST_REQ_FILE_TOO_LARGE') {
    return { status: 413, message: 'the request body is too large' };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 415, message: 'unsupported Content-Type' };
  }
  if (code?.startsWith('FST_') === true && err.statusCode !== undefined && err.statusCode < 500) {
    return { status: err.statusCode, message: err.message };
  }
  return { status: 500, message: 'internal error' };
}

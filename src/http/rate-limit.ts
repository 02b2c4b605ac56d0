import type { FastifyReply, FastifyRequest } from 'fastify';

import type { Context } from '../context.js';
import { pseudonym } from '../services/privacy.js';
import { RateLimiter, addressKey } from '../services/rate-limit.js';
import { errorBody } from './envelope.js';

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/**
 * Routes that take no API key and are limited per client address instead: uploads and the
 * creation of resumable ones (their PATCH requests are many per upload and not counted).
 */
const BY_ADDRESS = new Set(['POST /upload', 'POST /tus']);

/**
 * The two limits: per API key on authenticated routes, per client address on uploads that
 * take none. Both count in the database, so the limit holds across every API process.
 */
export function rateLimitHooks(ctx: Context): { byApiKey: Hook; byAddress: Hook } {
  const limiter = new RateLimiter(ctx.db.kysely, ctx.config.rateLimitPerMinute, ctx.clock);

  const limit = async (request: FastifyRequest, reply: FastifyReply, key: string,
    scope: 'api_key' | 'address', what: string) => {
    const decision = await limiter.hit(key);
    void reply.header('x-ratelimit-limit', decision.limit)
      .header('x-ratelimit-remaining', decision.remaining);
    if (decision.allowed) return undefined;
    ctx.metrics.rateLimited.inc({ scope });
    request.log.debug({ scope }, 'rate limited');
    return reply.code(429).header('retry-after', decision.resetSeconds)
      .send(errorBody(request.method, 429, `too many requests: at most ${decision.limit} a ` +
        `minute ${what}; try again in ${decision.resetSeconds} s`));
  };

  return {
    byApiKey: async (request, reply) => {
      if (!limiter.enabled) return undefined;
      return limit(request, reply, `account:${request.account.id}`, 'api_key',
        'for this API key');
    },
    byAddress: async (request, reply) => {
      if (!limiter.enabled) return undefined;
      if (!BY_ADDRESS.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return undefined;
      // Counted under a pseudonym: an environment may forbid keeping client addresses.
      const key = `addr:${pseudonym(ctx.config.secretKey, addressKey(request.ip))}`;
      return limit(request, reply, key, 'address', 'from this address');
    },
  };
}

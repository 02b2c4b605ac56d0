import type { FastifyRequest } from 'fastify';

import type { Context } from '../context.js';
import type { Account } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { resolveSession, safeEqual } from '../services/sessions.js';
import type { SignedIn } from '../services/sessions.js';
import { parseCookies, sessionCookieName } from './cookies.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sessionToken(ctx: Context, request: FastifyRequest): string | undefined {
  return parseCookies(request.headers.cookie)[sessionCookieName(ctx.config)];
}

export async function signedIn(ctx: Context, request: FastifyRequest): Promise<SignedIn | null> {
  const token = sessionToken(ctx, request);
  return token === undefined ? null : resolveSession(ctx, token);
}

/**
 * The dashboard's session also authenticates the REST API from the same origin: the
 * dashboard's own pages call it this way. A request that changes anything must carry the
 * session's CSRF token in X-CSRF-Token; a cookie alone is never enough.
 */
export async function sessionAccount(
  ctx: Context,
  request: FastifyRequest,
): Promise<Account | undefined> {
  const session = await signedIn(ctx, request);
  if (session === null) return undefined;
  if (!SAFE_METHODS.has(request.method)) {
    const header = request.headers['x-csrf-token'];
    const token = Array.isArray(header) ? header[0] : header;
    if (token === undefined || !safeEqual(token, session.session.csrf_token)) {
      throw new AppError('forbidden', 'requests signed in by session cookie need the ' +
        "session's X-CSRF-Token header");
    }
  }
  return session.account;
}

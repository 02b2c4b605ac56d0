import { randomBytes } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import {
  SignInThrottle, safeEqual, signInWithKey, signInWithPassword, signOut,
} from '../../services/sessions.js';
import { sessionToken, signedIn } from '../auth.js';
import { parseCookies, serializeCookie, sessionCookieName } from '../cookies.js';
import { html, raw } from '../html.js';
import type { Kit } from '../kit.js';
import { document, notice } from '../layout.js';
import type { Notice } from '../layout.js';

const LOGIN_COOKIE = 'standpipe_login';
const SESSION_MAX_AGE = 7 * 86_400;

/** Only a path inside the dashboard: a sign-in link must not lead off the site. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/dashboard(\/[A-Za-z0-9/_?=&%.-]*)?$/.test(value) &&
    !value.startsWith('/dashboard/login') ? value : '/dashboard/recordings';
}

/**
 * Sign-in and sign-out. Sign-in forms carry a token that must match a cookie set with the
 * form, so another site cannot sign a visitor in to an account of its choosing.
 */
export async function loginPages(app: FastifyInstance, kit: Kit) {
  const ctx = kit.ctx;
  const throttle = new SignInThrottle();

  const show = (reply: FastifyReply, next: string, message: Notice | null, status = 200,
    email = '') => {
    const token = randomBytes(24).toString('base64url');
    void reply.header('set-cookie', serializeCookie(ctx.config, LOGIN_COOKIE, token,
      { maxAgeSeconds: 3600 }));
    return reply.code(status).type('text/html; charset=utf-8')
      .send(loginDocument(token, next, message, email).value);
  };

  app.get<{ Querystring: { next?: string; out?: string } }>('/login', async (request, reply) => {
    if ((await signedIn(ctx, request)) !== null) {
      return reply.redirect(safeNext(request.query.next), 303);
    }
    const message: Notice | null = request.query.out === '1'
      ? { tone: 'info', text: 'You are signed out.' } : null;
    return show(reply, safeNext(request.query.next), message);
  });

  app.post('/login', async (request: FastifyRequest, reply) => {
    const form = kit.form(request);
    const next = safeNext(form.next);
    const expected = parseCookies(request.headers.cookie)[LOGIN_COOKIE] ?? '';
    if (expected === '' || !safeEqual(form._login ?? '', expected)) {
      return show(reply, next, { tone: 'error', text: 'The sign-in form expired. Try again.' },
        403);
    }
    const now = ctx.clock();
    if (throttle.blocked(request.ip, now)) {
      return show(reply, next, { tone: 'error', text: 'Too many failed attempts. Wait 15 ' +
        'minutes, then try again.' }, 429);
    }
    const token = form.method === 'key'
      ? await signInWithKey(ctx, form.api_key ?? '')
      : await signInWithPassword(ctx, form.email ?? '', form.password ?? '');
    if (token === null) {
      throttle.failed(request.ip, now);
      const text = form.method === 'key' ? 'That API key is not valid.'
        : 'The email or password is not right.';
      return show(reply, next, { tone: 'error', text }, 401, form.email ?? '');
    }
    throttle.succeeded(request.ip);
    void reply.header('set-cookie', [
      serializeCookie(ctx.config, sessionCookieName(ctx.config), token,
        { maxAgeSeconds: SESSION_MAX_AGE }),
      serializeCookie(ctx.config, LOGIN_COOKIE, '', { maxAgeSeconds: 0 }),
    ]);
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (request, reply) => {
    const session = await signedIn(ctx, request);
    const form = kit.form(request);
    if (session !== null && safeEqual(form._csrf ?? '', session.session.csrf_token)) {
      const token = sessionToken(ctx, request);
      if (token !== undefined) await signOut(ctx, token);
    }
    void reply.header('set-cookie', serializeCookie(ctx.config, sessionCookieName(ctx.config), '',
      { maxAgeSeconds: 0 }));
    return reply.redirect('/dashboard/login?out=1', 303);
  });
}

function loginDocument(token: string, next: string, message: Notice | null, email: string) {
  const hidden = html`<input type="hidden" name="_login" value="${token}">
    <input type="hidden" name="next" value="${next}">`;
  return document('Sign in', html`<main class="auth"><div class="auth-card">
  <div class="auth-brand">${raw('<svg viewBox="0 0 32 32" aria-hidden="true" class="logo">' +
    '<rect width="32" height="32" rx="8"/><circle cx="16" cy="16" r="7" fill="none" ' +
    'stroke="#fff" stroke-width="2.5"/><circle cx="16" cy="16" r="3" fill="#fff"/></svg>')}
    <span>standpipe</span></div>
  <h1>Sign in to your account</h1>
  <p class="subtitle">Recordings, environments, webhooks and keys in one place.</p>
  ${notice(message)}
  <form method="post" action="/dashboard/login" class="stack">
    ${hidden}<input type="hidden" name="method" value="password">
    <label>Email<input type="email" name="email" autocomplete="username" required
      value="${email}"></label>
    <label>Password<input type="password" name="password" autocomplete="current-password"
      required></label>
    <button class="btn btn-primary btn-block" type="submit">Sign in</button>
  </form>
  <div class="divider"><span>or use your API key</span></div>
  <form method="post" action="/dashboard/login" class="stack">
    ${hidden}<input type="hidden" name="method" value="key">
    <label>API key<input type="password" name="api_key" autocomplete="off" required
      spellcheck="false" class="mono"></label>
    <button class="btn btn-block" type="submit">Sign in with API key</button>
  </form>
  <p class="fineprint">No password yet? An operator sets one with
    <code>standpipe account password --account-hash …</code></p>
</div></main>`, 'auth-page');
}

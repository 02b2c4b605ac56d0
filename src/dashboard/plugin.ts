import { readFile } from 'node:fs/promises';

import type {
  FastifyError, FastifyInstance, FastifyReply, FastifyRequest,
} from 'fastify';

import type { Context } from '../context.js';
import { AppError } from '../lib/errors.js';
import { assetPath } from '../lib/assets.js';
import { safeEqual } from '../services/sessions.js';
import { sendStatic, staticFile } from '../http/static-file.js';
import { signedIn } from './auth.js';
import { html } from './html.js';
import { Kit } from './kit.js';
import { document } from './layout.js';
import { accountPages } from './pages/account.js';
import { environmentPages } from './pages/environments.js';
import { loginPages } from './pages/login.js';
import { recordingPages } from './pages/recordings.js';
import { storagePages } from './pages/storage.js';
import { webhookPages } from './pages/webhooks.js';

/** Pages load nothing from elsewhere and run no inline script; no other site may frame them. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; media-src 'self'; " +
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; " +
    "frame-ancestors 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
};

/**
 * The dashboard at /dashboard: server-rendered pages for one account at a time, signed in by
 * API key or password. Reads go to the repositories scoped by the session's account; changes
 * go through the REST API itself, so they are validated and scoped exactly as API calls are.
 */
export async function dashboardRoutes(app: FastifyInstance, ctx: Context) {
  const kit = new Kit(ctx, app);
  const read = (name: string) => readFile(assetPath('dashboard', 'assets', name), 'utf8');
  const css = staticFile(await read('dashboard.css'), 'text/css; charset=utf-8');
  const js = staticFile(await read('dashboard.js'), 'application/javascript; charset=utf-8');

  await app.register(async (dash) => {
    dash.decorateRequest('dashboard', null);
    dash.addContentTypeParser('application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 64 * 1024 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))));
    dash.addHook('onSend', async (_request, reply) => {
      void reply.headers(PAGE_HEADERS);
      if (reply.getHeader('cache-control') === undefined) {
        void reply.header('cache-control', 'no-store');
      }
    });
    dash.setErrorHandler((err: FastifyError | AppError, request, reply) => {
      const status = err instanceof AppError ? err.status : err.statusCode ?? 500;
      if (status >= 500) request.log.error({ err }, 'dashboard request failed');
      const text = status === 403 ? err.message : status === 404 ? 'This page does not exist.'
        : status < 500 ? err.message : 'Something went wrong on the server.';
      return errorPage(reply, status < 400 ? 500 : status, text);
    });
    dash.setNotFoundHandler((_request, reply) =>
      errorPage(reply, 404, 'This page does not exist.'));

    dash.get('/assets/dashboard.css', async (request, reply) => sendStatic(request, reply, css));
    dash.get('/assets/dashboard.js', async (request, reply) => sendStatic(request, reply, js));
    await loginPages(dash, kit);

    await dash.register(async (pages) => {
      pages.addHook('preHandler', async (request, reply) => requireSession(ctx, request, reply));
      pages.get('/', async (_request, reply) => reply.redirect('/dashboard/recordings', 303));
      await recordingPages(pages, kit);
      await environmentPages(pages, kit);
      await webhookPages(pages, kit);
      await storagePages(pages, kit);
      await accountPages(pages, kit);
    });
  }, { prefix: '/dashboard' });
}

/**
 * Pages need a live session; a form that changes anything also needs the session's CSRF
 * token and, when the browser names one, this site as its origin.
 */
async function requireSession(ctx: Context, request: FastifyRequest, reply: FastifyReply) {
  const session = await signedIn(ctx, request);
  if (session === null) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      throw new AppError('forbidden', 'Your session ended. ' +
        'Sign in again, then repeat what you were doing.');
    }
    const next = encodeURIComponent(request.url);
    return reply.redirect(`/dashboard/login?next=${next}`, 303);
  }
  request.dashboard = session;
  if (request.method === 'GET' || request.method === 'HEAD') return undefined;

  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null' && hostOf(origin) !== request.headers.host) {
    throw new AppError('forbidden', 'This form was sent from another site.');
  }
  const body = request.body as Record<string, unknown> | undefined;
  const token = typeof body?._csrf === 'string' ? body._csrf : '';
  if (!safeEqual(token, session.session.csrf_token)) {
    throw new AppError('forbidden', 'This form has expired. Reload the page and try again.');
  }
  return undefined;
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

const TITLES: Record<number, string> = {
  400: 'That did not work', 403: 'Not allowed', 404: 'Not found', 429: 'Too many attempts',
};

function errorPage(reply: FastifyReply, status: number, text: string) {
  const title = TITLES[status] ?? (status < 500 ? 'That did not work' : 'Server error');
  const body = html`<main class="auth"><div class="auth-card">
    <h1>${title}</h1><p class="subtitle">${text}</p>
    <p><a class="btn btn-primary" href="/dashboard/recordings">Back to the dashboard</a></p>
  </div></main>`;
  return reply.code(status).type('text/html; charset=utf-8')
    .send(document(title, body, 'auth-page').value);
}

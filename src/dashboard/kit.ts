import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { Context } from '../context.js';
import type { SignedIn } from '../services/sessions.js';
import { parseCookies, serializeCookie } from './cookies.js';
import { layout } from './layout.js';
import type { Notice, PageView } from './layout.js';

declare module 'fastify' {
  interface FastifyRequest {
    dashboard: SignedIn | null;
  }
}

const FLASH = 'standpipe_flash';

export type Form = Record<string, string>;

export interface ApiAnswer {
  status: number;
  ok: boolean;
  message: string;
  json: Record<string, unknown>;
}

/** What every dashboard page uses: rendering, the REST API, and a message after a redirect. */
export class Kit {
  constructor(readonly ctx: Context, readonly app: FastifyInstance) {}

  user(request: FastifyRequest): SignedIn {
    if (request.dashboard === null) throw new Error('dashboard page reached without a session');
    return request.dashboard;
  }

  /** Renders a page for the signed-in account, with the message left by the last redirect. */
  page(request: FastifyRequest, reply: FastifyReply, view: PageView, status = 200) {
    const { account, session } = this.user(request);
    const flash = this.takeFlash(request, reply);
    const body = layout(account, session.csrf_token, { ...view, notice: view.notice ?? flash });
    return reply.code(status).type('text/html; charset=utf-8').send(body.value);
  }

  /**
   * Calls the REST API as the signed-in account, through the same routes, validation and
   * scoping an API client gets, with the session cookie and its CSRF token.
   */
  async api(request: FastifyRequest, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string,
    body?: Record<string, unknown>): Promise<ApiAnswer> {
    const { session } = this.user(request);
    const res = await this.app.inject({
      method, url,
      headers: {
        cookie: request.headers.cookie ?? '',
        'x-csrf-token': session.csrf_token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(res.body) as Record<string, unknown>;
    } catch {
      json = {};
    }
    const ok = res.statusCode < 300;
    const message = typeof json.message === 'string' ? json.message : `HTTP ${res.statusCode}`;
    return { status: res.statusCode, ok, message, json };
  }

  /** Redirects after a change (303, so a reload does not post again) with a message. */
  done(reply: FastifyReply, to: string, notice: Notice) {
    const value = Buffer.from(JSON.stringify(notice), 'utf8').toString('base64url');
    void reply.header('set-cookie', serializeCookie(this.ctx.config, FLASH, value,
      { maxAgeSeconds: 60 }));
    return reply.redirect(to, 303);
  }

  /** The result of an API call as a message: its own words when it failed. */
  outcome(reply: FastifyReply, to: string, answer: ApiAnswer, success: string) {
    return this.done(reply, to, answer.ok ? { tone: 'success', text: success }
      : { tone: 'error', text: capitalize(answer.message) });
  }

  form(request: FastifyRequest): Form {
    const body = request.body;
    return body !== null && typeof body === 'object' ? body as Form : {};
  }

  private takeFlash(request: FastifyRequest, reply: FastifyReply): Notice | null {
    const value = parseCookies(request.headers.cookie)[FLASH];
    if (value === undefined) return null;
    void reply.header('set-cookie', serializeCookie(this.ctx.config, FLASH, '',
      { maxAgeSeconds: 0 }));
    try {
      const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Notice;
      const tones = ['success', 'error', 'info'];
      return tones.includes(parsed.tone) && typeof parsed.text === 'string'
        ? { tone: parsed.tone, text: parsed.text.slice(0, 500) } : null;
    } catch {
      return null;
    }
  }
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Only the named fields of a form, without empty ones unless `keepEmpty`. */
export function pick(form: Form, names: readonly string[], keepEmpty = false) {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = form[name];
    if (typeof value === 'string' && (keepEmpty || value !== '')) out[name] = value;
  }
  return out;
}

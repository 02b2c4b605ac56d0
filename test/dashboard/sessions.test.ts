import { createHash } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Job } from '../../src/db/schema.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import { expireSessionsHandler, setAccountPassword } from '../../src/services/sessions.js';
import { DashboardClient } from '../helpers/dashboard.js';
import { DIALECTS, startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';

const PASSWORD = 'correct horse battery';

describe.each(DIALECTS)('dashboard sign-in and sessions (%s)', (dialect) => {
  let t: TestServer;
  let acct: NewAccountResult;
  let skew = 0;
  const sessions = () => t.server.ctx.db.kysely.selectFrom('sessions').selectAll().execute();

  beforeAll(async () => {
    t = await startTestServer(dialect, { workers: false, clock: () => Date.now() + skew });
    acct = await t.account('Session Owner');
    await setAccountPassword(t.server.ctx, acct.account_hash, PASSWORD);
  });

  afterAll(async () => {
    await t.close();
  });

  it('sends the sign-in page to anyone and every other page to signed-in people only', async () => {
    const c = new DashboardClient(t.url);
    const login = await c.get('/dashboard/login');
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(login.headers.get('x-frame-options')).toBe('DENY');
    expect(login.headers.get('cache-control')).toBe('no-store');
    for (const path of ['recordings', 'environments', 'webhooks', 'storage', 'account']) {
      const res = await c.get(`/dashboard/${path}`);
      expect(res.status, path).toBe(303);
      expect(res.location).toBe(`/dashboard/login?next=${encodeURIComponent(`/dashboard/${path}`)}`);
    }
    expect((await c.post('/dashboard/environments', { env_name: 'x' })).status).toBe(403);
  });

  it('signs in with the API key: an HttpOnly, SameSite=Strict cookie whose token is not stored',
    async () => {
      const c = new DashboardClient(t.url);
      const res = await c.signInWithKey(acct.api_key);
      expect(res.status).toBe(303);
      expect(res.location).toBe('/dashboard/recordings');
      const line = c.setCookies.find((l) => l.startsWith('standpipe_session=')) ?? '';
      expect(line).toMatch(/; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
      expect(line).not.toContain('Secure');
      const token = c.cookies.get('standpipe_session') ?? '';
      const rows = await sessions();
      expect(rows.map((r) => r.id)).not.toContain(token);
      expect(rows.map((r) => r.id))
        .toContain(createHash('sha256').update(token).digest('hex'));
      const page = await c.get('/dashboard/recordings');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Session Owner');
    });

  it('signs in with email and password; a wrong one says so without telling which', async () => {
    const wrong = new DashboardClient(t.url);
    const bad = await wrong.signInWithPassword(acct.email, 'not the password');
    expect(bad.status).toBe(401);
    expect(bad.text).toContain('The email or password is not right.');
    const unknown = await wrong.signInWithPassword('nobody@example.com', PASSWORD);
    expect(unknown.text).toContain('The email or password is not right.');
    const c = new DashboardClient(t.url);
    const ok = await c.signInWithPassword(acct.email.toUpperCase(), PASSWORD);
    expect(ok.status).toBe(303);
    expect((await c.get('/dashboard/account')).text).toContain(acct.account_hash);
  });

  it('refuses a sign-in form that did not come with its cookie', async () => {
    const c = new DashboardClient(t.url);
    const res = await c.request('POST', '/dashboard/login', { _login: 'forged', method: 'key',
      api_key: acct.api_key });
    expect(res.status).toBe(403);
    expect(c.cookies.has('standpipe_session')).toBe(false);
  });

  it('refuses changes without the CSRF token, with another session’s, or from another site',
    async () => {
      const c = new DashboardClient(t.url);
      await c.signInWithKey(acct.api_key);
      await c.get('/dashboard/environments');
      const other = new DashboardClient(t.url);
      await other.signInWithKey(acct.api_key);
      await other.get('/dashboard/environments');
      expect(other.lastCsrf).not.toBe(c.lastCsrf);

      const missing = await c.post('/dashboard/environments', { env_name: 'A', _csrf: '' });
      expect(missing.status).toBe(403);
      expect(missing.text).toContain('This form has expired');
      const foreign = await c.post('/dashboard/environments', { env_name: 'B',
        _csrf: other.lastCsrf });
      expect(foreign.status).toBe(403);
      const offsite = await c.post('/dashboard/environments', { env_name: 'C' },
        { origin: 'https://evil.example' });
      expect(offsite.status).toBe(403);
      const envs = await t.api(acct.api_key, 'GET', '/environment');
      const names = (envs.json.environment_details as { env_name: string }[])
        .map((e) => e.env_name);
      expect(names).not.toContain('A');
      expect(names).not.toContain('B');
      expect(names).not.toContain('C');

      const good = await c.post('/dashboard/environments', { env_name: 'Staging' });
      expect(good.status).toBe(303);
      const after = await c.get('/dashboard/environments');
      expect(after.text).toContain('The environment was created.');
      expect(after.text).toContain('Staging');
    });

  it('lets the session call the REST API from the same site, changes only with X-CSRF-Token',
    async () => {
      const c = new DashboardClient(t.url);
      await c.signInWithKey(acct.api_key);
      await c.get('/dashboard/account');
      const cookie = c.cookieHeader();
      const read = await fetch(`${t.url}/account`, { headers: { cookie } });
      expect(read.status).toBe(200);
      const body = JSON.stringify({ env_name: 'From a cookie' });
      const json = { cookie, 'content-type': 'application/json' };
      const blocked = await fetch(`${t.url}/environment`, { method: 'POST', headers: json, body });
      expect(blocked.status).toBe(403);
      const allowed = await fetch(`${t.url}/environment`, { method: 'POST', body,
        headers: { ...json, 'x-csrf-token': c.lastCsrf } });
      expect(allowed.status).toBe(201);
      expect((await fetch(`${t.url}/account`)).status).toBe(401);
    });

  it('ends sessions opened with an API key once that key is rotated, except the rotating one',
    async () => {
      const own = await t.account('Rotating');
      const stays = new DashboardClient(t.url);
      const ends = new DashboardClient(t.url);
      const byPassword = new DashboardClient(t.url);
      await setAccountPassword(t.server.ctx, own.account_hash, PASSWORD);
      await stays.signInWithKey(own.api_key);
      await ends.signInWithKey(own.api_key);
      await byPassword.signInWithPassword(own.email, PASSWORD);
      await stays.get('/dashboard/account');
      const rotated = await stays.post('/dashboard/account/api-key');
      expect(rotated.status).toBe(200);
      const newKey = /<pre id="revealed"[^>]*><code>([a-f0-9]{64})</.exec(rotated.text)?.[1];
      expect(newKey).toBeDefined();
      expect((await t.api(own.api_key, 'GET', '/account')).status).toBe(401);
      expect((await t.api(newKey ?? '', 'GET', '/account')).status).toBe(200);
      expect((await stays.get('/dashboard/recordings')).status).toBe(200);
      expect((await ends.get('/dashboard/recordings')).status).toBe(303);
      expect((await byPassword.get('/dashboard/recordings')).status).toBe(200);

      await setAccountPassword(t.server.ctx, own.account_hash, 'another long password');
      expect((await byPassword.get('/dashboard/recordings')).status).toBe(303);
    });

  it('signs out: the cookie goes and the session row with it', async () => {
    const c = new DashboardClient(t.url);
    await c.signInWithKey(acct.api_key);
    const token = c.cookies.get('standpipe_session') ?? '';
    await c.get('/dashboard/recordings');
    const out = await c.post('/dashboard/logout');
    expect(out.status).toBe(303);
    expect(out.location).toBe('/dashboard/login?out=1');
    expect(c.cookies.has('standpipe_session')).toBe(false);
    const id = createHash('sha256').update(token).digest('hex');
    expect((await sessions()).map((r) => r.id)).not.toContain(id);
    c.cookies.set('standpipe_session', token);
    expect((await c.get('/dashboard/recordings')).status).toBe(303);
  });

  it('ends idle sessions after twelve hours and the cleanup job removes them', async () => {
    const c = new DashboardClient(t.url);
    await c.signInWithKey(acct.api_key);
    expect((await c.get('/dashboard/recordings')).status).toBe(200);
    const before = (await sessions()).length;
    skew = 13 * 3600_000;
    try {
      expect((await c.get('/dashboard/recordings')).status).toBe(303);
      await expireSessionsHandler(t.server.ctx).run({} as Job, new AbortController().signal);
      expect((await sessions()).length).toBeLessThan(before);
      expect((await sessions()).every((s) => s.expires_at > Date.now() + skew)).toBe(true);
    } finally {
      skew = 0;
    }
  });

  it('slows down guessing: ten failed sign-ins from an address, then 429', async () => {
    const c = new DashboardClient(t.url);
    let last = 0;
    for (let i = 0; i < 11; i += 1) {
      last = (await c.signInWithKey(`wrong-${i}`)).status;
    }
    expect(last).toBe(429);
    expect((await c.signInWithKey(acct.api_key)).status).toBe(429);
  });
});

describe('dashboard cookies behind https', () => {
  it('are Secure and __Host- prefixed when the public URL is https', async () => {
    const t = await startTestServer(DIALECTS[0] ?? 'sqlite', { workers: false,
      env: { STANDPIPE_PUBLIC_URL: 'https://video.example.com' } });
    try {
      const acct = await t.account();
      const c = new DashboardClient(t.url);
      await c.signInWithKey(acct.api_key);
      const line = c.setCookies.find((l) => l.startsWith('__Host-standpipe_session=')) ?? '';
      expect(line).toMatch(/; Path=\/; HttpOnly; SameSite=Strict; Secure; Max-Age=\d+$/);
      const login = c.setCookies.find((l) => l.startsWith('standpipe_login=')) ?? '';
      expect(login).toContain('Secure');
    } finally {
      await t.close();
    }
  });
});

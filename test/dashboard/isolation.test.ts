import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { DashboardClient } from '../helpers/dashboard.js';
import { DIALECTS, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';

const SECRET_KEY = 'AKIAEXAMPLESECRET123';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe.each(DIALECTS)('dashboard: one account sees nothing of another (%s)', (dialect) => {
  let t: TestServer;
  let a: NewAccountResult;
  let b: NewAccountResult;
  let aVideo: { id: string; name: string };
  let aHook: string;
  let aDelivery: number;
  let aCreds: string;
  const browserB = () => new DashboardClient(t.url);

  beforeAll(async () => {
    t = await startTestServer(dialect, { workers: false });
    a = await t.account('Alpha Secretive');
    b = await t.account('Bravo Curious');
    const hook = await t.api(a.api_key, 'POST', '/webhook',
      { webhook: 'http://127.0.0.1:9/alpha-"hook"?a=<b>', webhook_recorded: '1' });
    aHook = (hook.json.webhook_details as { id: string }[])[0]?.id ?? '';
    const up = await uploadFile(t.url, { accountHash: a.account_hash,
      eid: a.environment.env_code, payload: '<script>alert("payload")</script>' },
    { name: 'clip.webm', data: await readFile(CHROMIUM_WEBM) });
    aVideo = (up.json.videos as { id: string; name: string }[])[0] ?? { id: '', name: '' };
    const row = await t.server.ctx.db.kysely.selectFrom('webhook_deliveries').select('id')
      .where('webhook_id', '=', Number(aHook)).executeTakeFirstOrThrow();
    aDelivery = row.id;
    const creds = await t.api(a.api_key, 'POST', '/amazon', { amz_key: SECRET_KEY,
      amz_secret: SECRET, amz_bucket: 'alpha-private-bucket', amz_bucket_region: 'eu-west-1' });
    aCreds = (creds.json.amazon_details as { id: string }[])[0]?.id ?? '';
  });

  afterAll(async () => {
    await t.close();
  });

  it("lists none of the other account's recordings, webhooks, storage, codes or details",
    async () => {
      const c = browserB();
      await c.signInWithKey(b.api_key);
      const pages = await Promise.all(['recordings', 'environments', 'webhooks', 'storage',
        'account'].map((p) => c.get(`/dashboard/${p}`)));
      const all = pages.map((p) => p.text).join('\n');
      for (const page of pages) expect(page.status).toBe(200);
      for (const value of [aVideo.name, a.account_hash, a.environment.env_code, 'alpha-hook',
        'alpha-private-bucket', 'Alpha Secretive', a.email]) {
        expect(all, value).not.toContain(value);
      }
      expect(all).toContain(b.account_hash);
    });

  it("answers 404 for the other account's recording and webhook, and changes nothing",
    async () => {
      const c = browserB();
      await c.signInWithKey(b.api_key);
      expect((await c.get(`/dashboard/recordings/${aVideo.id}`)).status).toBe(404);
      expect((await c.get(`/dashboard/webhooks/${aHook}`)).status).toBe(404);
      await c.get('/dashboard/recordings');

      const del = await c.post(`/dashboard/recordings/${aVideo.id}/delete`);
      expect(del.status).toBe(303);
      expect((await c.get(del.location ?? '/')).status).toBe(404);
      expect((await t.api(a.api_key, 'GET', `/video/${aVideo.id}`)).status).toBe(200);

      await c.get('/dashboard/webhooks');
      const before = await t.server.ctx.db.kysely.selectFrom('webhook_deliveries').select('id')
        .execute();
      await c.post(`/dashboard/webhooks/${aHook}/deliveries/${aDelivery}/redeliver`);
      await c.post(`/dashboard/webhooks/${aHook}/delete`);
      await c.post(`/dashboard/storage/amazon/${aCreds}`, { amz_bucket: 'stolen' });
      const after = await t.server.ctx.db.kysely.selectFrom('webhook_deliveries').select('id')
        .execute();
      expect(after.length).toBe(before.length);
      expect((await t.api(a.api_key, 'GET', '/webhook')).json.webhook_details).toHaveLength(1);
      const amazon = await t.api(a.api_key, 'GET', '/amazon');
      expect((amazon.json.amazon_details as { amz_bucket: string }[])[0]?.amz_bucket)
        .toBe('alpha-private-bucket');
    });

  it('shows stored secrets as saved, never their values, and keeps them on an empty field',
    async () => {
      const c = new DashboardClient(t.url);
      await c.signInWithKey(a.api_key);
      const page = await c.get('/dashboard/storage');
      expect(page.text).not.toContain(SECRET);
      expect(page.text).not.toContain(SECRET_KEY);
      expect(page.text).toContain('Saved — type to replace');
      const saved = await c.post(`/dashboard/storage/amazon/${aCreds}`, { amz_bucket:
        'alpha-renamed', amz_bucket_region: 'eu-west-1', amz_folder: '', amz_acl: 'private',
      amz_key: '', amz_secret: '' });
      expect(saved.status).toBe(303);
      const row = await t.server.ctx.db.kysely.selectFrom('amazon_credentials').selectAll()
        .where('id', '=', Number(aCreds)).executeTakeFirstOrThrow();
      expect(row.amz_bucket).toBe('alpha-renamed');
      expect(t.server.ctx.secrets.open(row.amz_secret_enc ?? '')).toBe(SECRET);
    });

  it('escapes what recorders and customers typed', async () => {
    const c = new DashboardClient(t.url);
    await c.signInWithKey(a.api_key);
    const list = await c.get('/dashboard/recordings');
    const detail = await c.get(`/dashboard/recordings/${aVideo.id}`);
    const hooks = await c.get('/dashboard/webhooks');
    for (const page of [list, detail]) {
      expect(page.text).not.toContain('<script>alert');
      expect(page.text).toContain('&lt;script&gt;alert(&quot;payload&quot;)');
    }
    expect(hooks.text).not.toContain('<b>');
    expect(hooks.text).toContain('alpha-&quot;hook&quot;?a=&lt;b&gt;');
  });
});

/**
 * Authentication and account scoping: one account's key against another account's ids on
 * every endpoint, odd spellings of ids, and the API key in places it must not be read from.
 */
import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS, startTestServer, uploadFile } from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { loopbackDeliveryEnv, parseResponse } from './support.js';

interface Owned {
  video: string;
  env: string;
  webhook: string;
  amazon: string;
  ftp: string;
  dropbox: string;
}

function firstId(res: ApiResponse, key: string): string {
  expect(res.status, res.text).toBeLessThan(300);
  const list = res.json[key] as { id: string }[];
  return String(list[0]?.id);
}

describe.each(DIALECTS)('auth and scoping (%s)', (dialect) => {
  let srv: TestServer;
  let a: NewAccountResult;
  let b: NewAccountResult;
  let ownA: Owned;
  let ownB: Owned;

  /** Everything an account can list, to compare before and after another account's tries. */
  async function snapshot(key: string): Promise<string[]> {
    const paths = ['/video/all', '/environment', '/webhook', '/amazon', '/ftp', '/dropbox'];
    return Promise.all(paths.map(async (p) => (await srv.api(key, 'GET', p)).text));
  }

  async function populate(acct: NewAccountResult): Promise<Owned> {
    const up = await uploadFile(srv.url,
      { accountHash: acct.account_hash, eid: acct.environment.env_code },
      { name: 'clip.webm', data: await readFile(CHROMIUM_WEBM) });
    const env = await srv.api(acct.api_key, 'POST', '/environment', { env_name: 'second' });
    const hook = await srv.api(acct.api_key, 'POST', '/webhook',
      { webhook: 'http://127.0.0.1:9/pipe' });
    const amazon = await srv.api(acct.api_key, 'POST', '/amazon',
      { amz_key: 'AKIAEXAMPLE', amz_secret: 'secret-a', amz_bucket: 'bucket-one' });
    const ftp = await srv.api(acct.api_key, 'POST', '/ftp',
      { ftp_host: '127.0.0.1', ftp_password: 'pw' });
    const dropbox = await srv.api(acct.api_key, 'POST', '/dropbox', { dbox_token: 'tok' });
    return {
      video: firstId(up, 'videos'),
      env: firstId(env, 'environment_details'),
      webhook: firstId(hook, 'webhook_details'),
      amazon: firstId(amazon, 'amazon_details'),
      ftp: firstId(ftp, 'ftp_details'),
      dropbox: firstId(dropbox, 'dropbox_details'),
    };
  }

  beforeAll(async () => {
    // No worker runs here; the delivery endpoints point at this machine all the same.
    srv = await startTestServer(dialect, { workers: false, env: loopbackDeliveryEnv(9) });
    a = await srv.account('Attacker');
    b = await srv.account('Victim');
    ownA = await populate(a);
    ownB = await populate(b);
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('answers 404 on every endpoint to another account\'s id, changing nothing', async () => {
    const before = await snapshot(b.api_key);
    const tries: [string, string, unknown][] = [
      ['GET', `/video/${ownB.video}`, undefined],
      ['DELETE', `/video/${ownB.video}`, undefined],
      ['GET', `/environment/${ownB.env}`, undefined],
      ['PUT', `/environment/${ownB.env}`, { env_name: 'taken' }],
      ['PUT', `/webhook/${ownB.webhook}`, { webhook: 'http://127.0.0.1:9/evil' }],
      ['DELETE', `/webhook/${ownB.webhook}`, undefined],
      ['PUT', `/amazon/${ownB.amazon}`, { amz_bucket: 'evil-bucket' }],
      ['PUT', `/ftp/${ownB.ftp}`, { ftp_host: '127.0.0.2' }],
      ['PUT', `/dropbox/${ownB.dropbox}`, { dbox_folder: 'evil' }],
    ];
    for (const [method, path, body] of tries) {
      const res = await srv.api(a.api_key, method, path, body);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
      // Exactly what a missing id gets: nothing tells that the id exists elsewhere.
      const missing = await srv.api(a.api_key, method, path.replace(/\d+$/, '987654'), body);
      expect(res.text, `${method} ${path}`).toBe(missing.text);
    }
    expect(await snapshot(b.api_key)).toEqual(before);
  });

  it('lists only the key\'s own objects', async () => {
    const lists: [string, string, keyof Owned][] = [
      ['/video/all', 'videos', 'video'], ['/environment', 'environment_details', 'env'],
      ['/webhook', 'webhook_details', 'webhook'], ['/amazon', 'amazon_details', 'amazon'],
      ['/ftp', 'ftp_details', 'ftp'], ['/dropbox', 'dropbox_details', 'dropbox'],
    ];
    for (const [path, key, kind] of lists) {
      const res = await srv.api(a.api_key, 'GET', path);
      const ids = (res.json[key] as { id: string }[]).map((o) => o.id);
      expect(ids, path).toContain(ownA[kind]);
      expect(ids, path).not.toContain(ownB[kind]);
    }
  });

  it('attaches nothing to an environment number the account does not have', async () => {
    // B has env_id 2 ("second"); A has one too, so use a number neither has.
    for (const path of ['/webhook', '/amazon', '/ftp', '/dropbox']) {
      const body = path === '/webhook'
        ? { webhook: 'http://127.0.0.1:9/x', env_id: '77' }
        : { env_id: '77' };
      const res = await srv.api(a.api_key, 'POST', path, body);
      expect(res.status, `${path}: ${res.text}`).toBe(400);
    }
  });

  it('reads ids only in their plain decimal form', async () => {
    const id = ownA.video;
    const forms = [`0${id}`, `${id}.0`, `+${id}`, `-${id}`, `${id}e0`, `${id}%20`, `%20${id}`,
      `0x${Number(id).toString(16)}`, `${id}abc`, '0', '-1', '1e3', '99999999999999999999',
      '9007199254740993', `${id};1`, `${id}%00`, 'null', 'undefined', 'NaN', '[1]'];
    for (const form of forms) {
      const got = await srv.api(a.api_key, 'GET', `/video/${form}`);
      expect(got.status, `GET /video/${form}: ${got.text}`).toBe(404);
      const del = await srv.api(a.api_key, 'DELETE', `/video/${form}`);
      expect(del.status, `DELETE /video/${form}: ${del.text}`).toBe(404);
    }
    for (const path of ['/environment/', '/webhook/', '/amazon/', '/ftp/', '/dropbox/']) {
      for (const form of ['01', '1.0', '-1', '1e3', '99999999999999999999']) {
        const method = path === '/environment/' ? 'GET' : 'PUT';
        const body = method === 'PUT' ? { active: '1' } : undefined;
        const res = await srv.api(a.api_key, method, `${path}${form}`, body);
        expect(res.status, `${method} ${path}${form}: ${res.text}`).toBe(404);
      }
    }
    expect((await srv.api(a.api_key, 'GET', `/video/${id}`)).status).toBe(200);
  });

  it('treats DELETE /video/all as a missing id and deletes nothing', async () => {
    const before = await srv.api(a.api_key, 'GET', '/video/all');
    for (const path of ['/video/all', '/video/*', '/video/', '/video']) {
      const res = await srv.api(a.api_key, 'DELETE', path);
      expect([404, 405], `DELETE ${path}: ${res.text}`).toContain(res.status);
    }
    const after = await srv.api(a.api_key, 'GET', '/video/all');
    expect(after.json.total_videos).toBe(before.json.total_videos);
  });

  it('reads the key from the X-PIPE-AUTH header only', async () => {
    const get = async (path: string, headers: Record<string, string>) =>
      parseResponse(await fetch(`${srv.url}${path}`, { headers }));
    const key = a.api_key;

    for (const q of [`api_key=${key}`, `x-pipe-auth=${key}`, `X-PIPE-AUTH=${key}`,
      `key=${key}`, `auth=${key}`]) {
      const res = await get(`/account?${q}`, {});
      expect(res.status, q).toBe(401);
    }
    expect((await get('/account', { authorization: `Bearer ${key}` })).status).toBe(401);
    expect((await get('/account', { cookie: `x-pipe-auth=${key}` })).status).toBe(401);
    expect((await get('/account', { 'x-pipe-auth': '' })).status).toBe(401);
    expect((await get('/account', { 'x-pipe-auth': '   ' })).status).toBe(401);
    expect((await get('/account', { 'x-pipe-auth': key.toUpperCase() })).status).toBe(401);
    expect((await get('/account', { 'x-pipe-auth': key.slice(0, -1) })).status).toBe(401);
    expect((await get('/account', { 'x-pipe-auth': `${key}0` })).status).toBe(401);
    expect((await get('/account', { 'x-pipe-auth': `${key} x` })).status).toBe(401);
    expect((await get('/account', { 'x-pipe-auth': b.account_hash })).status).toBe(401);

    // Header names are case-insensitive in HTTP, and surrounding blanks are not part of a
    // field value.
    expect((await get('/account', { 'X-PIPE-AUTH': key })).status).toBe(200);
    expect((await get('/account', { 'X-Pipe-Auth': key })).status).toBe(200);
    expect((await get('/account', { 'x-pipe-auth': ` ${key}\t` })).status).toBe(200);
  });

  it('does not authenticate a request that carries two keys', async () => {
    const headers = new Headers();
    headers.append('x-pipe-auth', a.api_key);
    headers.append('x-pipe-auth', b.api_key);
    const res = await parseResponse(await fetch(`${srv.url}/account`, { headers }));
    expect(res.status, res.text).toBe(401);
    expect(res.text).not.toContain(a.api_key);
    expect(res.text).not.toContain(b.api_key);
  });

  it('refuses every API endpoint without a key, before reading the body', async () => {
    const endpoints: [string, string][] = [
      ['GET', '/video'], ['GET', '/video/all'], ['GET', `/video/${ownA.video}`],
      ['DELETE', `/video/${ownA.video}`], ['POST', '/video'], ['GET', '/account'],
      ['POST', '/account/api-key'], ['GET', '/environment'], ['POST', '/environment'],
      ['GET', `/environment/${ownA.env}`], ['PUT', `/environment/${ownA.env}`],
      ['GET', '/webhook'], ['POST', '/webhook'], ['PUT', `/webhook/${ownA.webhook}`],
      ['DELETE', `/webhook/${ownA.webhook}`], ['GET', '/amazon'], ['POST', '/amazon'],
      ['PUT', `/amazon/${ownA.amazon}`], ['GET', '/ftp'], ['POST', '/ftp'],
      ['PUT', `/ftp/${ownA.ftp}`], ['GET', '/dropbox'], ['POST', '/dropbox'],
      ['PUT', `/dropbox/${ownA.dropbox}`],
    ];
    for (const [method, path] of endpoints) {
      const hasBody = method === 'POST' || method === 'PUT';
      const res = await parseResponse(await fetch(`${srv.url}${path}`, {
        method,
        ...(hasBody ? { headers: { 'content-type': 'application/json' }, body: '{"x":' } : {}),
      }));
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(401);
      expect(res.json.status).toBe('ERROR');
    }
  });

  it('stops the old key at once when a new one is issued, and only for that account', async () => {
    const c = await srv.account('Rotator');
    const res = await srv.api(c.api_key, 'POST', '/account/api-key');
    expect(res.status, res.text).toBe(200);
    const fresh = String((res.json.account_details as { api_key: string }[])[0]?.api_key);
    expect(fresh).toMatch(/^[0-9a-f]{64}$/);
    expect(fresh).not.toBe(c.api_key);
    expect((await srv.api(c.api_key, 'GET', '/account')).status).toBe(401);
    expect((await srv.api(fresh, 'GET', '/account')).status).toBe(200);
    expect((await srv.api(a.api_key, 'GET', '/account')).status).toBe(200);
    expect((await srv.api(b.api_key, 'GET', '/account')).status).toBe(200);
  });
});

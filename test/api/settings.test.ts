import { request as httpRequest } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DIALECTS, startTestServer } from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import {
  SEED_ACCOUNT, SEED_ENVIRONMENT, SEED_WEBHOOK, expectError, expectOk, expectSameShape,
} from '../helpers/seed-shapes.js';

/** A request whose header names go on the wire exactly as written (fetch lower-cases them). */
function rawRequest(base: string, method: string, path: string,
  headers: Record<string, string>, body?: string): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = {};
        }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (typeof v === 'string') h.set(k, v);
          else if (Array.isArray(v)) h.set(k, v.join(', '));
        }
        resolve({ status: res.statusCode ?? 0, headers: h, json, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const HOOK_URL = 'https://hooks.example.com/pipe';

describe.each(DIALECTS)('account, environments, webhooks and auth (%s)', (dialect) => {
  let srv: TestServer;
  let a: NewAccountResult;
  let b: NewAccountResult;
  let hookA: string;
  let hookB: string;
  let envB: string;
  let amazonA: string;
  let ftpA: string;
  let dropboxA: string;

  const created = async (key: string, path: string, body: unknown, list: string) => {
    const res = await srv.api(key, 'POST', path, body);
    const [first] = expectOk(res, 'POST', list, 201);
    return String(first?.id);
  };

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: false });
    a = await srv.account('Gloria Foster');
    b = await srv.account('Other Customer');
    hookA = await created(a.api_key, '/webhook', { webhook: HOOK_URL }, 'webhook_details');
    hookB = await created(b.api_key, '/webhook', { webhook: `${HOOK_URL}/b` }, 'webhook_details');
    envB = String(b.environment.id);
    amazonA = await created(a.api_key, '/amazon', {}, 'amazon_details');
    ftpA = await created(a.api_key, '/ftp', {}, 'ftp_details');
    dropboxA = await created(a.api_key, '/dropbox', {}, 'dropbox_details');
  });

  afterAll(async () => {
    await srv?.close();
  });

  /** Every endpoint of the seed, with a path to an existing resource of account A. */
  const seedEndpoints = (): { method: string; path: string; body?: unknown }[] => [
    { method: 'GET', path: '/video/all' },
    { method: 'GET', path: '/video' },
    { method: 'GET', path: '/video/1' },
    { method: 'DELETE', path: '/video/1' },
    { method: 'GET', path: '/account' },
    { method: 'GET', path: '/environment' },
    { method: 'GET', path: `/environment/${a.environment.id}` },
    { method: 'GET', path: '/webhook' },
    { method: 'PUT', path: `/webhook/${hookA}`, body: { active: '0' } },
    { method: 'GET', path: '/amazon' },
    { method: 'PUT', path: `/amazon/${amazonA}`, body: { amz_bucket: 'changed-bucket' } },
    { method: 'GET', path: '/ftp' },
    { method: 'PUT', path: `/ftp/${ftpA}`, body: { ftp_port: '2121' } },
    { method: 'GET', path: '/dropbox' },
    { method: 'PUT', path: `/dropbox/${dropboxA}`, body: { dbox_folder: 'changed' } },
  ];

  describe('authentication', () => {
    it('answers 401 with the error envelope when X-PIPE-AUTH is missing', async () => {
      for (const ep of seedEndpoints()) {
        const body = ep.body === undefined ? undefined : JSON.stringify(ep.body);
        const headers: Record<string, string> =
          body === undefined ? {} : { 'content-type': 'application/json' };
        const res = await rawRequest(srv.url, ep.method, ep.path, headers, body);
        expectError(res, 401, ep.method);
      }
    });

    it('answers 401 for an empty or wrong key', async () => {
      for (const ep of seedEndpoints()) {
        for (const key of ['', ' ', 'x'.repeat(64), `${a.api_key}x`, a.account_hash]) {
          const res = await srv.api(key, ep.method, ep.path, ep.body);
          expectError(res, 401, ep.method);
        }
      }
    });

    it('has changed nothing after the refused writes', async () => {
      const hooks = expectOk(await srv.api(a.api_key, 'GET', '/webhook'), 'GET',
        'webhook_details');
      expect(hooks.find((h) => h.id === hookA)?.active).toBe('1');
      const amazon = expectOk(await srv.api(a.api_key, 'GET', '/amazon'), 'GET',
        'amazon_details');
      expect(amazon[0]?.amz_bucket).toBe('');
    });

    it('matches the header name case-insensitively', async () => {
      for (const name of ['X-PIPE-AUTH', 'X-Pipe-Auth', 'x-pipe-auth', 'x-PiPe-AuTh']) {
        const res = await rawRequest(srv.url, 'GET', '/account', { [name]: a.api_key });
        const [details] = expectOk(res, 'GET', 'account_details');
        expect(details?.name).toBe('Gloria Foster');
      }
    });

    it('tells accounts apart by key', async () => {
      const res = await srv.api(b.api_key, 'GET', '/account');
      const [details] = expectOk(res, 'GET', 'account_details');
      expect(details?.name).toBe('Other Customer');
    });
  });

  describe('GET /account', () => {
    it('has the seed envelope and account_details shape', async () => {
      const res = await srv.api(a.api_key, 'GET', '/account');
      const details = expectOk(res, 'GET', 'account_details');
      expect(res.json.message).toBe('Request successful');
      expect(details).toHaveLength(1);
      expectSameShape(details[0], SEED_ACCOUNT);
      expect(details[0]).toMatchObject({ name: 'Gloria Foster', email: a.email });
    });

    it('counts API requests, including this one', async () => {
      const first = expectOk(await srv.api(a.api_key, 'GET', '/account'), 'GET',
        'account_details');
      await srv.api(a.api_key, 'GET', '/environment');
      const second = expectOk(await srv.api(a.api_key, 'GET', '/account'), 'GET',
        'account_details');
      expect(Number(second[0]?.api_requests)).toBe(Number(first[0]?.api_requests) + 2);
    });
  });

  describe('GET /environment and /environment/:id', () => {
    it('lists the environments with the seed shape', async () => {
      const res = await srv.api(a.api_key, 'GET', '/environment');
      const envs = expectOk(res, 'GET', 'environment_details');
      expect(envs.length).toBeGreaterThanOrEqual(1);
      for (const env of envs) expectSameShape(env, SEED_ENVIRONMENT);
      expect(envs[0]).toMatchObject({
        id: String(a.environment.id),
        env_id: String(a.environment.env_id),
        env_code: a.environment.env_code,
        env_name: a.environment.env_name,
      });
    });

    it('shows one environment by its id, not its env_id', async () => {
      const res = await srv.api(a.api_key, 'GET', `/environment/${a.environment.id}`);
      const envs = expectOk(res, 'GET', 'environment_details');
      expect(envs).toHaveLength(1);
      expectSameShape(envs[0], SEED_ENVIRONMENT);
      expect(envs[0]?.id).toBe(String(a.environment.id));
    });

    it('answers 404 for an id of another account exactly as for a missing id', async () => {
      const other = await srv.api(a.api_key, 'GET', `/environment/${envB}`);
      const missing = await srv.api(a.api_key, 'GET', '/environment/987654321');
      expectError(other, 404, 'GET');
      expectError(missing, 404, 'GET');
      expect(other.text).toBe(missing.text);
      for (const id of ['0', '-1', 'abc', '1.5', '99999999999999999999']) {
        const res = await srv.api(a.api_key, 'GET', `/environment/${id}`);
        expectError(res, 404, 'GET');
        expect(res.json.message).toBe(missing.json.message);
      }
    });
  });

  describe('POST /environment (extension)', () => {
    it('creates an environment with the next env_id', async () => {
      const res = await srv.api(a.api_key, 'POST', '/environment', {
        env_name: 'Staging', do_not_store: '1',
      });
      const [env] = expectOk(res, 'POST', 'environment_details', 201);
      expectSameShape(env, SEED_ENVIRONMENT);
      expect(env).toMatchObject({ env_name: 'Staging', do_not_store: '1' });
      expect(Number(env?.env_id)).toBeGreaterThan(a.environment.env_id);
      expect(env?.env_code).toMatch(/^[A-Za-z0-9]+$/);

      const got = await srv.api(a.api_key, 'GET', `/environment/${String(env?.id)}`);
      expect(expectOk(got, 'GET', 'environment_details')[0]).toEqual(env);
      const all = expectOk(await srv.api(a.api_key, 'GET', '/environment'), 'GET',
        'environment_details');
      expect(all.map((e) => e.id)).toContain(env?.id);

      const others = expectOk(await srv.api(b.api_key, 'GET', '/environment'), 'GET',
        'environment_details');
      expect(others.map((e) => e.id)).not.toContain(env?.id);
    });

    // With no switches given there is nothing to update after the insert.
    it('creates an environment from env_name alone', async () => {
      const res = await srv.api(a.api_key, 'POST', '/environment', { env_name: 'Only a name' });
      const [env] = expectOk(res, 'POST', 'environment_details', 201);
      expectSameShape(env, SEED_ENVIRONMENT);
      expect(env).toMatchObject({ env_name: 'Only a name', do_not_store: '0' });
    });

    it('refuses a body without env_name, naming the field', async () => {
      const cases: [unknown, RegExp][] = [
        [{}, /env_name/],
        [{ env_name: '' }, /env_name/],
        [{ env_name: 5 }, /env_name/],
        [{ env_name: 'x', do_not_store: '2' }, /do_not_store/],
        [{ env_name: 'x', region: 'eu' }, /region/],
        ['[]', /body|object/],
      ];
      for (const [body, pattern] of cases) {
        const res = await srv.api(a.api_key, 'POST', '/environment', body);
        expect(expectError(res, 400, 'POST'), JSON.stringify(body)).toMatch(pattern);
      }
    });
  });

  describe('GET /webhook', () => {
    it('lists the webhooks with the seed shape and no secret', async () => {
      const res = await srv.api(a.api_key, 'GET', '/webhook');
      const hooks = expectOk(res, 'GET', 'webhook_details');
      expect(hooks.length).toBeGreaterThanOrEqual(1);
      for (const hook of hooks) expectSameShape(hook, SEED_WEBHOOK);
      expect(hooks.map((h) => h.id)).toContain(hookA);
      expect(hooks.map((h) => h.id)).not.toContain(hookB);
      expect(res.text).not.toMatch(/secret/i);
    });
  });

  describe('PUT /webhook/:id', () => {
    it('changes the given fields and answers with the seed shape', async () => {
      const body = {
        webhook: `${HOOK_URL}/changed?x=1`,
        webhook_recorded: '0',
        webhook_transcoded: '1',
        webhook_converted: '1',
        webhook_copied_pipe_s3: '0',
        webhook_copied_s3: '0',
        webhook_copied_ftp: '0',
        webhook_copied_dbox: '0',
        active: '1',
      };
      const res = await srv.api(a.api_key, 'PUT', `/webhook/${hookA}`, body);
      const [hook] = expectOk(res, 'PUT', 'webhook_details');
      expectSameShape(hook, SEED_WEBHOOK);
      expect(hook).toMatchObject({ id: hookA, ...body });

      const partial = await srv.api(a.api_key, 'PUT', `/webhook/${hookA}`, { active: '0' });
      expect(expectOk(partial, 'PUT', 'webhook_details')[0]).toMatchObject({
        ...body, active: '0',
      });
      const listed = expectOk(await srv.api(a.api_key, 'GET', '/webhook'), 'GET',
        'webhook_details');
      expect(listed.find((h) => h.id === hookA)).toMatchObject({ ...body, active: '0' });
      await srv.api(a.api_key, 'PUT', `/webhook/${hookA}`, { active: '1' });
    });

    it('refuses bad bodies with 400 naming the field, and changes nothing', async () => {
      const before = await srv.api(a.api_key, 'GET', '/webhook');
      const cases: [unknown, RegExp][] = [
        [{}, /webhook|active/],
        [{ colour: 'red' }, /colour/],
        [{ webhook: 5 }, /webhook/],
        [{ active: '2' }, /active/],
        [{ webhook_recorded: true }, /webhook_recorded/],
        [{ webhook_converted: 'yes' }, /webhook_converted/],
        [{ webhook_recorded: '1', active: '2' }, /active/],
        [{ webhook: 'ftp://hooks.example.com/x' }, /webhook/],
        ['{"active":', /JSON|body/],
        ['[]', /body|object/],
        ['"x"', /body|object/],
        ['null', /body|object/],
        ['', /body|JSON|empty/],
      ];
      for (const [body, pattern] of cases) {
        const res = await srv.api(a.api_key, 'PUT', `/webhook/${hookA}`, body);
        const message = expectError(res, 400, 'PUT');
        expect(message, JSON.stringify(body)).toMatch(pattern);
      }
      const after = await srv.api(a.api_key, 'GET', '/webhook');
      expect(after.json.webhook_details).toEqual(before.json.webhook_details);
    });

    it('answers 404 for another account\'s webhook exactly as for a missing one', async () => {
      const other = await srv.api(a.api_key, 'PUT', `/webhook/${hookB}`, { active: '0' });
      const missing = await srv.api(a.api_key, 'PUT', '/webhook/987654321', { active: '0' });
      expectError(other, 404, 'PUT');
      expectError(missing, 404, 'PUT');
      expect(other.text).toBe(missing.text);
      const theirs = expectOk(await srv.api(b.api_key, 'GET', '/webhook'), 'GET',
        'webhook_details');
      expect(theirs[0]?.active).toBe('1');
    });
  });

  describe('POST and DELETE /webhook (extensions)', () => {
    it('returns the signing secret once, on creation', async () => {
      const res = await srv.api(a.api_key, 'POST', '/webhook', {
        webhook: `${HOOK_URL}/new`, webhook_transcoded: '1', format: 'form',
      });
      const [hook] = expectOk(res, 'POST', 'webhook_details', 201);
      const { webhook_secret: secret, ...rest } = hook ?? {};
      expect(typeof secret).toBe('string');
      expect((secret as string).length).toBeGreaterThanOrEqual(24);
      expectSameShape(rest, SEED_WEBHOOK);
      expect(rest).toMatchObject({ webhook: `${HOOK_URL}/new`, webhook_transcoded: '1',
        format: 'form', env_id: String(a.environment.env_id) });

      const list = await srv.api(a.api_key, 'GET', '/webhook');
      expect(list.text).not.toContain(secret as string);
      const put = await srv.api(a.api_key, 'PUT', `/webhook/${String(rest.id)}`, { active: '1' });
      expect(put.text).not.toContain(secret as string);
      expect(expectOk(put, 'PUT', 'webhook_details')[0]).not.toHaveProperty('webhook_secret');
    });

    it('validates the URL and the environment', async () => {
      const cases: [unknown, RegExp][] = [
        [{ webhook: 'ftp://hooks.example.com/x' }, /webhook/],
        [{ webhook: `https://hooks.example.com/${'a'.repeat(200)}` }, /webhook/],
        [{ webhook: 'https://user:pass@hooks.example.com/x' }, /webhook/],
        [{ webhook: 'https://user@hooks.example.com/x' }, /webhook/],
        [{ webhook: 'not a url' }, /webhook/],
        [{ webhook: '' }, /webhook/],
        [{}, /webhook/],
        [{ webhook: HOOK_URL, env_id: '99' }, /env_id/],
        [{ webhook: HOOK_URL, env_id: String(b.environment.env_id + 50) }, /env_id/],
        [{ webhook: HOOK_URL, format: 'xml' }, /format/],
        [{ webhook: HOOK_URL, secret: 'mine' }, /secret/],
      ];
      const before = await srv.api(a.api_key, 'GET', '/webhook');
      for (const [body, pattern] of cases) {
        const res = await srv.api(a.api_key, 'POST', '/webhook', body);
        const message = expectError(res, 400, 'POST');
        expect(message, JSON.stringify(body)).toMatch(pattern);
      }
      const after = await srv.api(a.api_key, 'GET', '/webhook');
      expect(after.json.webhook_details).toEqual(before.json.webhook_details);
    });

    it('accepts a URL of exactly 200 characters', async () => {
      const base = 'https://hooks.example.com/';
      const url = base + 'a'.repeat(200 - base.length);
      const res = await srv.api(a.api_key, 'POST', '/webhook', { webhook: url });
      expect(expectOk(res, 'POST', 'webhook_details', 201)[0]?.webhook).toBe(url);
    });

    it('deletes a webhook; afterwards it is gone everywhere', async () => {
      const id = await created(a.api_key, '/webhook', { webhook: `${HOOK_URL}/gone` },
        'webhook_details');
      const other = await srv.api(b.api_key, 'DELETE', `/webhook/${id}`);
      const missing = await srv.api(b.api_key, 'DELETE', '/webhook/987654321');
      expectError(other, 404, 'DELETE');
      expect(other.text).toBe(missing.text);

      const res = await srv.api(a.api_key, 'DELETE', `/webhook/${id}`);
      expectOk(res, 'DELETE', null);
      const list = expectOk(await srv.api(a.api_key, 'GET', '/webhook'), 'GET',
        'webhook_details');
      expect(list.map((h) => h.id)).not.toContain(id);
      expectError(await srv.api(a.api_key, 'PUT', `/webhook/${id}`, { active: '1' }), 404, 'PUT');
      expectError(await srv.api(a.api_key, 'DELETE', `/webhook/${id}`), 404, 'DELETE');
    });
  });

  // parseBody (src/http/validate.ts) looks field names up with rules[name], which also finds
  // Object.prototype members: PUT answers 500, POST /webhook takes the name silently.
  it('refuses field names that Object.prototype happens to have', async () => {
    const writes: [string, string][] = [
      ['PUT', `/webhook/${hookA}`], ['PUT', `/amazon/${amazonA}`], ['PUT', `/ftp/${ftpA}`],
      ['PUT', `/dropbox/${dropboxA}`], ['POST', '/environment'],
    ];
    for (const name of ['toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      for (const [method, path] of writes) {
        const res = await srv.api(a.api_key, method, path, { [name]: '1' });
        expect(expectError(res, 400, method), `${method} ${path} ${name}`).toContain(name);
      }
      const hook = await srv.api(a.api_key, 'POST', '/webhook', {
        webhook: `${HOOK_URL}/proto`, [name]: '1',
      });
      expect(expectError(hook, 400, 'POST')).toContain(name);
    }
  });

  describe('methods a path does not take', () => {
    const cases: [string, string, string[]][] = [
      ['DELETE', '/account', ['GET']],
      ['PUT', '/account', ['GET']],
      ['POST', '/video/1', ['GET', 'DELETE']],
      ['PUT', '/video/1', ['GET', 'DELETE']],
      ['DELETE', '/video', ['GET', 'POST']],
      ['PUT', '/environment', ['GET', 'POST']],
      ['DELETE', '/environment', ['GET', 'POST']],
      ['GET', '/webhook/1', ['PUT', 'DELETE']],
      ['PATCH', '/amazon/1', ['PUT']],
      ['DELETE', '/ftp', ['GET', 'POST']],
      ['PUT', '/dropbox', ['GET', 'POST']],
    ];

    it.each(cases)('%s %s answers 405 with Allow', async (method, path, allowed) => {
      const res = await srv.api(a.api_key, method, path);
      expectError(res, 405, method);
      const allow = (res.headers.get('allow') ?? '').split(/,\s*/);
      for (const m of allowed) expect(allow).toContain(m);
      expect(allow).not.toContain(method);
    });

    it('answers an unknown path with a 404 error envelope', async () => {
      expectError(await srv.api(a.api_key, 'GET', '/videos'), 404, 'GET');
      expectError(await srv.api(a.api_key, 'GET', '/account/details'), 404, 'GET');
    });
  });
});

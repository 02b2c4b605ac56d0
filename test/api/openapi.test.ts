import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { copiedEventData } from '../../src/delivery/events.js';
import { eventBody } from '../../src/webhooks/events.js';
import { findAccountById } from '../../src/repositories/accounts.js';
import { findRecording } from '../../src/repositories/recordings.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import {
  DIALECTS, eventually, readResponse, startTestServer, uploadFile,
} from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import { makeWebmClip } from '../helpers/media-fixtures.js';
import { DocumentChecker, registeredRoutes } from '../helpers/openapi.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { createUpload, patch, tus } from '../helpers/tus.js';

type Row = Record<string, unknown>;

const first = (res: ApiResponse, key: string): Row =>
  ((res.json[key] as Row[] | undefined)?.[0]) ?? {};

describe.each(DIALECTS)('OpenAPI document (%s)', (dialect) => {
  let srv: TestServer;
  let doc: Row;
  let check: DocumentChecker;
  let receiver: Receiver;
  let a: NewAccountResult;
  let clip: Buffer;
  let clipDir: string;
  let video: Row = {};

  /** An answer, and that the document describes it as it came. */
  const documented = (method: string, docPath: string, res: ApiResponse) => {
    expect(check.responseProblems(method, docPath, res), res.text.slice(0, 300)).toEqual([]);
    return res;
  };

  /** A JSON call whose body the document describes, and whose answer it describes. */
  const call = async (method: string, url: string, docPath: string, body?: unknown,
    key = a.api_key) => {
    if (body !== undefined) {
      expect(check.requestProblems(method, docPath, 'application/json', body)).toEqual([]);
    }
    return documented(method, docPath, await srv.api(key, method, url, body));
  };

  beforeAll(async () => {
    clipDir = await mkdtemp(path.join(tmpdir(), 'standpipe-openapi-'));
    clip = await makeWebmClip(clipDir);
    receiver = await startReceiver();
    srv = await startTestServer(dialect);
    a = await srv.account();
    const res = await fetch(`${srv.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = await res.json() as Row;
    check = new DocumentChecker(doc);
  });

  afterAll(async () => {
    await srv?.close();
    await receiver?.close();
    await rm(clipDir, { recursive: true, force: true });
  });

  it('is a valid OpenAPI 3.1 document, served without a key', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: srv.server.ctx.config.publicUrl }]);
    const schemes = (doc.components as Row).securitySchemes as Row;
    expect(schemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-PIPE-AUTH' });
    // Every schema compiles under ajv's strict mode: no unknown keyword, no loose type.
    for (const name of Object.keys((doc.components as Row).schemas as Row)) {
      expect(() => check.validate(`#/components/schemas/${name}`, null)).not.toThrow();
    }
    const res = await readResponse(await fetch(`${srv.url}/openapi.json`));
    documented('GET', '/openapi.json', res);
    const etag = res.headers.get('etag') ?? '';
    documented('GET', '/openapi.json', await readResponse(await fetch(`${srv.url}/openapi.json`,
      { headers: { 'if-none-match': etag } })));
  });

  it('describes every route the server registered, and only those', () => {
    const app = srv.server.app;
    if (app === null) throw new Error('no HTTP server');
    const registered = registeredRoutes(app);
    expect(registered.size).toBeGreaterThan(60);
    const described = new Set<string>();
    for (const [p, item] of Object.entries(doc.paths as Row)) {
      for (const method of Object.keys(item as Row)) described.add(`${method.toUpperCase()} ${p}`);
    }
    // HEAD is answered for every GET; it is described only where it is an operation of its own.
    const missing = [...registered].filter((r) => !r.startsWith('HEAD ') && !described.has(r));
    expect(missing).toEqual([]);
    expect([...described].filter((r) => !registered.has(r))).toEqual([]);
  });

  it('describes the account, environments, webhooks and storage answers', async () => {
    await call('GET', '/account', '/account');
    const env = first(await call('POST', '/environment', '/environment',
      { env_name: 'Second', collect_ip: '0', lifecycle_days: '30' }), 'environment_details');
    await call('GET', '/environment', '/environment');
    await call('GET', `/environment/${String(env.id)}`, '/environment/{id}');
    await call('PUT', `/environment/${String(env.id)}`, '/environment/{id}',
      { send_video_email: 1, lifecycle_days: null });

    const hook = first(await call('POST', '/webhook', '/webhook', {
      webhook: receiver.url('/hook'), webhook_transcoded: '1',
    }), 'webhook_details');
    expect(hook.webhook_secret).toMatch(/^whsec_/);
    await call('GET', '/webhook', '/webhook');
    await call('PUT', `/webhook/${String(hook.id)}`, '/webhook/{id}', { format: 'json' });

    const storage = [
      ['/amazon', 'amazon_details', { amz_key: 'AKIA', amz_secret: 's', amz_bucket: 'clips-1',
        amz_folder: 'in' }, { amz_acl: 'private' }, {}],
      ['/ftp', 'ftp_details', { ftp_host: '127.0.0.1', ftp_port: '9', ftp_username: 'u',
        ftp_password: 'p', env_id: String(env.env_id) }, { ftp_dir: 'up' }, { protocol: 'ftp' }],
      ['/dropbox', 'dropbox_details', { dbox_token: 't', dbox_folder: 'f',
        env_id: Number(env.env_id) }, { dbox_folder: 'g' }, {}],
    ] as const;
    for (const [p, key, fields, change, test] of storage) {
      const created = first(await call('POST', p, p, fields), key);
      await call('GET', p, p);
      await call('PUT', `${p}/${String(created.id)}`, `${p}/{id}`, change);
      const tested = await call('POST', `${p}/${String(created.id)}/test`, `${p}/{id}/test`, test);
      expect((tested.json.test_result as Row).success).toBe('0');
    }

    const rotated = await call('POST', '/account/webhook-key', '/account/webhook-key',
      { grace_seconds: 60 });
    expect(first(rotated, 'account_details').webhook_key).toMatch(/^[0-9a-f]+$/);
  });

  it('describes recordings, as uploaded, converted, listed and anonymized', async () => {
    const up = await uploadFile(srv.url, { accountHash: a.account_hash,
      eid: a.environment.env_code, payload: 'p=1' }, { name: 'clip.webm', data: clip });
    video = first(documented('POST', '/upload', up), 'videos');

    const form = new FormData();
    form.append('env_id', '1');
    form.append('file', new Blob([new Uint8Array(clip)]), 'clip.webm');
    const byKey = await readResponse(await fetch(`${srv.url}/video`, { method: 'POST',
      headers: { 'x-pipe-auth': a.api_key }, body: form }));
    const second = first(documented('POST', '/video', byKey), 'videos');

    await eventually(async () => {
      const res = await srv.api(a.api_key, 'GET', `/video/${String(video.id)}`);
      const v = first(res, 'videos');
      if (v.conversion_status === 'failed') throw new Error(res.text);
      return v.converted === '1' ? v : undefined;
    }, 60_000, 'conversion');
    video = first(await call('GET', `/video/${String(video.id)}`, '/video/{id}'), 'videos');
    expect(video.pipeS3Link).toMatch(/\.mp4$/);
    await call('GET', '/video/all', '/video/all');
    await call('GET', '/video', '/video');
    const deliveries = await call('GET', `/video/${String(video.id)}/deliveries`,
      '/video/{id}/deliveries');
    expect(deliveries.json.deliveries).toHaveLength(1);

    await call('POST', `/video/${String(second.id)}/anonymize`, '/video/{id}/anonymize');
    await call('POST', `/environment/${String(a.environment.id)}/anonymize`,
      '/environment/{id}/anonymize', { before: '2000-01-01' });
    await call('DELETE', `/video/${String(second.id)}`, '/video/{id}');
  });

  it('describes the webhooks the server sends, with their signature headers', async () => {
    const wanted = ['video_recorded', 'video_converted', 'video_transcoded',
      'video_copied_pipe_s3'];
    const bodies = await eventually(async () => {
      const dataOf = (json: unknown) => (json as { data?: Row } | undefined)?.data;
      const seen = receiver.requests.filter((r) => String(dataOf(r.json)?.id) === video.id);
      const events = new Set(seen.map((r) => (r.json as Row).event));
      return wanted.every((e) => events.has(e)) ? seen : undefined;
    }, 30_000, 'webhooks');
    for (const r of bodies) {
      const event = String((r.json as Row).event);
      expect(check.webhookProblems(event, r.headers, r.json), event).toEqual([]);
    }

    const hooks = await call('GET', '/webhook', '/webhook');
    const hookId = String(first(hooks, 'webhook_details').id);
    const log = await call('GET', `/webhook/${hookId}/deliveries?limit=10`,
      '/webhook/{id}/deliveries');
    const deliveryId = String(first(log, 'deliveries').id);
    await call('POST', `/webhook/${hookId}/deliveries/${deliveryId}/redeliver`,
      '/webhook/{id}/deliveries/{deliveryId}/redeliver');
    await call('POST', `/webhook/${hookId}/test`, '/webhook/{id}/test',
      { event: 'video_converted' });
    await call('POST', `/webhook/${hookId}/secret`, '/webhook/{id}/secret', {});
    const extra = first(await call('POST', '/webhook', '/webhook',
      { webhook: receiver.url('/other'), active: 0 }), 'webhook_details');
    await call('DELETE', `/webhook/${String(extra.id)}`, '/webhook/{id}');
  });

  it('describes the events of copies to customers\' storage', async () => {
    const ctx = srv.server.ctx;
    const rec = await findRecording(ctx.db.kysely, a.id, Number(video.id));
    const account = await findAccountById(ctx.db.kysely, a.id);
    if (rec === undefined || account === undefined) throw new Error('recording gone');
    const facts = { url: 'https://clips-1.s3.amazonaws.com/in/x.mp4', snapshotUrl: null,
      bucket: 'clips-1', region: 'us-east-1', acl: 'private' };
    const events = { s3: 'video_copied_s3', ftp: 'video_copied_ftp', sftp: 'video_copied_ftp',
      dbox: 'video_copied_dbox' } as const;
    for (const [target, event] of Object.entries(events)) {
      const body = JSON.parse(eventBody(event, copiedEventData(target as keyof typeof events,
        rec, account, ctx.config, facts))) as unknown;
      expect(check.webhookProblems(event, null, body), target).toEqual([]);
    }
  });

  it('describes the error answers', async () => {
    documented('GET', '/account', await srv.api('', 'GET', '/account'));
    documented('GET', '/account', await srv.api('not-a-key', 'GET', '/account'));
    await call('GET', '/video/987654321', '/video/{id}');
    await call('PUT', `/environment/${String(a.environment.id)}`, '/environment/{id}');
    const empty = await srv.api(a.api_key, 'PUT', `/environment/${String(a.environment.id)}`, {});
    expect(documented('PUT', '/environment/{id}', empty).status).toBe(400);
    const badJson = await srv.api(a.api_key, 'POST', '/webhook', '{"webhook":');
    expect(documented('POST', '/webhook', badJson).status).toBe(400);
    const unknown = await srv.api(a.api_key, 'POST', '/environment', { env_name: 'x', y: '1' });
    expect(documented('POST', '/environment', unknown).status).toBe(400);

    const big = await readResponse(await fetch(`${srv.url}/environment`, { method: 'POST',
      headers: { 'x-pipe-auth': a.api_key, 'content-type': 'application/json' },
      body: JSON.stringify({ env_name: 'x'.repeat(2 * 1024 * 1024) }) }));
    expect(documented('POST', '/environment', big).status).toBe(413);
    const xml = await readResponse(await fetch(`${srv.url}/environment`, { method: 'POST',
      headers: { 'x-pipe-auth': a.api_key, 'content-type': 'text/xml' }, body: '<a/>' }));
    expect(documented('POST', '/environment', xml).status).toBe(415);
    const notMultipart = await srv.api(a.api_key, 'POST', '/video', { file: 'x' });
    expect(documented('POST', '/video', notMultipart).status).toBe(415);
    const wrongPair = await uploadFile(srv.url, { accountHash: 'f'.repeat(32), eid: 'nope' },
      { name: 'clip.webm', data: clip });
    expect(documented('POST', '/upload', wrongPair).status).toBe(404);

    const method = await srv.api(a.api_key, 'PATCH', '/video/1');
    expect(method.status).toBe(405);
    expect(check.sharedResponseProblems('MethodNotAllowed', method)).toEqual([]);
    const nowhere = await srv.api(a.api_key, 'GET', '/no/such/endpoint');
    expect(nowhere.status).toBe(404);
    expect(check.sharedResponseProblems('NotFound', nowhere)).toEqual([]);
  });

  it('describes tus uploads', async () => {
    const base = srv.url;
    const asResponse = async (res: Response) => readResponse(res);
    documented('OPTIONS', '/tus', await asResponse(await fetch(`${base}/tus`,
      { method: 'OPTIONS' })));
    const meta = { accountHash: a.account_hash, eid: a.environment.env_code,
      filename: 'clip.webm' };
    const made = await createUpload(base, clip.length, meta);
    documented('POST', '/tus', await asResponse(made.res));
    const id = made.url.slice(made.url.lastIndexOf('/') + 1);
    documented('OPTIONS', '/tus/{id}', await asResponse(await fetch(`${base}/tus/${id}`,
      { method: 'OPTIONS' })));
    documented('HEAD', '/tus/{id}', await asResponse(await tus(made.url, 'HEAD')));
    const half = Math.floor(clip.length / 2);
    documented('PATCH', '/tus/{id}', await asResponse(await patch(made.url, 0,
      clip.subarray(0, half))));
    documented('PATCH', '/tus/{id}', await asResponse(await patch(made.url, 0, clip)));
    const last = await asResponse(await tus(made.url, 'POST', {
      'x-http-method-override': 'PATCH', 'upload-offset': String(half),
      'content-type': 'application/offset+octet-stream' }, clip.subarray(half)));
    expect(documented('POST', '/tus/{id}', last).status).toBe(204);
    expect(last.headers.get('standpipe-video-id')).toMatch(/^\d+$/);

    const other = await createUpload(base, 10, meta);
    documented('DELETE', '/tus/{id}', await asResponse(await tus(other.url, 'DELETE')));
    documented('HEAD', '/tus/{id}', await asResponse(await tus(other.url, 'HEAD')));
    documented('POST', '/tus', await asResponse(await fetch(`${base}/tus`, { method: 'POST' })));
    const bad = await createUpload(base, 10, { ...meta, eid: 'nope' });
    documented('POST', '/tus', await asResponse(bad.res));
  });

  it('describes stored media, the recorder\'s files, health, metrics and the dashboard',
    async () => {
      const get = async (url: string, headers: Record<string, string> = {}) =>
        readResponse(await fetch(url.startsWith('http') ? url : `${srv.url}${url}`,
          { headers, redirect: 'manual' }));
      const mp4 = `http://${String(video.pipeS3Link)}`;
      documented('GET', '/media/{hash}/{file}', await get(mp4));
      const range = await get(mp4, { range: 'bytes=0-99' });
      expect(documented('GET', '/media/{hash}/{file}', range).status).toBe(206);
      const outside = await get(mp4, { range: 'bytes=999999999-' });
      expect(documented('GET', '/media/{hash}/{file}', outside).status).toBe(416);
      const missing = await get(`/media/${a.account_hash}/nothing.mp4`);
      expect(documented('GET', '/media/{hash}/{file}', missing).status).toBe(404);

      for (const file of ['/2.0/pipe.js', '/2.0/pipe.css']) {
        const res = documented('GET', file, await get(file));
        const again = await get(file, { 'if-none-match': res.headers.get('etag') ?? '' });
        expect(documented('GET', file, again).status).toBe(304);
      }
      for (const p of ['/healthz', '/readyz', '/metrics']) documented('GET', p, await get(p));
      expect(documented('GET', '/dashboard', await get('/dashboard')).status).toBe(303);
      documented('GET', '/dashboard/login', await get('/dashboard/login'));
      documented('GET', '/dashboard/recordings', await get('/dashboard/recordings'));
    });

  it('describes the dashboard session as a way into the API, and 403 without its token',
    async () => {
      const login = await fetch(`${srv.url}/dashboard/login`);
      const token = /standpipe_login=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
      const form = { _login: token ?? '', method: 'key', api_key: a.api_key };
      expect(check.requestProblems('POST', '/dashboard/login',
        'application/x-www-form-urlencoded', form)).toEqual([]);
      const signIn = await readResponse(await fetch(`${srv.url}/dashboard/login`, {
        method: 'POST', redirect: 'manual', body: new URLSearchParams(form),
        headers: { cookie: `standpipe_login=${token ?? ''}` } }));
      expect(documented('POST', '/dashboard/login', signIn).status).toBe(303);
      const schemes = (doc.components as Row).securitySchemes as Record<string, Row>;
      const name = String(schemes.session?.name);
      const session = new RegExp(`${name}=([^;]+)`).exec(
        signIn.headers.get('set-cookie') ?? '')?.[1];
      expect(session).toBeDefined();

      const cookie = { cookie: `${name}=${session ?? ''}` };
      const page = await readResponse(await fetch(`${srv.url}/dashboard/account`,
        { headers: cookie }));
      expect(documented('GET', '/dashboard/account', page).status).toBe(200);
      const read = await readResponse(await fetch(`${srv.url}/account`, { headers: cookie }));
      expect(documented('GET', '/account', read).status).toBe(200);
      const change = await readResponse(await fetch(`${srv.url}/webhook/1`, { method: 'DELETE',
        headers: cookie }));
      expect(documented('DELETE', '/webhook/{id}', change).status).toBe(403);
    });

  it('describes the answers past the rate limit', async () => {
    const limited = await startTestServer(dialect, {
      workers: false, env: { STANDPIPE_RATE_LIMIT_PER_MINUTE: '2' } });
    try {
      const b = await limited.account();
      const answers = [];
      for (let i = 0; i < 3; i += 1) answers.push(await limited.api(b.api_key, 'GET', '/account'));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 429]);
      for (const res of answers) documented('GET', '/account', res);
      const uploads = [];
      for (let i = 0; i < 3; i += 1) {
        uploads.push(await uploadFile(limited.url, { accountHash: b.account_hash,
          eid: b.environment.env_code }, { name: 'clip.webm', data: clip }));
      }
      expect(uploads.map((r) => r.status)).toEqual([201, 201, 429]);
      for (const res of uploads) documented('POST', '/upload', res);
    } finally {
      await limited.close();
    }
  });

  it('describes the API key rotation', async () => {
    const res = await call('POST', '/account/api-key', '/account/api-key');
    const key = String(first(res, 'account_details').api_key);
    await call('GET', '/account', '/account', undefined, key);
    documented('GET', '/account', await srv.api(a.api_key, 'GET', '/account'));
  });
});

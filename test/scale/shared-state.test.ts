/**
 * API processes and a worker that share nothing but the database and the media store: a
 * recording enters through one, is converted by another and is served by a third; limits,
 * keys and metrics behave the same whichever process a request reaches.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { createAccount } from '../../src/services/accounts.js';
import { standardWebhookSignature } from '../../src/webhooks/signature.js';
import { eventually, filesUnder, uploadFile, DIALECTS } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { sharedServices, startNode } from './cluster.js';
import type { Node, Shared } from './cluster.js';

type Json = Record<string, unknown>;

async function call(base: string, key: string, method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { 'x-pipe-auth': key,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text,
    json: (text.startsWith('{') ? JSON.parse(text) : {}) as Json };
}

describe.each(DIALECTS)('processes sharing a database and a bucket (%s)', (dialect) => {
  let shared: Shared;
  let apiA: Node;
  let apiB: Node;
  let worker: Node;
  let receiver: Receiver;
  let acct: NewAccountResult;
  const token = 'scrape-me';

  beforeAll(async () => {
    shared = await sharedServices(dialect, true);
    receiver = await startReceiver();
    const env = { STANDPIPE_METRICS_TOKEN: token, STANDPIPE_RATE_LIMIT_PER_MINUTE: '0' };
    apiA = await startNode(shared, 'api', env);
    apiB = await startNode(shared, 'api', env);
    worker = await startNode(shared, 'worker', env);
    acct = await createAccount(apiA.server.ctx, { name: 'Shared', email: 's@example.com' });
  });

  afterAll(async () => {
    for (const node of [apiA, apiB, worker]) await node?.stop();
    await receiver?.close();
    await shared?.close();
  });

  it('takes an upload on one API process, converts it in the worker, serves it from the ' +
    'other, signs webhooks with keys made elsewhere and keeps no file on an API process',
  async () => {
    const hook = await call(apiB.url, acct.api_key, 'POST', '/webhook',
      { webhook: receiver.url('/hook') });
    expect(hook.status, hook.text).toBe(201);
    const secret = String((hook.json.webhook_details as Json[])[0]?.webhook_secret);

    const clip = await readFile(CHROMIUM_WEBM);
    const up = await uploadFile(apiA.url, { accountHash: acct.account_hash,
      eid: acct.environment.env_code }, { name: 'clip.webm', data: clip });
    expect(up.status, up.text).toBe(201);
    const id = String((up.json.videos as Json[])[0]?.id);

    const video = await eventually(async () => {
      const res = await call(apiB.url, acct.api_key, 'GET', `/video/${id}`);
      const v = (res.json.videos as Json[] | undefined)?.[0];
      return v?.converted === '1' ? v : undefined;
    }, 60_000, 'conversion by the worker');
    const mp4 = await fetch(`${apiB.url}/media/${acct.account_hash}/${String(video.name)}.mp4`);
    expect(mp4.status).toBe(200);
    expect((await mp4.arrayBuffer()).byteLength).toBe(Number(video.size));

    await receiver.waitFor(3, 20_000);
    for (const r of receiver.requests) {
      const msgId = String(r.headers['webhook-id']);
      const stamp = Number(r.headers['webhook-timestamp']);
      expect(r.headers['webhook-signature'])
        .toBe(standardWebhookSignature(secret, msgId, stamp, r.body));
    }
    expect(await filesUnder(apiA.dataDir)).toEqual([]);
    expect(await filesUnder(apiB.dataDir)).toEqual([]);
    expect(await filesUnder(worker.dataDir)).toEqual([]);
  }, 90_000);

  it('exposes metrics behind the token: requests on the API, jobs and webhooks on the worker',
    async () => {
      expect((await fetch(`${apiA.url}/metrics`)).status).toBe(401);
      const wrong = await fetch(`${apiA.url}/metrics`, { headers: { authorization: 'Bearer x' } });
      expect(wrong.status).toBe(401);
      const scrape = async (node: Node) => {
        const res = await fetch(`${node.url}/metrics`,
          { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
        return res.text();
      };
      const api = await scrape(apiA);
      expect(api).toContain(
        'standpipe_http_requests_total{method="POST",route="/upload",status="201"} 1');
      expect(api).toMatch(
        /^standpipe_http_request_duration_seconds_count\{method="POST",route="\/upload"\} 1$/m);
      expect(api).toContain('standpipe_jobs_queue_depth{type="recording.process",state="due"} 0');

      const work = await eventually(async () => {
        const text = await scrape(worker);
        return text.includes('standpipe_webhook_deliveries_total{outcome="delivered"} 3')
          ? text : undefined;
      }, 10_000, 'three webhooks counted');
      expect(work).toContain('standpipe_jobs_total{type="recording.process",outcome="done"} 1');
      expect(work).toMatch(
        /^standpipe_job_duration_seconds_count\{type="recording.process",outcome="done"\} 1$/m);
      expect(work).toContain('standpipe_jobs_total{type="webhook.deliver",outcome="done"} 3');
      expect(work).not.toContain('route="/upload"');
    });

  it('says ready when the database and the bucket answer, and not when the store is gone',
    async () => {
      for (const node of [apiA, worker]) {
        const res = await fetch(`${node.url}/readyz`);
        expect(await res.json()).toEqual({ status: 'ok', database: dialect, media_store: 's3' });
        expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
      }
      const noBucket = await startNode(shared, 'api', { STANDPIPE_S3_BUCKET: 'no-such-bucket' });
      const noDisk = await startNode(shared, 'api', { STANDPIPE_MEDIA_STORE: 'local' });
      await writeFile(path.join(noDisk.dataDir, 'media'), 'a file where the folder should be');
      try {
        for (const [node, kind] of [[noBucket, 's3'], [noDisk, 'local']] as const) {
          const res = await fetch(`${node.url}/readyz`);
          expect(res.status).toBe(503);
          expect(await res.json()).toEqual({ status: 'unavailable', database: dialect,
            media_store: 'unreachable' });
          expect((await fetch(`${node.url}/healthz`)).status, kind).toBe(200);
        }
      } finally {
        await noBucket.stop();
        await noDisk.stop();
      }
    });

  it('counts nothing with the limit at 0', async () => {
    const rows = await shared.testDb.db.kysely.selectFrom('rate_limits').selectAll().execute();
    expect(rows).toEqual([]);
  });
});

describe.each(DIALECTS)('the rate limit across API processes (%s)', (dialect) => {
  let shared: Shared;
  let apiA: Node;
  let apiB: Node;
  let one: NewAccountResult;
  let two: NewAccountResult;
  // Mid-minute and moved by hand, so that no test straddles a window's end.
  let now = Date.UTC(2024, 4, 1, 12, 0, 20);
  const clock = () => now;

  beforeAll(async () => {
    shared = await sharedServices(dialect, false);
    const env = { STANDPIPE_RATE_LIMIT_PER_MINUTE: '5' };
    apiA = await startNode(shared, 'api', env, clock);
    apiB = await startNode(shared, 'api', env, clock);
    one = await createAccount(apiA.server.ctx, { name: 'One', email: 'one@example.com' });
    two = await createAccount(apiA.server.ctx, { name: 'Two', email: 'two@example.com' });
  });

  afterAll(async () => {
    for (const node of [apiA, apiB]) await node?.stop();
    await shared?.close();
  });

  it('counts an API key at every process and answers 429 in the Pipe envelope', async () => {
    const statuses: number[] = [];
    for (const base of [apiA.url, apiB.url, apiA.url, apiB.url, apiA.url]) {
      statuses.push((await call(base, one.api_key, 'GET', '/account')).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);

    const limited = await call(apiB.url, one.api_key, 'GET', '/account');
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ status: 'ERROR', status_code: 429,
      message: 'too many requests: at most 5 a minute for this API key; try again in 40 s',
      request_method: 'GET' });
    expect(limited.headers.get('retry-after')).toBe('40');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await call(apiA.url, one.api_key, 'GET', '/video/all')).status).toBe(429);

    // Another key has a count of its own, and the next minute starts afresh.
    expect((await call(apiA.url, two.api_key, 'GET', '/account')).status).toBe(200);
    now += 40_000;
    const next = await call(apiB.url, one.api_key, 'GET', '/account');
    expect(next.status).toBe(200);
    expect(next.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('counts uploads per client address at every process', async () => {
    now += 60_000;
    const fields = { accountHash: two.account_hash, eid: 'nosuchcode' };
    const file = { name: 'x.webm', data: Buffer.from('not a video') };
    const statuses: number[] = [];
    for (const base of [apiA.url, apiB.url, apiA.url, apiB.url, apiA.url, apiB.url]) {
      statuses.push((await uploadFile(base, fields, file)).status);
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429]);
    const last = await uploadFile(apiA.url, fields, file);
    expect(last.status).toBe(429);
    expect(last.json.message).toMatch(/^too many requests: at most 5 a minute from this address/);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    // The address limit is not the key's: API requests of the same client still pass.
    expect((await call(apiA.url, two.api_key, 'GET', '/account')).status).toBe(200);
  });

  it('counts requests that arrive at once exactly, each process its own share', async () => {
    now += 60_000;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      call(i % 2 === 0 ? apiA.url : apiB.url, two.api_key, 'GET', '/account')));
    const ok = answers.filter((a) => a.status === 200).length;
    expect(ok).toBe(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(7);
  });
});

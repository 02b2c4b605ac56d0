/**
 * The public media links: no way out of the media store by any spelling of a path, no file
 * of a recording without its exact name, and byte ranges that are exact or refused.
 */
import http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET with the request target exactly as given: no client normalises the path. */
function rawGet(baseUrl: string, target: string, headers: Record<string, string> = {},
  method = 'GET'): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port: Number(port), method, path: target,
      headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers,
        body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(DIALECTS)('media links (%s)', (dialect) => {
  let srv: TestServer;
  let a: NewAccountResult;
  let b: NewAccountResult;
  let clip: Buffer;
  let rawA: string;
  let rawB: string;
  let nameB: string;
  const sentinel = `sentinel-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: false });
    a = await srv.account();
    b = await srv.account();
    clip = await readFile(CHROMIUM_WEBM);
    const upload = async (acct: NewAccountResult) => {
      const res = await uploadFile(srv.url,
        { accountHash: acct.account_hash, eid: acct.environment.env_code },
        { name: 'clip.webm', data: clip });
      expect(res.status, res.text).toBe(201);
      return String((res.json.videos as { name: string }[])[0]?.name);
    };
    const nameA = await upload(a);
    nameB = await upload(b);
    rawA = `/media/${a.account_hash}/${nameA}_raw.webm`;
    rawB = `/media/${b.account_hash}/${nameB}_raw.webm`;
    // Files a way out of the store would reach.
    await writeFile(path.join(srv.dataDir, 'sentinel.txt'), sentinel);
    await writeFile(path.join(srv.dataDir, 'media', 'sentinel.txt'), sentinel);
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('serves a stored file by its exact link', async () => {
    const res = await rawGet(srv.url, rawA);
    expect(res.status).toBe(200);
    expect(res.body.equals(clip)).toBe(true);
    expect(res.headers['content-type']).toBe('video/webm');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('never leaves the media store, however the path is spelt', async () => {
    const secret = (await readFile(path.join(srv.dataDir, 'secret.key'), 'utf8')).trim();
    const h = a.account_hash;
    const targets = [
      `/media/${h}/../sentinel.txt`, `/media/${h}/..%2fsentinel.txt`,
      `/media/${h}/..%2F..%2Fsecret.key`, `/media/${h}/%2e%2e/sentinel.txt`,
      `/media/${h}/%2e%2e%2fsentinel.txt`, `/media/${h}/%2E%2E%2F%2E%2E%2Fsecret.key`,
      `/media/${h}/..%5csentinel.txt`, `/media/${h}/..\\..\\secret.key`,
      `/media/${h}/%252e%252e%252fsentinel.txt`, `/media/${h}/....//sentinel.txt`,
      `/media/${h}/%2fetc%2fpasswd`, '/media/%2e%2e/sentinel.txt', '/media/../secret.key',
      '/media/..%2f..%2fsecret.key/x', `/media/${h}/..`, `/media/${h}/.`, `/media/${h}/`,
      '/media/sentinel.txt', '/media//sentinel.txt', `/media/${h}//etc/passwd`,
      '/media/%2fetc/passwd', `/media/${h}/%c0%ae%c0%ae%c0%afsentinel.txt`,
      `/media/${h}/.%2e/sentinel.txt`, `/media/${h}/%00/../sentinel.txt`,
      `${rawA}%00.jpg`, `${rawA}/.`, `${rawA}/..`, `${rawA}%2f..%2f..%2fsentinel.txt`,
      `/media/${h.toUpperCase()}/${path.basename(rawA)}`, `/media/${h}/secret.key`,
      `/media/${h}/standpipe.db`, `/media/${h}/${'a'.repeat(5000)}`,
      `/media/${h}/file:%2f%2f%2fetc%2fpasswd`, '/media/*/*', `/media/${h}/*`,
    ];
    for (const target of targets) {
      const res = await rawGet(srv.url, target);
      const what = target.slice(0, 120);
      // 414: the router's limit on the length of a path parameter.
      expect([400, 404, 414], `${what}: ${res.status}`).toContain(res.status);
      const text = res.body.toString('latin1');
      expect(text, what).not.toContain(sentinel);
      expect(text, what).not.toContain(secret);
      expect(text, what).not.toContain('root:');
    }
  });

  it('serves another account\'s file only by its exact link, and not after a DELETE', async () => {
    const nameA = path.basename(rawA).replace(/_raw\.webm$/, '');
    // The right name under the wrong account, and near misses of the right link.
    const misses = [
      `/media/${b.account_hash}/${nameA}_raw.webm`,
      `/media/${a.account_hash}/${nameB}_raw.webm`,
      rawB.replace(/_([a-z0-9]{10})_raw/, '_0000000000_raw'),
      rawB.replace(/vs(\d+)_/, (_m, t: string) => `vs${Number(t) + 1}_`),
      rawB.replace('_raw.webm', '_raw.mp4'), rawB.replace('_raw.webm', '.mp4'),
      rawB.replace('_raw.webm', '_RAW.webm'), rawB.toUpperCase(),
    ];
    for (const target of misses) {
      expect((await rawGet(srv.url, target)).status, target).toBe(404);
    }
    expect((await rawGet(srv.url, rawB)).status).toBe(200);

    const list = await srv.api(b.api_key, 'GET', '/video/all');
    const id = String((list.json.videos as { id: string }[])[0]?.id);
    // Another account's key cannot delete it; its own can, and the link dies with it.
    expect((await srv.api(a.api_key, 'DELETE', `/video/${id}`)).status).toBe(404);
    expect((await rawGet(srv.url, rawB)).status).toBe(200);
    expect((await srv.api(b.api_key, 'DELETE', `/video/${id}`)).status).toBe(200);
    expect((await rawGet(srv.url, rawB)).status).toBe(404);
  });

  it('answers byte ranges exactly, and refuses the ones it cannot satisfy', async () => {
    const size = clip.length;
    const expectPart = async (range: string, start: number, end: number) => {
      const res = await rawGet(srv.url, rawA, { range });
      expect(res.status, range).toBe(206);
      expect(res.headers['content-range'], range).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers['content-length'], range).toBe(String(end - start + 1));
      expect(res.body.equals(clip.subarray(start, end + 1)), range).toBe(true);
    };
    await expectPart('bytes=0-0', 0, 0);
    await expectPart('bytes=0-', 0, size - 1);
    await expectPart('bytes=0-999999999', 0, size - 1);
    await expectPart('bytes=0-99999999999999999999999999', 0, size - 1);
    await expectPart(`bytes=${size - 1}-`, size - 1, size - 1);
    await expectPart('bytes=-5', size - 5, size - 1);
    await expectPart('bytes=-999999999', 0, size - 1);
    await expectPart('bytes=100-199', 100, 199);

    for (const range of ['bytes=-0', `bytes=${size}-`, `bytes=${size}-${size + 10}`,
      'bytes=99999999999999999999999-', 'bytes=5-1']) {
      const res = await rawGet(srv.url, rawA, { range });
      expect(res.status, range).toBe(416);
      expect(res.headers['content-range'], range).toBe(`bytes */${size}`);
      expect(res.body.length, range).toBe(0);
    }

    // What it does not take as one range is ignored: the whole file, never a wrong part.
    for (const range of ['bytes=0-1,3-4', 'bytes=0-0,-1', 'items=0-5', 'bytes=abc',
      'bytes=1.5-2', 'bytes=', 'bytes=0x10-0x20', 'bytes=--5', 'bytes=1-2-3',
      `bytes=0-${'9'.repeat(5000)}-`]) {
      const res = await rawGet(srv.url, rawA, { range });
      expect([200, 416], `${range}: ${res.status}`).toContain(res.status);
      if (res.status === 200) expect(res.body.equals(clip), range).toBe(true);
    }
    const head = await rawGet(srv.url, rawA, { range: 'bytes=0-9' }, 'HEAD');
    expect(head.status).toBe(206);
    expect(head.body.length).toBe(0);
  });
});

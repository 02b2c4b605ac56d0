import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createS3Client } from '../../src/storage/s3.js';
import { S3MediaStore } from '../../src/storage/s3-store.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { startDropboxStandIn } from './dropbox-stand-in.js';
import type { DropboxStandIn } from './dropbox-stand-in.js';
import { S3_KEY, startS3Server } from './servers.js';
import type { S3Server } from './servers.js';

type Json = Record<string, unknown>;
const HASH = 'a'.repeat(32);

describe('the media store in an S3 bucket', () => {
  let dir: string;
  let s3: S3Server;
  let store: S3MediaStore;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-s3store-'));
    s3 = await startS3Server(path.join(dir, 's3'), ['media-bucket']);
    const client = createS3Client({ endpoint: s3.endpoint, region: 'us-east-1',
      accessKeyId: S3_KEY, secretAccessKey: S3_KEY, forcePathStyle: true });
    store = new S3MediaStore(client, { bucket: 'media-bucket',
      multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
  });

  afterAll(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, sizes, reads ranges, copies locally and deletes, in one part or many', async () => {
    for (const length of [1234, 11 * 1024 * 1024 + 77]) {
      const file = path.join(dir, `in-${length}`);
      const data = randomBytes(length);
      await writeFile(file, data);
      const key = `${HASH}/vs${length}.mp4`;
      await store.put(key, file, { move: true });
      await expect(stat(file)).rejects.toThrow();
      expect(await store.size(key)).toBe(length);

      const part = await buffer(await store.open(key, { start: 10, end: 19 }));
      expect(part.equals(data.subarray(10, 20))).toBe(true);
      const copy = await store.localCopy(key, dir);
      expect((await readFile(copy)).equals(data)).toBe(true);
      await store.delete(key);
      expect(await store.size(key)).toBeNull();
    }
    await expect(store.open(`${HASH}/missing.mp4`)).rejects.toMatchObject({ code: 'not_found' });
    await expect(store.size('../../etc/passwd')).rejects.toThrow(/invalid media key/);
  });

  it('is chosen by STANDPIPE_MEDIA_STORE, and missing settings are named together', () => {
    const base = { STANDPIPE_SECRET_KEY: 'ab'.repeat(32), STANDPIPE_MEDIA_STORE: 's3' };
    let problems: string[] = [];
    try {
      loadConfig({ data: dir }, base);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      problems = (err as ConfigError).problems;
    }
    expect(problems.join('\n')).toMatch(/STANDPIPE_S3_BUCKET is required/);
    expect(problems.join('\n')).toMatch(/STANDPIPE_S3_ACCESS_KEY_ID is required/);
    expect(problems.join('\n')).toMatch(/STANDPIPE_S3_SECRET_ACCESS_KEY is required/);
    expect(() => loadConfig({ data: dir }, { ...base, STANDPIPE_MEDIA_STORE: 'ftp' }))
      .toThrow(/STANDPIPE_MEDIA_STORE must be "local" or "s3"/);
    const ok = loadConfig({ data: dir }, { ...base, STANDPIPE_S3_BUCKET: 'media-bucket',
      STANDPIPE_S3_ACCESS_KEY_ID: 'k', STANDPIPE_S3_SECRET_ACCESS_KEY: 's',
      STANDPIPE_S3_ENDPOINT: 'http://127.0.0.1:9000/' });
    expect(ok.mediaStore).toMatchObject({ kind: 's3', endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true, region: 'us-east-1' });
  });
});

describe.each(DIALECTS)('a server on an S3 media store (%s)', (dialect) => {
  let dir: string;
  let s3: S3Server;
  let dropbox: DropboxStandIn;
  let t: TestServer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-s3server-'));
    s3 = await startS3Server(path.join(dir, 's3'), ['media-bucket']);
    dropbox = await startDropboxStandIn('token-1');
    t = await startTestServer(dialect, { env: {
      STANDPIPE_MEDIA_STORE: 's3', STANDPIPE_S3_ENDPOINT: s3.endpoint,
      STANDPIPE_S3_BUCKET: 'media-bucket', STANDPIPE_S3_ACCESS_KEY_ID: S3_KEY,
      STANDPIPE_S3_SECRET_ACCESS_KEY: S3_KEY, STANDPIPE_DROPBOX_API_URL: dropbox.url,
      STANDPIPE_DROPBOX_CONTENT_URL: dropbox.url,
    } });
  });

  afterAll(async () => {
    await t.close();
    await dropbox.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('converts from and into the bucket, serves /media from it, and delivers from it',
    async () => {
      const acct = await t.account();
      await t.api(acct.api_key, 'POST', '/dropbox', { dbox_token: 'token-1' });
      const original = await readFile(CHROMIUM_WEBM);
      const up = await uploadFile(t.url, { accountHash: acct.account_hash,
        eid: acct.environment.env_code }, { name: 'clip.webm', data: original });
      expect(up.status, up.text).toBe(201);
      const id = Number((up.json.videos as Json[])[0]?.id);

      const v = await eventually(async () => {
        const res = await t.api(acct.api_key, 'GET', `/video/${id}`);
        const found = (res.json.videos as Json[])[0];
        return found?.dboxed === '1' ? found : undefined;
      }, 40_000, 'converted and delivered');
      const name = String(v.name);

      const mp4 = await fetch(`http://${String(v.pipeS3Link)}`);
      expect(mp4.status).toBe(200);
      const bytes = Buffer.from(await mp4.arrayBuffer());
      expect(bytes.length).toBe(Number(v.size));
      const range = await fetch(`http://${String(v.pipeS3Link)}`,
        { headers: { range: 'bytes=4-11' } });
      expect(range.status).toBe(206);
      expect(Buffer.from(await range.arrayBuffer()).toString('latin1')).toBe('ftypisom');
      const raw = await fetch(`${t.url}/media/${acct.account_hash}/${name}_raw.webm`);
      expect(Buffer.from(await raw.arrayBuffer()).equals(original)).toBe(true);

      expect(dropbox.files.get(`/${name}.mp4`)?.data.equals(bytes)).toBe(true);
      await expect(stat(path.join(t.dataDir, 'media'))).rejects.toThrow();
    });
});

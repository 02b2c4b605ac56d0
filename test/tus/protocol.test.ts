import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Job } from '../../src/db/schema.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import { expireUploadsHandler } from '../../src/services/tus.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { createUpload, interruptedPatch, patch, tus } from '../helpers/tus.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('tus resumable uploads (%s)', (dialect) => {
  let t: TestServer;
  let acct: NewAccountResult;
  let clip: Buffer;
  let skew = 0;
  const meta = () => ({
    accountHash: acct.account_hash, eid: acct.environment.env_code, filename: 'clip.webm',
    filetype: 'video/webm', payload: '{"order":7}', cameraName: 'FakeCam', micName: 'FakeMic',
  });
  const partsDir = () => path.join(t.dataDir, 'uploads', 'tus');
  const parts = async () => (await readdir(partsDir()).catch(() => [])).length;
  const rows = async () => t.server.ctx.db.kysely.selectFrom('uploads').selectAll().execute();

  beforeAll(async () => {
    t = await startTestServer(dialect, { clock: () => Date.now() + skew });
    acct = await t.account();
    clip = await readFile(CHROMIUM_WEBM);
  });

  afterAll(async () => {
    await t.close();
  });

  it('advertises tus 1.0 with creation, termination and expiration, to any origin', async () => {
    const res = await fetch(`${t.url}/tus`, { method: 'OPTIONS', headers: {
      origin: 'https://shop.example', 'access-control-request-method': 'POST',
      'access-control-request-headers': 'tus-resumable,upload-length,upload-metadata' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-version')).toBe('1.0.0');
    expect(res.headers.get('tus-extension')).toBe('creation,termination,expiration');
    expect(Number(res.headers.get('tus-max-size'))).toBe(t.server.ctx.config.maxUploadBytes);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(res.headers.get('access-control-allow-headers')).toContain('Upload-Offset');
  });

  it('refuses requests without Tus-Resumable: 1.0.0 with 412 and the supported version', async () => {
    const res = await fetch(`${t.url}/tus`, { method: 'POST', headers: { 'upload-length': '10' } });
    expect(res.status).toBe(412);
    expect(res.headers.get('tus-version')).toBe('1.0.0');
    const other = await tus(`${t.url}/tus`, 'POST', { 'tus-resumable': '0.2.2' });
    expect(other.status).toBe(412);
  });

  it('checks the account hash, environment code and size before storing anything', async () => {
    const before = { parts: await parts(), rows: (await rows()).length };
    const cases: [Record<string, string>, Record<string, string>, number][] = [
      [{ ...meta(), accountHash: 'f'.repeat(32) }, {}, 404],
      [{ ...meta(), eid: 'nothere' }, {}, 404],
      [{ ...meta(), accountHash: 'not-a-hash' }, {}, 400],
      [{ ...meta(), payload: 'x'.repeat(501) }, {}, 400],
      [{ ...meta(), mrt: 'soon' }, {}, 400],
      [{ ...meta(), payload: 'bell\u0007' }, {}, 400],
    ];
    for (const [m, headers, status] of cases) {
      const { res } = await createUpload(t.url, clip.length, m, headers);
      expect(res.status, JSON.stringify(m).slice(0, 80)).toBe(status);
      expect(res.headers.get('location')).toBeNull();
    }
    const tooBig = await createUpload(t.url, t.server.ctx.config.maxUploadBytes + 1, meta());
    expect(tooBig.res.status).toBe(413);
    const noLength = await tus(`${t.url}/tus`, 'POST', { 'upload-metadata': 'eid YQ==' });
    expect(noLength.status).toBe(400);
    const badMeta = await tus(`${t.url}/tus`, 'POST', { 'upload-length': '5',
      'upload-metadata': 'accountHash not*base64' });
    expect(badMeta.status).toBe(400);
    expect((await badMeta.json() as { message: string }).message).toContain('base64');
    expect({ parts: await parts(), rows: (await rows()).length }).toEqual(before);
  });

  it('takes a file in pieces, tells where it stands, and makes it a recording', async () => {
    const { res, url } = await createUpload(t.url, clip.length, meta(), {
      'user-agent': 'RecorderTest/1.0', referer: 'https://shop.example/checkout',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(/^\/tus\/[a-f0-9]{32}$/);
    expect(Date.parse(res.headers.get('upload-expires') ?? '')).toBeGreaterThan(Date.now());

    const cuts = [0, 20_000, 45_000, clip.length];
    for (let i = 0; i < cuts.length - 1; i += 1) {
      const head = await tus(url, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('cache-control')).toBe('no-store');
      expect(Number(head.headers.get('upload-offset'))).toBe(cuts[i]);
      expect(Number(head.headers.get('upload-length'))).toBe(clip.length);
      const sent = await patch(url, cuts[i] ?? 0, clip.subarray(cuts[i], cuts[i + 1]));
      expect(sent.status).toBe(204);
      expect(Number(sent.headers.get('upload-offset'))).toBe(cuts[i + 1]);
    }
    const last = await tus(url, 'HEAD');
    const id = last.headers.get('standpipe-video-id');
    expect(id).toMatch(/^\d+$/);
    expect(last.headers.get('standpipe-video-name')).toMatch(/^vs\d+_[a-z0-9]{10}$/);

    const got = await t.api(acct.api_key, 'GET', `/video/${id}`);
    const video = (got.json.videos as Record<string, string>[])[0];
    expect(video).toMatchObject({
      payload: '{"order":7}', camera_name: 'FakeCam', microphone_name: 'FakeMic',
      ua: 'RecorderTest/1.0', http_referer: 'https://shop.example/checkout', source: 'DESK',
      original_container: 'webm', size: null,
    });
    const raw = await fetch(`${t.url}/media/${acct.account_hash}/${video?.name}_raw.webm`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(clip)).toBe(true);
    await eventually(async () => {
      const again = await t.api(acct.api_key, 'GET', `/video/${id}`);
      const v = (again.json.videos as Record<string, string>[])[0];
      return v?.converted === '1' ? v : undefined;
    }, 60_000, 'conversion');

    // The finished upload keeps no metadata of its own; the recording holds it now.
    const row = (await rows()).find((r) => r.recording_id === Number(id));
    expect(row?.metadata).toBe('{}');
    expect(await readdir(partsDir())).not.toContain(`${row?.id}.part`);
  });

  it('makes the same recording as POST /upload from the same request', async () => {
    const headers = { 'user-agent': 'Same/1.0', referer: 'https://shop.example/a' };
    const viaUpload = await uploadFile(t.url, { accountHash: acct.account_hash,
      eid: acct.environment.env_code, payload: 'p', cameraName: 'C', micName: 'M' },
    { name: 'clip.webm', data: clip }, headers);
    const { url } = await createUpload(t.url, clip.length, { ...meta(), payload: 'p',
      cameraName: 'C', micName: 'M' }, headers);
    const done = await patch(url, 0, clip);
    const a = (viaUpload.json.videos as Record<string, string>[])[0] ?? {};
    const b = ((await t.api(acct.api_key, 'GET',
      `/video/${done.headers.get('standpipe-video-id')}`)).json.videos as
      Record<string, string>[])[0] ?? {};
    const same = ['env_id', 'payload', 'camera_name', 'microphone_name', 'ua', 'http_referer',
      'ipv4', 'source', 'original_container', 'mrt', 'audio_only', 'hasAudio', 'orig_width',
      'orig_height', 'conversion_status'];
    for (const field of same) expect(b[field], field).toEqual(a[field]);
  });

  it('answers 409 for a wrong offset, 415 for a wrong body type, 400 past the length', async () => {
    const { url } = await createUpload(t.url, 100, meta());
    expect((await patch(url, 5, Buffer.alloc(10))).status).toBe(409);
    const typed = await tus(url, 'PATCH', { 'upload-offset': '0',
      'content-type': 'application/octet-stream' }, Buffer.alloc(10));
    expect(typed.status).toBe(415);
    const noOffset = await tus(url, 'PATCH', {
      'content-type': 'application/offset+octet-stream' }, Buffer.alloc(10));
    expect(noOffset.status).toBe(400);
    expect((await patch(url, 0, Buffer.alloc(150))).status).toBe(400);
    const head = await tus(url, 'HEAD');
    expect(head.headers.get('upload-offset')).toBe('100');
    expect((await tus(`${t.url}/tus/${'0'.repeat(32)}`, 'HEAD')).status).toBe(404);
    expect((await tus(`${t.url}/tus/../etc`, 'HEAD')).status).toBe(404);
  });

  it('keeps the bytes of a PATCH whose connection dropped, and resumes from there', async () => {
    const { url } = await createUpload(t.url, clip.length, meta());
    const half = Math.floor(clip.length / 2);
    await interruptedPatch(url, 0, clip.subarray(0, half), clip.length);
    const offset = await eventually(async () => {
      const head = await tus(url, 'HEAD');
      const n = Number(head.headers.get('upload-offset'));
      return n > 0 ? n : undefined;
    }, 10_000, 'saved bytes');
    expect(offset).toBe(half);

    const rest = await patch(url, offset, clip.subarray(offset));
    expect(rest.status).toBe(204);
    const name = rest.headers.get('standpipe-video-name');
    const raw = await fetch(`${t.url}/media/${acct.account_hash}/${name}_raw.webm`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(clip)).toBe(true);
  });

  it('counts the last bytes when their recording cannot be made, and makes it on retry', async () => {
    const other = await t.account('Blocked store');
    const otherMeta = { ...meta(), accountHash: other.account_hash,
      eid: other.environment.env_code };
    // A file where the account's media folder belongs: the recording's bytes cannot be stored.
    const folder = path.join(t.dataDir, 'media', other.account_hash);
    await rm(folder, { recursive: true, force: true });
    await writeFile(folder, 'not a folder');
    const { url } = await createUpload(t.url, clip.length, otherMeta);
    const failed = await patch(url, 0, clip);
    expect(failed.status).toBe(500);
    const head = await tus(url, 'HEAD');
    expect(Number(head.headers.get('upload-offset'))).toBe(clip.length);
    expect(head.headers.get('standpipe-video-id')).toBeNull();
    const listed = await t.api(other.api_key, 'GET', '/video/all');
    expect(listed.json.videos).toEqual([]);

    await rm(folder);
    const retry = await patch(url, clip.length, Buffer.alloc(0));
    expect(retry.status).toBe(204);
    expect(retry.headers.get('upload-offset')).toBe(String(clip.length));
    const id = retry.headers.get('standpipe-video-id');
    expect(id).toMatch(/^\d+$/);
    const got = await t.api(other.api_key, 'GET', `/video/${id}`);
    const video = (got.json.videos as Record<string, string>[])[0];
    const raw = await fetch(`${t.url}/media/${other.account_hash}/${video?.name}_raw.webm`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(clip)).toBe(true);
    expect(video?.original_sha256).toBe(createHash('sha256').update(clip).digest('hex'));
    const row = (await rows()).find((r) => r.recording_id === Number(id));
    expect(row?.upload_offset).toBe(clip.length);
  });

  it('answers 409 to a last PATCH whose upload another process finished meanwhile', async () => {
    const { url } = await createUpload(t.url, clip.length, meta());
    const id = new URL(url).pathname.split('/').pop() ?? '';
    const before = (await t.api(acct.api_key, 'GET', '/video/all')).json.total_videos;
    const target = new URL(url);
    const { connect } = await import('node:net');
    const socket = connect(Number(target.port), target.hostname);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => { text += d.toString(); });
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    socket.write(`PATCH ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      'Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n' +
      `Upload-Offset: 0\r\nContent-Length: ${clip.length}\r\nConnection: close\r\n\r\n`);
    socket.write(clip.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 200));
    // As another server sharing the database and folder would, had it finished this upload
    // first: its recording counted, the bytes handed over.
    const other = (await rows()).find((r) => r.recording_id !== null)?.recording_id ?? null;
    expect(other).not.toBeNull();
    await t.server.ctx.db.kysely.updateTable('uploads')
      .set({ upload_offset: clip.length, recording_id: other }).where('id', '=', id).execute();
    await rm(path.join(partsDir(), `${id}.part`));
    socket.write(clip.subarray(1000));
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 409/);
    expect(text).toContain('the upload moved on meanwhile');
    expect((await t.api(acct.api_key, 'GET', '/video/all')).json.total_videos).toBe(before);
    const head = await tus(url, 'HEAD');
    expect(head.headers.get('standpipe-video-id')).toBe(String(other));
  });

  it('answers every PATCH with the expiry HEAD then shows', async () => {
    const { url, res } = await createUpload(t.url, clip.length, meta());
    const created = Date.parse(res.headers.get('upload-expires') ?? '');
    skew += 60_000;
    try {
      const first = await patch(url, 0, clip.subarray(0, 5000));
      const rest = await patch(url, 5000, clip.subarray(5000));
      const head = await tus(url, 'HEAD');
      for (const sent of [first, rest]) {
        expect(Date.parse(sent.headers.get('upload-expires') ?? '')).toBeGreaterThan(created);
      }
      expect(rest.headers.get('upload-expires')).toBe(head.headers.get('upload-expires'));
    } finally {
      skew -= 60_000;
    }
  });

  it('lets a newer PATCH take over from one whose client went quiet', async () => {
    const { url } = await createUpload(t.url, 1000, meta());
    // Headers and 100 bytes, then silence: the connection stays open but nothing comes.
    const target = new URL(url);
    const { connect } = await import('node:net');
    const socket = connect(Number(target.port), target.hostname);
    socket.write(`PATCH ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      'Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n' +
      `Upload-Offset: 0\r\nContent-Length: 1000\r\n\r\n`);
    socket.write(Buffer.alloc(100, 1));
    await new Promise((r) => setTimeout(r, 300));
    const head = await tus(url, 'HEAD');
    expect(head.headers.get('upload-offset')).toBe('100');
    const rest = await patch(url, 100, Buffer.alloc(900, 2));
    expect(rest.status).toBe(204);
    socket.destroy();
  });

  it('accepts PATCH and DELETE as POST with X-HTTP-Method-Override', async () => {
    const { url } = await createUpload(t.url, 10, meta());
    const res = await tus(url, 'POST', { 'x-http-method-override': 'PATCH',
      'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, Buffer.alloc(4));
    expect(res.status).toBe(204);
    expect(res.headers.get('upload-offset')).toBe('4');
    expect((await tus(url, 'POST', { 'x-http-method-override': 'DELETE' })).status).toBe(204);
  });

  it('terminates an upload: bytes and row gone, later requests 404', async () => {
    const { url } = await createUpload(t.url, clip.length, meta());
    await patch(url, 0, clip.subarray(0, 1000));
    const id = url.slice(url.lastIndexOf('/') + 1);
    expect(await readdir(partsDir())).toContain(`${id}.part`);
    const del = await tus(url, 'DELETE');
    expect(del.status).toBe(204);
    expect(del.headers.get('tus-resumable')).toBe('1.0.0');
    expect((await tus(url, 'HEAD')).status).toBe(404);
    expect((await patch(url, 1000, Buffer.alloc(1))).status).toBe(404);
    expect((await tus(url, 'DELETE')).status).toBe(404);
    expect(await readdir(partsDir())).not.toContain(`${id}.part`);
  });

  it('expires an abandoned upload: 410 at once, removed by the hourly job', async () => {
    const { url } = await createUpload(t.url, clip.length, meta());
    await patch(url, 0, clip.subarray(0, 500));
    const id = url.slice(url.lastIndexOf('/') + 1);
    skew = DAY + 60_000;
    try {
      expect((await tus(url, 'HEAD')).status).toBe(410);
      expect((await patch(url, 500, clip.subarray(500, 600))).status).toBe(410);
      const controller = new AbortController();
      await expireUploadsHandler(t.server.ctx).run({} as Job, controller.signal);
    } finally {
      skew = 0;
    }
    expect((await rows()).map((r) => r.id)).not.toContain(id);
    expect(await readdir(partsDir())).not.toContain(`${id}.part`);
    expect((await tus(url, 'HEAD')).status).toBe(404);
  });

  it('removes files a killed process left: parts without a row, old second names', async () => {
    const { mkdir, utimes, writeFile } = await import('node:fs/promises');
    await mkdir(partsDir(), { recursive: true });
    const orphan = path.join(partsDir(), `${'a'.repeat(32)}.part`);
    const staged = path.join(partsDir(), `${'b'.repeat(32)}.part.k3j9x0aa`);
    const fresh = path.join(partsDir(), `${'c'.repeat(32)}.part.k3j9x0ab`);
    for (const file of [orphan, staged, fresh]) await writeFile(file, 'bytes');
    const old = new Date(Date.now() - 2 * DAY);
    await utimes(orphan, old, old);
    await utimes(staged, old, old);
    const { url } = await createUpload(t.url, clip.length, meta());
    const live = `${url.slice(url.lastIndexOf('/') + 1)}.part`;
    await utimes(path.join(partsDir(), live), old, old);
    await expireUploadsHandler(t.server.ctx).run({} as Job, new AbortController().signal);
    const left = await readdir(partsDir());
    expect(left).not.toContain(path.basename(orphan));
    expect(left).not.toContain(path.basename(staged));
    expect(left).toContain(path.basename(fresh));
    expect(left).toContain(live);
    await rm(fresh);
  });

  it('answers 410 when the bytes so far are not on this server', async () => {
    const { url } = await createUpload(t.url, clip.length, meta());
    await patch(url, 0, clip.subarray(0, 100));
    const id = url.slice(url.lastIndexOf('/') + 1);
    await rm(path.join(partsDir(), `${id}.part`));
    const head = await tus(url, 'HEAD');
    expect(head.status).toBe(410);
    expect(head.headers.get('tus-resumable')).toBe('1.0.0');
    expect((await patch(url, 100, clip.subarray(100, 200))).status).toBe(410);
  });

  it('keeps out of the upload what the environment does not collect', async () => {
    const env = await t.api(acct.api_key, 'POST', '/environment', { env_name: 'Private',
      collect_ip: '0', collect_ua: '0', collect_referer: '0', collect_device_names: '0' });
    const code = (env.json.environment_details as Record<string, string>[])[0]?.env_code ?? '';
    const { url } = await createUpload(t.url, clip.length, { ...meta(), eid: code,
      cameraName: 'SecretCam', micName: 'SecretMic' }, { 'user-agent': 'SecretAgent/1',
      referer: 'https://secret.example/' });
    const id = url.slice(url.lastIndexOf('/') + 1);
    const row = (await rows()).find((r) => r.id === id);
    for (const secret of ['SecretCam', 'SecretMic', 'SecretAgent', 'secret.example', '127.0.0.1']) {
      expect(row?.metadata).not.toContain(secret);
    }
    const head = await tus(url, 'HEAD');
    const echoed = Buffer.from(head.headers.get('upload-metadata') ?? '', 'utf8').toString();
    expect(echoed).not.toContain(Buffer.from('SecretCam').toString('base64'));
  });
});

/**
 * Uploads from a hostile client: over the size limit, empty, doubled, missing, cut off
 * halfway, under hostile file names, and playlists that would make ffmpeg read other files
 * or the network. Nothing may be left behind that was not accepted, and nothing outside the
 * upload may ever be read.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import {
  BOUNDARY, filesUnder, multipartBody, openRawRequest, postMultipart, sleep, storedFiles,
  tableRows,
} from './support.js';
import type { Part } from './support.js';

const LIMIT = 64 * 1024;
/** The only names the server gives stored files: <hash>/vs<time>_<token>[_raw.ext|.mp4|.jpg]. */
const STORED_NAME = /\/media\/[0-9a-f]{32}\/vs\d+_[a-z0-9]{10}(_raw\.[a-z0-9]{1,5}|\.mp4|\.jpg)$/;

describe.each(DIALECTS)('upload limits and leftovers (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;
  let ident: Part[];

  const recordingCount = async () => (await tableRows(srv, 'recordings')).length;

  async function expectNothingKept(res: ApiResponse, status: number, what: string,
    before: number): Promise<void> {
    expect(res.status, `${what}: ${res.text}`).toBe(status);
    expect(res.json.status, what).toBe('ERROR');
    // Give a cut-off stream a moment to be cleaned up before looking.
    await sleep(100);
    expect(await storedFiles(srv), what).toEqual([]);
    expect(await recordingCount(), what).toBe(before);
  }

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: false,
      env: { STANDPIPE_MAX_UPLOAD_BYTES: String(LIMIT) } });
    acct = await srv.account();
    ident = [{ name: 'accountHash', value: acct.account_hash },
      { name: 'eid', value: acct.environment.env_code }];
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('answers 413 to a file over the limit and keeps none of it, wherever the fields are',
    async () => {
      const big = Buffer.alloc(LIMIT + 1, 0x41);
      const huge = Buffer.alloc(LIMIT * 8, 0x42);
      const file = (data: Buffer): Part => ({ name: 'FileInput', filename: 'a.webm', data });
      for (const [what, parts] of [
        ['fields first', [...ident, file(big)]],
        ['fields last', [file(big), ...ident]],
        ['no fields', [file(huge)]],
        ['fields first, 8x', [...ident, file(huge)]],
      ] as [string, Part[]][]) {
        const res = await postMultipart(`${srv.url}/upload`, parts);
        await expectNothingKept(res, 413, what, 0);
      }
      const api = await postMultipart(`${srv.url}/video`,
        [{ name: 'env_id', value: '1' }, { name: 'file', filename: 'a.webm', data: big }],
        { 'x-pipe-auth': acct.api_key });
      await expectNothingKept(api, 413, 'POST /video', 0);
    });

  it('takes a file of exactly the limit', async () => {
    const res = await postMultipart(`${srv.url}/upload`,
      [...ident, { name: 'FileInput', filename: 'a.webm', data: Buffer.alloc(LIMIT, 0x43) }]);
    expect(res.status, res.text).toBe(201);
    const id = String((res.json.videos as { id: string }[])[0]?.id);
    expect((await srv.api(acct.api_key, 'DELETE', `/video/${id}`)).status).toBe(200);
    expect(await storedFiles(srv)).toEqual([]);
  });

  it('refuses an empty file, two files and no file, keeping nothing', async () => {
    const before = await recordingCount();
    const one = (data: Buffer, name = 'a.webm'): Part =>
      ({ name: 'FileInput', filename: name, data });
    const empty = await postMultipart(`${srv.url}/upload`, [...ident, one(Buffer.alloc(0))]);
    await expectNothingKept(empty, 400, 'empty file', before);

    const cases: [string, Part[]][] = [
      ['two files', [...ident, one(Buffer.alloc(500, 1)), one(Buffer.alloc(500, 2), 'b.webm')]],
      ['two files, fields last', [one(Buffer.alloc(500, 1)), one(Buffer.alloc(500, 2)),
        ...ident]],
      ['file under another name too', [...ident, one(Buffer.alloc(500, 1)),
        { name: 'Other', filename: 'x.webm', data: Buffer.alloc(500, 2) }]],
      ['file under another name only', [...ident,
        { name: 'Other', filename: 'x.webm', data: Buffer.alloc(500, 2) }]],
    ];
    for (const [what, parts] of cases) {
      const res = await postMultipart(`${srv.url}/upload`, parts);
      expect(res.status, `${what}: ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${what}: ${res.text}`).toBeLessThan(500);
      await sleep(100);
      expect(await storedFiles(srv), what).toEqual([]);
      expect(await recordingCount(), what).toBe(before);
    }
    const none = await postMultipart(`${srv.url}/upload`, ident);
    await expectNothingKept(none, 400, 'no file', before);
    const notMultipart = await fetch(`${srv.url}/upload`, { method: 'POST',
      headers: { 'content-type': 'application/json' }, body: '{"FileInput":"x"}' });
    expect(notMultipart.status).toBe(415);
  });

  it('refuses an unknown account or environment without storing the file', async () => {
    const before = await recordingCount();
    const file: Part = { name: 'FileInput', filename: 'a.webm', data: Buffer.alloc(2000, 5) };
    const wrong: [string, Part[]][] = [
      ['unknown hash', [{ name: 'accountHash', value: 'f'.repeat(32) },
        { name: 'eid', value: acct.environment.env_code }, file]],
      ['unknown code, fields last', [file, { name: 'accountHash', value: acct.account_hash },
        { name: 'eid', value: 'nope42' }]],
      ['hash with a path', [{ name: 'accountHash', value: '../../etc' },
        { name: 'eid', value: acct.environment.env_code }, file]],
      ['code with a path', [{ name: 'accountHash', value: acct.account_hash },
        { name: 'eid', value: '../1' }, file]],
      ['unknown field', [...ident, { name: 'evil', value: 'x' }, file]],
      ['payload over 500', [...ident, { name: 'payload', value: 'p'.repeat(501) }, file]],
      ['mrt not a number', [...ident, { name: 'mrt', value: 'ten' }, file]],
    ];
    for (const [what, parts] of wrong) {
      const res = await postMultipart(`${srv.url}/upload`, parts);
      expect([400, 404], `${what}: ${res.text}`).toContain(res.status);
      await sleep(50);
      expect(await storedFiles(srv), what).toEqual([]);
      expect(await recordingCount(), what).toBe(before);
    }
  });

  it('keeps no partial file when the client disconnects halfway', async () => {
    const before = await recordingCount();
    const head = (pathname: string, extra = '') =>
      `POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
      'Content-Length: 60000\r\n\r\n';
    const partial = (parts: Part[], cut: number) => multipartBody(parts).subarray(0, cut);
    const file = (name: string): Part =>
      ({ name, filename: 'a.webm', data: Buffer.alloc(40_000, 7) });
    const cases: [string, string, Buffer][] = [
      ['fields first', head('/upload'), partial([...ident, file('FileInput')], 20_000)],
      ['fields last', head('/upload'), partial([file('FileInput'), ...ident], 20_000)],
      ['API upload', head('/video', `X-PIPE-AUTH: ${acct.api_key}\r\n`),
        partial([{ name: 'env_id', value: '1' }, file('file')], 20_000)],
      ['inside the part headers', head('/upload'), partial([...ident, file('FileInput')], 300)],
    ];
    for (const [what, start, body] of cases) {
      const socket = await openRawRequest(srv.url, start, body);
      // The bytes sent so far have reached a temporary file.
      await sleep(200);
      socket.destroy();
      await eventually(async () =>
        ((await storedFiles(srv)).length === 0 ? true : undefined), 5000, `cleanup (${what})`);
      expect(await recordingCount(), what).toBe(before);
    }
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
  });

  it('stores hostile file names under names of its own, inside its own folder', async () => {
    const names = ['../../../../../../tmp/standpipe-escape.webm', '..\\..\\evil.webm',
      '/etc/passwd', 'a"b.webm', "a'b.webm", 'a\r\nContent-Type: text/html\r\n\r\nx.webm',
      'nul\u0000.webm', 'x'.repeat(5000), `${'y'.repeat(300)}.webm`, 'ünï😀.webm', '.webm',
      'a.webm.php', 'a.m3u8', 'a.txt', 'a.concat', 'a.ffconcat', 'a.sdp', '%2e%2e%2fx.webm',
      'CON', 'a;rm -rf ~.webm', '$(touch pwned).webm', '-i.webm', 'file:..%2fx.webm'];
    const before = await recordingCount();
    let accepted = 0;
    for (const filename of names) {
      const body = multipartBody([...ident,
        { name: 'FileInput', filename, data: Buffer.alloc(1000, 9) }]);
      const res = await fetch(`${srv.url}/upload`, { method: 'POST', body,
        headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } });
      const text = await res.text();
      expect(res.status, `${JSON.stringify(filename.slice(0, 40))}: ${text}`).toBeLessThan(500);
      if (res.status === 201) {
        accepted += 1;
        const video = (JSON.parse(text) as { videos: Record<string, string>[] }).videos[0];
        expect(video?.name).toMatch(/^vs\d+_[a-z0-9]{10}$/);
        expect(video?.original_container ?? '').toMatch(/^[a-z0-9]{1,5}$/);
      }
    }
    expect(accepted).toBeGreaterThan(0);
    expect(await recordingCount()).toBe(before + accepted);
    const stored = await filesUnder(path.join(srv.dataDir, 'media'));
    expect(stored).toHaveLength(accepted);
    for (const file of stored) expect(file).toMatch(STORED_NAME);
    // The data directory holds only what the server itself creates.
    const top = (await readdir(srv.dataDir)).filter((n) => !n.startsWith('standpipe.db'));
    expect(top.sort()).toEqual(['media', 'secret.key', 'uploads', 'work']);
    expect(await filesUnder(path.join(srv.dataDir, 'uploads'))).toEqual([]);
    await expect(readFile('/tmp/standpipe-escape.webm')).rejects.toThrow();
  });
});

describe.each(DIALECTS)('text fields of an upload (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: false });
    acct = await srv.account();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('keeps the client address from the socket, not from X-Forwarded-For', async () => {
    const res = await uploadFile(srv.url,
      { accountHash: acct.account_hash, eid: acct.environment.env_code },
      { name: 'a.webm', data: Buffer.alloc(500, 1) },
      { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.9' });
    expect(res.status, res.text).toBe(201);
    // 127.0.0.1 as the seed's unsigned integer.
    expect((res.json.videos as { ipv4: string }[])[0]?.ipv4).toBe('2130706433');
  });

  it('takes Unicode and markup in text fields and gives them back unchanged', async () => {
    const values = { payload: '{"a":"<b>ü😀</b>","q":"\'; drop table recordings; --"}',
      cameraName: 'Caméra \u202e «front»', micName: 'Micro <script>x</script>' };
    const res = await uploadFile(srv.url,
      { accountHash: acct.account_hash, eid: acct.environment.env_code, ...values },
      { name: 'a.webm', data: Buffer.alloc(500, 1) });
    expect(res.status, res.text).toBe(201);
    const id = String((res.json.videos as { id: string }[])[0]?.id);
    const read = await srv.api(acct.api_key, 'GET', `/video/${id}`);
    const video = (read.json.videos as Record<string, string>[])[0];
    expect(video?.payload).toBe(values.payload);
    expect(video?.camera_name).toBe(values.cameraName);
    expect(video?.microphone_name).toBe(values.micName);
  });

  // Text fields of a multipart upload are not checked for control characters (unlike the
  // JSON fields, see textRule), and PostgreSQL cannot store U+0000 in a text column: the
  // INSERT in createRecording (src/services/ingest.ts) fails and /upload, which needs no key,
  // answers 500. SQLite stores the NUL, so the two databases also disagree.
  it(
    'answers a NUL in a text field with a 4xx, or stores it, but never with a 500', async () => {
      for (const field of ['payload', 'cameraName', 'micName', 'camera_name']) {
        const res = await uploadFile(srv.url,
          { accountHash: acct.account_hash, eid: acct.environment.env_code,
            [field]: 'a\u0000b' },
          { name: 'a.webm', data: Buffer.alloc(500, 1) });
        expect(res.status, `${field}: ${res.text}`).toBeLessThan(500);
      }
      const api = await postMultipart(`${srv.url}/video`,
        [{ name: 'payload', value: 'a\u0000b' },
          { name: 'file', filename: 'a.webm', data: Buffer.alloc(500, 1) }],
        { 'x-pipe-auth': acct.api_key });
      expect(api.status, `POST /video: ${api.text}`).toBeLessThan(500);
    });
});

describe.each(DIALECTS)('playlists and references in uploads (%s)', (dialect) => {
  let srv: TestServer;
  let attacker: NewAccountResult;
  let victim: NewAccountResult;
  let receiver: Receiver;
  /** Absolute paths of the victim's stored files. */
  let victimFiles: string[];

  beforeAll(async () => {
    // Loopback is allowed, as in development: only the media tools must stay off it.
    srv = await startTestServer(dialect);
    receiver = await startReceiver();
    attacker = await srv.account('Attacker');
    victim = await srv.account('Victim');
    const up = await uploadFile(srv.url,
      { accountHash: victim.account_hash, eid: victim.environment.env_code },
      { name: 'clip.webm', data: await readFile(CHROMIUM_WEBM) });
    expect(up.status, up.text).toBe(201);
    const id = String((up.json.videos as { id: string }[])[0]?.id);
    await eventually(async () => {
      const res = await srv.api(victim.api_key, 'GET', `/video/${id}`);
      const v = (res.json.videos as { conversion_status: string }[] | undefined)?.[0];
      return v?.conversion_status === 'converted' ? v : undefined;
    }, 60_000, 'the victim\'s conversion');
    victimFiles = await filesUnder(path.join(srv.dataDir, 'media', victim.account_hash));
    expect(victimFiles.some((f) => f.endsWith('.mp4'))).toBe(true);
  });
  afterAll(async () => {
    await receiver?.close();
    await srv?.close();
  });

  function playlists(): [string, string][] {
    const mp4 = victimFiles.find((f) => f.endsWith('.mp4')) ?? '';
    const raw = victimFiles.find((f) => f.includes('_raw.')) ?? '';
    const relative = `../${victim.account_hash}/${path.basename(mp4)}`;
    const net = receiver.url('/segment.ts');
    const hls = (...segments: string[]) => ['#EXTM3U', '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:10', '#EXT-X-MEDIA-SEQUENCE:0',
      ...segments.flatMap((s) => ['#EXTINF:3.0,', s]), '#EXT-X-ENDLIST', ''].join('\n');
    const concat = (...files: string[]) =>
      ['ffconcat version 1.0', ...files.map((f) => `file '${f}'`), ''].join('\n');
    return [
      ['hls.m3u8', hls(mp4)],
      ['hls.webm', hls(mp4, raw)],
      ['hls-relative.mp4', hls(relative)],
      ['hls-file-url.m3u8', hls(`file://${mp4}`)],
      ['hls-net.m3u8', hls(net)],
      ['hls-net.webm', hls(net, `tcp://127.0.0.1:${receiver.port}`)],
      ['hls-passwd.txt', hls('/etc/passwd')],
      ['concat.txt', concat(mp4)],
      ['concat.ffconcat', concat(relative)],
      ['concat-net.webm', concat(net)],
      ['concat-subfile.webm', concat(`subfile,,start,0,end,0,,:${mp4}`)],
      ['list.concat', `concat:${mp4}|${raw}`],
      ['sdp.sdp', ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=x', `c=IN IP4 127.0.0.1`, 't=0 0',
        `m=video ${receiver.port} RTP/AVP 96`, 'a=rtpmap:96 H264/90000', ''].join('\n')],
      ['image2.webm', `${path.dirname(mp4)}/%d.jpg`],
    ];
  }

  it('fails every playlist upload without reading another file or the network', async () => {
    const ids: [string, string][] = [];
    for (const [filename, content] of playlists()) {
      const res = await uploadFile(srv.url,
        { accountHash: attacker.account_hash, eid: attacker.environment.env_code },
        { name: filename, data: Buffer.from(content) });
      // Refusing at once would do too; a recording must then fail its conversion.
      expect(res.status, `${filename}: ${res.text}`).toBeLessThan(500);
      if (res.status === 201) {
        ids.push([filename, String((res.json.videos as { id: string }[])[0]?.id)]);
      }
    }
    const finals = await eventually(async () => {
      const res = await srv.api(attacker.api_key, 'GET', '/video/all');
      const list = res.json.videos as Record<string, string | null>[];
      return list.length === ids.length &&
        list.every((v) => v.conversion_status !== 'recorded') ? list : undefined;
    }, 60_000, 'every playlist recording to be processed');

    for (const v of finals) {
      const what = ids.find(([, id]) => id === v.id)?.[0] ?? String(v.id);
      expect(v.conversion_status, what).toBe('failed');
      expect(v.has_mp4, what).toBe('0');
      expect(v.pipeS3Link, what).toBeNull();
      // The reason shown to the customer does not give away where the server keeps files.
      expect(v.failure_reason ?? '', what).not.toContain(srv.dataDir);
      expect(v.failure_reason ?? '', what).not.toContain(victim.account_hash);
    }
    expect(receiver.connections).toBe(0);
    const attackerFiles = await filesUnder(path.join(srv.dataDir, 'media', attacker.account_hash));
    expect(attackerFiles.filter((f) => !f.includes('_raw.'))).toEqual([]);
  }, 90_000);
});

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import {
  eventually, filesUnder, readResponse, startTestServer, uploadFile, DIALECTS,
} from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import { makeWebmClip } from '../helpers/media-fixtures.js';
import {
  SEED_VIDEO, expectError, expectOk, expectSameShape, shapeProblems,
} from '../helpers/seed-shapes.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) standpipe-contract-test/1.0';
const REFERER = 'https://site.example/test/page.php?x=1';

type Part = [name: string, value: string | { file: Buffer; name: string }];

/** A multipart upload with the parts in the order given (files may come first). */
async function postParts(baseUrl: string, parts: Part[]): Promise<ApiResponse> {
  const form = new FormData();
  for (const [name, value] of parts) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([new Uint8Array(value.file)]), value.name);
  }
  const res = await fetch(`${baseUrl}/upload`, { method: 'POST', body: form });
  return readResponse(res);
}

describe.each(DIALECTS)('recordings (%s)', (dialect) => {
  let srv: TestServer;
  let a: NewAccountResult;
  let b: NewAccountResult;
  let clip: Buffer;
  let clipDir: string;
  let video: Record<string, unknown>;
  const payload = `${'p'.repeat(490)},id=7&x"1`;

  const getVideo = (key: string, id: string) => srv.api(key, 'GET', `/video/${id}`);

  const listAll = async (key: string, path = '/video/all') => {
    const res = await srv.api(key, 'GET', path);
    const videos = expectOk(res, 'GET', 'videos');
    expect(res.json.total_videos).toBe(videos.length);
    return videos;
  };

  const upload = (account: NewAccountResult, fields: Record<string, string> = {},
    headers: Record<string, string> = {}) =>
    uploadFile(srv.url, {
      accountHash: account.account_hash, eid: account.environment.env_code, ...fields,
    }, { name: 'clip.webm', data: clip }, headers);

  const converted = (key: string, id: string) => eventually(async () => {
    const res = await getVideo(key, id);
    const v = res.json.videos as Record<string, unknown>[] | undefined;
    if (v?.[0]?.conversion_status === 'failed') throw new Error(`conversion failed: ${res.text}`);
    return v?.[0]?.converted === '1' ? res : undefined;
  }, 60_000, `recording ${id} converted`);

  beforeAll(async () => {
    clipDir = await mkdtemp(path.join(tmpdir(), 'standpipe-clip-'));
    clip = await makeWebmClip(clipDir);
    srv = await startTestServer(dialect);
    a = await srv.account();
    b = await srv.account();
  });

  afterAll(async () => {
    await srv?.close();
    await rm(clipDir, { recursive: true, force: true });
  });

  it('GET /video/all and GET /video list nothing for a new account', async () => {
    for (const p of ['/video/all', '/video']) {
      const res = await srv.api(a.api_key, 'GET', p);
      expect(expectOk(res, 'GET', 'videos')).toEqual([]);
      expect(res.json.total_videos).toBe(0);
      expect(res.text).toContain('"videos":[]');
    }
  });

  it('POST /upload takes a recording and answers with the video\'s keys', async () => {
    const res = await upload(a, {
      payload, camera_name: 'Integrated Camera (04f2:b6d9)', microphone_name: 'Default', mrt: '3',
    }, { 'user-agent': UA, referer: REFERER });
    const [created] = expectOk(res, 'POST', 'videos', 201);
    expect(res.json.total_videos).toBe(1);
    const keyProblems = shapeProblems(created, SEED_VIDEO)
      .filter((p) => /missing|not in the seed/.test(p));
    expect(keyProblems).toEqual([]);
    expect(created?.id).toMatch(/^[1-9]\d*$/);
    video = created ?? {};
  });

  it('GET /video/:id shows the converted recording with the seed\'s keys and types', async () => {
    const res = await converted(a.api_key, String(video.id));
    const videos = expectOk(res, 'GET', 'videos');
    expect(res.json.total_videos).toBe(1);
    expect(videos).toHaveLength(1);
    const v = videos[0] ?? {};
    expectSameShape(v, SEED_VIDEO);
    expect(v).toMatchObject({
      id: video.id,
      env_id: String(a.environment.env_id),
      name: video.name,
      converted: '1',
      has_mp4: '1',
      has_snapshot: '1',
      hasAudio: '1',
      audio_only: '0',
      width: '320',
      height: '240',
      orig_width: '320',
      orig_height: '240',
      original_container: 'webm',
      source: 'DESK',
      payload,
      mrt: '3',
      ipv4: '2130706433',
      ua: UA,
      http_referer: REFERER,
      camera_name: 'Integrated Camera (04f2:b6d9)',
      microphone_name: 'Default',
      date_anonymized: null,
      conversion_status: 'converted',
    });
    expect(Number(v.length)).toBeCloseTo(1, 0);
    video = v;
  });

  it('links to the MP4 and the snapshot without a scheme, and serves both', async () => {
    const mp4Link = String(video.pipeS3Link);
    const jpgLink = String(video.snapshotURL);
    const host = new URL(srv.url).host;
    for (const link of [mp4Link, jpgLink]) {
      expect(link).not.toMatch(/^[a-z][a-z0-9+.-]*:/i);
      expect(link.startsWith(`${host}/`)).toBe(true);
    }
    expect(mp4Link).toMatch(/\.mp4$/);
    expect(jpgLink).toMatch(/\.jpg$/);

    const mp4 = await fetch(`http://${mp4Link}`);
    expect(mp4.status).toBe(200);
    expect(mp4.headers.get('content-type')).toMatch(/^video\/mp4/);
    const bytes = Buffer.from(await mp4.arrayBuffer());
    expect(bytes.toString('latin1', 4, 8)).toBe('ftyp');
    expect(String(bytes.length)).toBe(video.size);
    expect(createHash('md5').update(bytes).digest('hex')).toBe(video.checksum_md5);
    expect(createHash('sha1').update(bytes).digest('hex')).toBe(video.checksum_sha1);

    const jpg = await fetch(`http://${jpgLink}`);
    expect(jpg.status).toBe(200);
    expect(jpg.headers.get('content-type')).toMatch(/^image\/jpeg/);
    const head = Buffer.from(await jpg.arrayBuffer()).subarray(0, 3);
    expect([...head]).toEqual([0xff, 0xd8, 0xff]);
  });

  it('GET /video/all and GET /video list it exactly as GET /video/:id shows it', async () => {
    for (const p of ['/video/all', '/video']) {
      const videos = await listAll(a.api_key, p);
      expect(videos).toHaveLength(1);
      for (const v of videos) expectSameShape(v, SEED_VIDEO);
      expect(videos[0]).toEqual(video);
    }
    expect(await listAll(b.api_key)).toEqual([]);
  });

  it('answers 404 for another account\'s recording exactly as for a missing id', async () => {
    const id = String(video.id);
    const missing = await getVideo(b.api_key, '987654321');
    expectError(missing, 404, 'GET');
    const other = await getVideo(b.api_key, id);
    expectError(other, 404, 'GET');
    expect(other.text).toBe(missing.text);
    for (const bad of ['0', 'abc', '-1', '1e3']) {
      expect((await getVideo(b.api_key, bad)).text).toBe(missing.text);
    }

    const delMissing = await srv.api(b.api_key, 'DELETE', '/video/987654321');
    const delOther = await srv.api(b.api_key, 'DELETE', `/video/${id}`);
    expectError(delOther, 404, 'DELETE');
    expect(delOther.text).toBe(delMissing.text);
    expectOk(await getVideo(a.api_key, id), 'GET', 'videos');
  });

  it('a recording without referer, device names or payload keeps the seed\'s types', async () => {
    const res = await uploadFile(srv.url, {
      accountHash: a.account_hash, eid: a.environment.env_code,
    }, { name: 'clip.webm', data: clip });
    const [created] = expectOk(res, 'POST', 'videos', 201);
    const done = await converted(a.api_key, String(created?.id));
    const [v] = expectOk(done, 'GET', 'videos');
    const problems = shapeProblems(v, SEED_VIDEO);
    // Known: fields the request did not carry come back null, not as strings (see below).
    const unsent = ['http_referer', 'camera_name', 'microphone_name'];
    expect(problems.filter((p) => !unsent.some((f) => p.startsWith(`${f}:`)))).toEqual([]);
    expect(v).toMatchObject({ payload: '', mrt: null, converted: '1' });
    const deleted = await srv.api(a.api_key, 'DELETE', `/video/${String(created?.id)}`);
    expectOk(deleted, 'DELETE', null);
  });

  it('fields the recorder did not send are strings, as in the seed', async () => {
    const res = await uploadFile(srv.url, {
      accountHash: a.account_hash, eid: a.environment.env_code,
    }, { name: 'clip.webm', data: clip });
    const [created] = expectOk(res, 'POST', 'videos', 201);
    const done = await converted(a.api_key, String(created?.id));
    const [v] = expectOk(done, 'GET', 'videos');
    await srv.api(a.api_key, 'DELETE', `/video/${String(created?.id)}`);
    expectSameShape(v, SEED_VIDEO);
  });

  it('DELETE /video/:id removes the recording, its listing and its files', async () => {
    const id = String(video.id);
    const before = await listAll(a.api_key);
    const res = await srv.api(a.api_key, 'DELETE', `/video/${id}`);
    expectOk(res, 'DELETE', null);

    const missing = await getVideo(a.api_key, '987654321');
    const gone = await getVideo(a.api_key, id);
    expectError(gone, 404, 'GET');
    expect(gone.text).toBe(missing.text);

    const after = await listAll(a.api_key);
    expect(after.map((v) => v.id)).not.toContain(id);
    expect(after).toHaveLength(before.length - 1);

    for (const link of [video.pipeS3Link, video.snapshotURL]) {
      const media = await fetch(`http://${String(link)}`);
      expect(media.status).toBe(404);
      await media.body?.cancel();
    }
    const again = await srv.api(a.api_key, 'DELETE', `/video/${id}`);
    expectError(again, 404, 'DELETE');
    const delMissing = await srv.api(a.api_key, 'DELETE', '/video/987654321');
    expect(again.text).toBe(delMissing.text);
  });

  describe('refused uploads leave nothing behind', () => {
    const file = (): { file: Buffer; name: string } => ({ file: clip, name: 'clip.webm' });
    const ids = (): Part[] => [
      ['accountHash', a.account_hash], ['eid', a.environment.env_code],
    ];
    const uploadsDir = () => path.join(srv.dataDir, 'uploads');
    const mediaDir = () => path.join(srv.dataDir, 'media');

    /** Posts `parts`, checks the error, and that no file, stored or temporary, is left. */
    const refused = async (parts: Part[], status: number | number[], pattern: RegExp) => {
      const uploadsBefore = await filesUnder(uploadsDir());
      const mediaBefore = await filesUnder(mediaDir());
      const listedA = await listAll(a.api_key);
      const listedB = await listAll(b.api_key);

      const res = await postParts(srv.url, parts);
      const statuses = Array.isArray(status) ? status : [status];
      expect(statuses, res.text).toContain(res.status);
      expect(expectError(res, res.status, 'POST')).toMatch(pattern);

      expect(await listAll(a.api_key)).toEqual(listedA);
      expect(await listAll(b.api_key)).toEqual(listedB);
      expect(await filesUnder(mediaDir())).toEqual(mediaBefore);
      expect(await filesUnder(uploadsDir())).toEqual(uploadsBefore);
      return res;
    };

    const wrongPair: [string, () => Part[]][] = [
      ['a wrong accountHash', () => [['accountHash', randomBytes(16).toString('hex')],
        ['eid', a.environment.env_code], ['FileInput', file()]]],
      ['a wrong eid', () => [['accountHash', a.account_hash], ['eid', 'zzzzzz'],
        ['FileInput', file()]]],
      ['another account\'s eid', () => [['accountHash', a.account_hash],
        ['eid', b.environment.env_code], ['FileInput', file()]]],
      ['another account\'s hash', () => [['accountHash', b.account_hash],
        ['eid', a.environment.env_code], ['FileInput', file()]]],
    ];

    it.each(wrongPair)('with %s: 404', async (_what, parts) => {
      await refused(parts(), 404, /./);
    });

    it('gives the same answer whichever half of the pair is wrong', async () => {
      const answers = new Set<string>();
      for (const [, parts] of wrongPair) answers.add((await postParts(srv.url, parts())).text);
      expect(answers.size).toBe(1);
    });

    const bad: [string, () => Part[], number | number[], RegExp][] = [
      ['a malformed accountHash', () => [['accountHash', '../../etc'],
        ['eid', a.environment.env_code], ['FileInput', file()]], 400, /accountHash/],
      ['a malformed eid', () => [['accountHash', a.account_hash], ['eid', 'a/../b'],
        ['FileInput', file()]], 400, /eid/],
      ['no FileInput', () => [...ids(), ['payload', 'x']], 400, /FileInput/],
      ['the file under another name', () => [...ids(), ['file', file()]], 400, /file/],
      ['an empty file', () => [...ids(), ['FileInput', { file: Buffer.alloc(0), name: 'e.webm' }]],
        400, /file|empty/],
      ['an unknown field', () => [...ids(), ['colour', 'red'], ['FileInput', file()]],
        400, /colour/],
      ['an unknown field after the file', () => [...ids(), ['FileInput', file()],
        ['colour', 'red']], 400, /colour/],
      ['an mrt that is not a number', () => [...ids(), ['FileInput', file()], ['mrt', 'x']],
        400, /mrt/],
      ['two files', () => [...ids(), ['FileInput', file()], ['FileInput', file()]],
        [400, 413], /./],
    ];

    it.each(bad)('with %s: 4xx naming the problem', async (_what, parts, status, pattern) => {
      await refused(parts(), status, pattern);
    });

    it('takes a payload of exactly 500 characters', async () => {
      const res = await postParts(srv.url, [...ids(), ['payload', 'y'.repeat(500)],
        ['FileInput', file()]]);
      const [v] = expectOk(res, 'POST', 'videos', 201);
      expect(v?.payload).toBe('y'.repeat(500));
      await converted(a.api_key, String(v?.id));
      expectOk(await srv.api(a.api_key, 'DELETE', `/video/${String(v?.id)}`), 'DELETE', null);
    });

    it('refuses a body that is not multipart', async () => {
      const before = await listAll(a.api_key);
      const res = await fetch(`${srv.url}/upload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountHash: a.account_hash, eid: a.environment.env_code }),
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.json()).toMatchObject({ status: 'ERROR', request_method: 'POST' });
      expect(await listAll(a.api_key)).toEqual(before);
    });

    // createRecording (src/services/ingest.ts) checks the payload length before its
    // try/finally, after readUpload has handed it the temporary file: the file stays behind.
    it('with a payload of 501 characters: 400, and no temporary file', async () => {
      await refused([...ids(), ['payload', 'x'.repeat(501)], ['FileInput', file()]], 400,
        /payload/);
    });

    it('with a payload of 501 characters after the file: 400, no file', async () => {
      await refused([...ids(), ['FileInput', file()], ['payload', 'x'.repeat(501)]], 400,
        /payload/);
    });

    // readUpload (src/http/routes/multipart.ts) resolves the target as soon as the file part
    // arrives, so accountHash and eid sent after the file are never read: always a 400.
    it('takes accountHash and eid sent after the file', async () => {
      const res = await postParts(srv.url, [['FileInput', file()], ...ids()]);
      const [v] = expectOk(res, 'POST', 'videos', 201);
      await converted(a.api_key, String(v?.id));
      await srv.api(a.api_key, 'DELETE', `/video/${String(v?.id)}`);
    });

    it('answers a wrong pair after the file as it does before it', async () => {
      const before = await postParts(srv.url, wrongPair[0]?.[1]() ?? []);
      const after = await refused([['FileInput', file()],
        ['accountHash', randomBytes(16).toString('hex')], ['eid', a.environment.env_code]],
      404, /./);
      expect(after.text).toBe(before.text);
    });
  });
});

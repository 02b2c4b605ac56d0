import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import { createUpload, interruptedPatch, patch, tus } from '../helpers/tus.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Over three of the server's write batches, and not a whole number of them. */
const SIZE = 3 * 1024 * 1024 + 12_345;

describe.each(DIALECTS)('SHA-256 of the original, taken as it arrives (%s)', (dialect) => {
  let t: TestServer;
  let acct: NewAccountResult;
  let data: Buffer;

  const meta = () => ({ accountHash: acct.account_hash, eid: acct.environment.env_code,
    filename: 'clip.bin' });
  const partFile = (url: string) =>
    path.join(t.dataDir, 'uploads', 'tus', `${url.slice(url.lastIndexOf('/') + 1)}.part`);

  /** The recording's JSON as GET /video/:id shows it. */
  const video = async (id: string | null) => {
    const res = await t.api(acct.api_key, 'GET', `/video/${id ?? ''}`);
    expect(res.status, res.text).toBe(200);
    return (res.json.videos as Record<string, string | null>[])[0] ?? {};
  };
  const stored = async (name: string | null | undefined) => {
    const res = await fetch(`${t.url}/media/${acct.account_hash}/${name ?? ''}_raw.bin`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  const finished = async (res: Response) => {
    expect(res.status).toBe(204);
    const v = await video(res.headers.get('standpipe-video-id'));
    expect(v.name).toBe(res.headers.get('standpipe-video-name'));
    return v;
  };

  beforeAll(async () => {
    t = await startTestServer(dialect, { workers: false });
    acct = await t.account();
    data = randomBytes(SIZE);
  });

  afterAll(async () => {
    await t.close();
  });

  it('keeps the SHA-256 of a multipart upload and shows it as original_sha256', async () => {
    const res: ApiResponse = await uploadFile(t.url,
      { accountHash: acct.account_hash, eid: acct.environment.env_code },
      { name: 'clip.bin', data });
    expect(res.status, res.text).toBe(201);
    const created = (res.json.videos as Record<string, string>[])[0] ?? {};
    expect(created.original_sha256).toBe(sha256(data));
    const v = await video(created.id ?? '');
    expect(v.original_sha256).toBe(sha256(data));
    expect(Object.keys(v).at(-1)).toBe('original_sha256');
    expect(sha256(await stored(v.name))).toBe(sha256(data));
  });

  it('keeps it for an upload with the API key (POST /video) too', async () => {
    const small = data.subarray(0, 70_001);
    const form = new FormData();
    form.append('env_id', '1');
    form.append('file', new Blob([new Uint8Array(small)]), 'clip.bin');
    const res = await fetch(`${t.url}/video`, { method: 'POST', body: form,
      headers: { 'x-pipe-auth': acct.api_key } });
    expect(res.status).toBe(201);
    const body = await res.json() as { videos: Record<string, string>[] };
    expect(body.videos[0]?.original_sha256).toBe(sha256(small));
  });

  it('keeps the SHA-256 of a tus upload sent in one PATCH', async () => {
    const { url } = await createUpload(t.url, data.length, meta());
    const v = await finished(await patch(url, 0, data));
    expect(v.original_sha256).toBe(sha256(data));
    expect(sha256(await stored(v.name))).toBe(sha256(data));
  });

  it('keeps the SHA-256 of a tus upload sent in several PATCHes of any size', async () => {
    const { url } = await createUpload(t.url, data.length, meta());
    const cuts = [0, 1, 65_537, 1024 * 1024, 2 * 1024 * 1024 + 3, data.length];
    let last: Response | null = null;
    for (let i = 0; i + 1 < cuts.length; i += 1) {
      last = await patch(url, cuts[i] ?? 0, data.subarray(cuts[i], cuts[i + 1]));
      expect(last.status).toBe(204);
      expect(last.headers.get('upload-offset')).toBe(String(cuts[i + 1]));
    }
    if (last === null) throw new Error('no PATCH sent');
    const v = await finished(last);
    expect(v.original_sha256).toBe(sha256(data));
  });

  it('keeps it across a dropped connection, resumed where the bytes stopped', async () => {
    const { url } = await createUpload(t.url, data.length, meta());
    const sent = 1024 * 1024 + 777;
    await interruptedPatch(url, 0, data.subarray(0, sent), data.length);
    const offset = await eventually(async () => {
      const n = Number((await tus(url, 'HEAD')).headers.get('upload-offset'));
      return n > 0 ? n : undefined;
    }, 10_000, 'saved bytes');
    expect(offset).toBe(sent);
    const v = await finished(await patch(url, offset, data.subarray(offset)));
    expect(v.original_sha256).toBe(sha256(data));
    expect(sha256(await stored(v.name))).toBe(sha256(data));
  });

  it('hashes the bytes as they arrive: the stored file is not read back for it', async () => {
    const { url } = await createUpload(t.url, data.length, meta());
    const half = Math.floor(data.length / 2);
    expect((await patch(url, 0, data.subarray(0, half))).status).toBe(204);
    // Bytes changed on disk behind the server's back are not what it received: a hash
    // taken by reading the file would show them, one taken on arrival does not.
    await overwrite(partFile(url), 0, Buffer.alloc(100));
    const v = await finished(await patch(url, half, data.subarray(half)));
    expect(v.original_sha256).toBe(sha256(data));
  });

  it('after a restart, hashes the stored bytes once, then the rest as it arrives', async () => {
    const { url } = await createUpload(t.url, data.length, meta());
    const half = Math.floor(data.length / 2);
    expect((await patch(url, 0, data.subarray(0, half))).status).toBe(204);
    await t.restart();
    const resumed = new URL(new URL(url).pathname, t.url).toString();
    expect((await tus(resumed, 'HEAD')).headers.get('upload-offset')).toBe(String(half));
    const v = await finished(await patch(resumed, half, data.subarray(half)));
    expect(v.original_sha256).toBe(sha256(data));
    expect(sha256(await stored(v.name))).toBe(sha256(data));
  });

  it('after a restart, the hash is of the bytes as the server stored them', async () => {
    const { url } = await createUpload(t.url, data.length, meta());
    const half = Math.floor(data.length / 2);
    expect((await patch(url, 0, data.subarray(0, half))).status).toBe(204);
    await t.restart();
    const changed = Buffer.from(data);
    changed.fill(0, 0, 100);
    await overwrite(partFile(url), 0, changed.subarray(0, 100));
    const resumed = new URL(new URL(url).pathname, t.url).toString();
    const v = await finished(await patch(resumed, half, data.subarray(half)));
    expect(v.original_sha256).toBe(sha256(changed));
  });
});

async function overwrite(file: string, position: number, bytes: Buffer): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, position);
  } finally {
    await handle.close();
  }
}

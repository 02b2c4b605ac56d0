import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BATCH_BYTES, hashFile, writeArriving } from '../../src/services/upload-sink.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A body in chunks of uneven sizes, as a socket hands them over. */
function chunks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i += 1) {
    const size = [65_536, 1, 30_000, 200_000][i % 4] ?? 1;
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

async function* failing(parts: Buffer[], error: Error): AsyncGenerator<Buffer> {
  yield* parts;
  throw error;
}

describe('writing an upload as it arrives', () => {
  let dir: string;
  const data = randomBytes(2 * BATCH_BYTES + 54_321);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-sink-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every byte at its place and hashes them in the same pass', async () => {
    const file = path.join(dir, 'whole');
    await writeFile(file, 'head:');
    const handle = await open(file, 'r+');
    const hash = createHash('sha256');
    const result = await writeArriving(Readable.from(chunks(data)), handle,
      { position: 5, room: data.length, hash, syncEvery: BATCH_BYTES }).finally(() =>
      handle.close());
    expect(result).toEqual({ written: data.length, overflow: false, cut: null });
    expect(hash.digest('hex')).toBe(sha256(data));
    const back = await readFile(file);
    expect(back.subarray(0, 5).toString()).toBe('head:');
    expect(back.subarray(5).equals(data)).toBe(true);
    expect(await hashFile(file)).toBe(sha256(back));
  });

  it('stops at the room it was given and says the body went past it', async () => {
    const file = path.join(dir, 'room');
    const handle = await open(file, 'w');
    const hash = createHash('sha256');
    const room = BATCH_BYTES + 3;
    const result = await writeArriving(Readable.from(chunks(data)), handle,
      { position: 0, room, hash }).finally(() => handle.close());
    expect(result).toMatchObject({ written: room, overflow: true, cut: null });
    expect(hash.digest('hex')).toBe(sha256(data.subarray(0, room)));
    expect((await readFile(file)).equals(data.subarray(0, room))).toBe(true);
  });

  it('keeps what arrived before the body failed, and says why it ended', async () => {
    const file = path.join(dir, 'cut');
    const handle = await open(file, 'w');
    const hash = createHash('sha256');
    const arrived = data.subarray(0, BATCH_BYTES + 100_000);
    const gone = new Error('connection reset');
    const result = await writeArriving(failing(chunks(arrived), gone), handle,
      { position: 0, room: data.length, hash }).finally(() => handle.close());
    expect(result).toEqual({ written: arrived.length, overflow: false, cut: gone });
    expect(hash.digest('hex')).toBe(sha256(arrived));
    expect((await readFile(file)).equals(arrived)).toBe(true);
  });

  it('throws when the file cannot be written', async () => {
    const file = path.join(dir, 'read-only');
    await writeFile(file, '');
    const handle = await open(file, 'r');
    const attempt = writeArriving(Readable.from(chunks(data)), handle,
      { position: 0, room: data.length, hash: null }).finally(() => handle.close());
    await expect(attempt).rejects.toMatchObject({ code: 'EBADF' });
  });
});

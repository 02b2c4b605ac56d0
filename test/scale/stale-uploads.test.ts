import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { removeStaleUploads } from '../../src/services/ingest.js';

describe('upload files left by a killed API process', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-stale-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are removed when they are old, and uploads still being written are not', async () => {
    const uploads = path.join(dir, 'uploads');
    await mkdir(path.join(uploads, 'tus'), { recursive: true });
    for (const name of ['old.part', 'fresh.part', 'old.txt', 'tus/old.part']) {
      await writeFile(path.join(uploads, name), 'bytes');
    }
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    for (const name of ['old.part', 'old.txt', 'tus/old.part']) {
      await utimes(path.join(uploads, name), twoHoursAgo, twoHoursAgo);
    }

    expect(await removeStaleUploads(dir)).toBe(1);
    expect((await readdir(uploads)).sort()).toEqual(['fresh.part', 'old.txt', 'tus']);
    // Resumable uploads keep their bytes between requests, under their own expiry.
    expect(await readdir(path.join(uploads, 'tus'))).toEqual(['old.part']);
    expect(await removeStaleUploads(path.join(dir, 'missing'))).toBe(0);
  });
});

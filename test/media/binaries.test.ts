import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { locateMediaBinaries } from '../../src/media/binaries.js';

const require = createRequire(import.meta.url);
const BUNDLED_FFMPEG = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const BUNDLED_FFPROBE = (require('@ffprobe-installer/ffprobe') as { path: string }).path;

let root: string;
let fakeDir: string;
let emptyDir: string;
let onlyFfmpegDir: string;

async function fakeTool(dir: string, name: string, firstLine: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `#!/bin/sh\necho '${firstLine}'\necho 'second line'\n`);
  await chmod(file, 0o755);
  return file;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'standpipe-bins-'));
  fakeDir = join(root, 'fake');
  emptyDir = join(root, 'empty');
  onlyFfmpegDir = join(root, 'only-ffmpeg');
  await Promise.all([fakeDir, emptyDir, onlyFfmpegDir].map((d) => mkdir(d)));
  await fakeTool(fakeDir, 'ffmpeg', 'ffmpeg version 99.9-fake');
  await fakeTool(fakeDir, 'ffprobe', 'ffprobe version 99.9-fake');
  await symlink('/usr/bin/ffmpeg', join(onlyFfmpegDir, 'ffmpeg'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('locateMediaBinaries', () => {
  it('prefers STANDPIPE_FFMPEG and STANDPIPE_FFPROBE over everything else', () => {
    const bins = locateMediaBinaries({
      PATH: fakeDir,
      STANDPIPE_FFMPEG: BUNDLED_FFMPEG,
      STANDPIPE_FFPROBE: BUNDLED_FFPROBE,
    });
    expect(bins).toMatchObject({
      ffmpeg: BUNDLED_FFMPEG, ffprobe: BUNDLED_FFPROBE, source: 'env',
    });
    expect(bins.version).toMatch(/^ffmpeg version /);
  });

  it('takes the ffprobe next to STANDPIPE_FFMPEG when STANDPIPE_FFPROBE is unset', () => {
    const env = { PATH: emptyDir, STANDPIPE_FFMPEG: join(fakeDir, 'ffmpeg') };
    const bins = locateMediaBinaries(env);
    expect(bins).toEqual({
      ffmpeg: join(fakeDir, 'ffmpeg'),
      ffprobe: join(fakeDir, 'ffprobe'),
      source: 'env',
      version: 'ffmpeg version 99.9-fake',
    });
  });

  it('resolves a bare STANDPIPE_FFMPEG name through PATH', () => {
    const bins = locateMediaBinaries({ PATH: fakeDir, STANDPIPE_FFMPEG: 'ffmpeg' });
    expect(bins.ffmpeg).toBe(join(fakeDir, 'ffmpeg'));
    expect(bins.source).toBe('env');
  });

  it('fails loudly on a STANDPIPE_FFMPEG that does not exist instead of falling back', () => {
    expect(() => locateMediaBinaries({ PATH: '/usr/bin', STANDPIPE_FFMPEG: join(root, 'nope') }))
      .toThrow(/STANDPIPE_FFMPEG=.*nope/);
  });

  it('fails on a STANDPIPE_FFMPEG with no ffprobe beside it and none named', () => {
    const env = { PATH: '', STANDPIPE_FFMPEG: join(onlyFfmpegDir, 'ffmpeg') };
    expect(() => locateMediaBinaries(env)).toThrow(/STANDPIPE_FFPROBE/);
  });

  it('uses the system ffmpeg and ffprobe found on PATH next', () => {
    const bins = locateMediaBinaries({ PATH: `${emptyDir}:${fakeDir}:/usr/bin` });
    expect(bins).toEqual({
      ffmpeg: join(fakeDir, 'ffmpeg'),
      ffprobe: join(fakeDir, 'ffprobe'),
      source: 'system',
      version: 'ffmpeg version 99.9-fake',
    });
  });

  it('reports the first line of the real ffmpeg -version', () => {
    const bins = locateMediaBinaries({ PATH: '/usr/bin' });
    expect(bins.source).toBe('system');
    expect(bins.ffmpeg).toBe('/usr/bin/ffmpeg');
    expect(bins.ffprobe).toBe('/usr/bin/ffprobe');
    expect(bins.version).toMatch(/^ffmpeg version \S+/);
    expect(bins.version).not.toContain('\n');
  });

  it('falls back to the bundled builds when PATH has no ffmpeg', () => {
    const bins = locateMediaBinaries({ PATH: emptyDir });
    expect(bins).toMatchObject({ ffmpeg: BUNDLED_FFMPEG, ffprobe: BUNDLED_FFPROBE });
    expect(bins.source).toBe('bundled');
    expect(bins.version).toMatch(/^ffmpeg version /);
  });

  it('needs both tools on PATH: ffmpeg alone falls through to the bundled pair', () => {
    const bins = locateMediaBinaries({ PATH: onlyFfmpegDir });
    expect(bins.source).toBe('bundled');
  });

  it('skips a PATH ffmpeg that does not run', async () => {
    const broken = join(root, 'broken');
    await mkdir(broken);
    await fakeTool(broken, 'ffprobe', 'ffprobe version 1');
    await writeFile(join(broken, 'ffmpeg'), '#!/bin/sh\nexit 3\n');
    await chmod(join(broken, 'ffmpeg'), 0o755);
    expect(locateMediaBinaries({ PATH: broken }).source).toBe('bundled');
  });
});

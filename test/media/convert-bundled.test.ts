import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { locateMediaBinaries } from '../../src/media/binaries.js';
import type { MediaBinaries } from '../../src/media/binaries.js';
import { convertRecording } from '../../src/media/convert.js';
import {
  expectOutputMatchesFfprobe, ffprobeJson, firstFrameRgb, makeMediaFixtures, rawRotation,
  rawStream,
} from '../helpers/media-fixtures.js';
import type { MediaFixtures } from '../helpers/media-fixtures.js';

// The builds a fresh machine gets from npm: an ffmpeg from 2018 (4.x) and a newer ffprobe.
const require = createRequire(import.meta.url);
const BUNDLED_FFMPEG = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const BUNDLED_FFPROBE = (require('@ffprobe-installer/ffprobe') as { path: string }).path;

let root: string;
let fx: MediaFixtures;
let bundled: MediaBinaries;
let system: MediaBinaries;

beforeAll(async () => {
  bundled = locateMediaBinaries({
    PATH: process.env.PATH,
    STANDPIPE_FFMPEG: BUNDLED_FFMPEG,
    STANDPIPE_FFPROBE: BUNDLED_FFPROBE,
  });
  system = locateMediaBinaries({ PATH: '/usr/bin' });
  root = await mkdtemp(join(tmpdir(), 'standpipe-bundled-'));
  fx = await makeMediaFixtures(join(root, 'fx'), bundled);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('convertRecording with the bundled ffmpeg 4.x', () => {
  it('is the old build, picked from the environment', () => {
    expect(bundled).toMatchObject({ ffmpeg: BUNDLED_FFMPEG, ffprobe: BUNDLED_FFPROBE,
      source: 'env' });
    expect(bundled.version).toMatch(/^ffmpeg version N-4\d{4}-/);
  });

  it('turns the rotated MOV upright with no rotation left', async () => {
    const rawIn = await ffprobeJson(bundled.ffprobe, fx.rotatedMov);
    expect(rawRotation(rawStream(rawIn, 'video'))).toBe(-90);

    const r = await convertRecording(bundled, fx.rotatedMov, join(root, 'out'), 'phone');
    const raw = await expectOutputMatchesFfprobe(r, bundled.ffprobe);
    const v = rawStream(raw, 'video');
    expect([v?.width, v?.height]).toEqual([360, 640]);
    expect(r.input.video?.rotation).toBe(90);
    expect(r.remuxed).toBe(false);
    const seenBySystem = await ffprobeJson(system.ffprobe, r.mp4Path);
    expect(rawRotation(rawStream(seenBySystem, 'video'))).toBe(0);

    const rgb = await firstFrameRgb(system.ffmpeg, r.mp4Path, 9, 16);
    expect(rgb[3]).toBeGreaterThan(200);
    expect(rgb[(15 * 9 + 1) * 3]).toBeLessThan(60);
  });

  it('converts browser WebM and remuxes H.264/AAC', async () => {
    const webm = await convertRecording(bundled, fx.chromiumWebm, join(root, 'out'), 'web');
    await expectOutputMatchesFfprobe(webm, bundled.ffprobe);
    expect(webm.durationSec).toBeGreaterThan(2.7);
    expect(webm.durationSec).toBeLessThan(3.3);

    const same = await convertRecording(bundled, fx.uprightH264Aac, join(root, 'out'), 'same');
    await expectOutputMatchesFfprobe(same, bundled.ffprobe);
    expect(same.remuxed).toBe(true);

    const voice = await convertRecording(bundled, fx.audioOnly, join(root, 'out'), 'voice');
    await expectOutputMatchesFfprobe(voice, bundled.ffprobe);
    expect(voice.audioOnly).toBe(true);
  });
});

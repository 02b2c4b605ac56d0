import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AppError } from '../../src/lib/errors.js';
import { locateMediaBinaries } from '../../src/media/binaries.js';
import type { MediaBinaries } from '../../src/media/binaries.js';
import {
  FILMSTRIP_FRAMES, FILMSTRIP_HEIGHT, FILMSTRIP_MAX_FRAME_WIDTH, convertRecording, filmstripFrame,
} from '../../src/media/convert.js';
import {
  expectOutputMatchesFfprobe, ffprobeJson, firstFrameRgb, makeMediaFixtures, rawRotation,
  rawStream, topLevelBoxes,
} from '../helpers/media-fixtures.js';
import type { MediaFixtures } from '../helpers/media-fixtures.js';

const run = promisify(execFile);

let root: string;
let fx: MediaFixtures;
let bins: MediaBinaries;
let outCount = 0;

beforeAll(async () => {
  bins = locateMediaBinaries();
  root = await mkdtemp(join(tmpdir(), 'standpipe-convert-'));
  fx = await makeMediaFixtures(join(root, 'fx'), bins);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh output directory per conversion, so leftovers are easy to see. */
function outDir(): string {
  outCount += 1;
  return join(root, `out-${outCount}`);
}

async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).sort();
}

/** Packet checksums of every stream, which stream copy keeps and re-encoding changes. */
async function packetHashes(file: string): Promise<string[]> {
  const { stdout } = await run(bins.ffmpeg, ['-v', 'error', '-i', file, '-map', '0', '-c', 'copy',
    '-f', 'framemd5', 'pipe:1']);
  return stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(',').slice(-1)[0]?.trim() ?? '');
}

describe('convertRecording', () => {
  it('encodes browser WebM and finds its true duration though the header has none', async () => {
    const rawIn = await ffprobeJson(bins.ffprobe, fx.chromiumWebm);
    expect(rawIn.format.duration).toBeUndefined();
    const vIn = rawStream(rawIn, 'video');

    const dir = outDir();
    const r = await convertRecording(bins, fx.chromiumWebm, dir, 'rec1');
    const raw = await expectOutputMatchesFfprobe(r, bins.ffprobe);

    expect(r.remuxed).toBe(false);
    expect(r.input.durationSec).toBeNull();
    expect(r.input.container).toBe('webm');
    expect(r.input.video?.codec).toBe(vIn?.codec_name);
    expect(r.input.audio?.codec).toBe(rawStream(rawIn, 'audio')?.codec_name);
    expect(Number(raw.format.duration)).toBeGreaterThan(2.7);
    expect(Number(raw.format.duration)).toBeLessThan(3.3);
    expect([r.width, r.height]).toEqual([vIn?.width, vIn?.height]);
    expect(r.hasAudio).toBe(true);
    expect(r.mp4Path).toBe(join(dir, 'rec1.mp4'));
    expect(r.snapshotPath).toBe(join(dir, 'rec1.jpg'));
    expect(await filesIn(dir)).toEqual(['rec1.jpg', 'rec1.mp4']);
  });

  it('turns a rotated phone MOV upright and leaves no rotation in the output', async () => {
    const rawIn = await ffprobeJson(bins.ffprobe, fx.rotatedMov);
    const vIn = rawStream(rawIn, 'video');
    expect(rawRotation(vIn)).toBe(-90);

    const r = await convertRecording(bins, fx.rotatedMov, outDir(), 'phone');
    const raw = await expectOutputMatchesFfprobe(r, bins.ffprobe);
    const vOut = rawStream(raw, 'video');

    expect(r.remuxed).toBe(false);
    expect(r.input.video?.rotation).toBe(90);
    expect([r.input.video?.width, r.input.video?.height]).toEqual([vIn?.width, vIn?.height]);
    expect([vOut?.width, vOut?.height]).toEqual([vIn?.height, vIn?.width]);
    expect(r.height).toBeGreaterThan(r.width);
    expect(rawRotation(vOut)).toBe(0);
    expect(r.durationSec).toBeCloseTo(Number(rawIn.format.duration), 1);

    // testsrc2's red bar is on the left; turned clockwise it must end up on top.
    const rgb = await firstFrameRgb(bins.ffmpeg, r.mp4Path, 9, 16);
    const pixel = (x: number, y: number): number[] => [...rgb.subarray((y * 9 + x) * 3,
      (y * 9 + x) * 3 + 3)];
    const top = pixel(1, 0);
    const bottom = pixel(1, 15);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[1]).toBeLessThan(60);
    expect(bottom[0]).toBeLessThan(60);
  });

  it('keeps an MP4 without audio silent', async () => {
    const rawIn = await ffprobeJson(bins.ffprobe, fx.mp4NoAudio);
    expect(rawStream(rawIn, 'audio')).toBeUndefined();

    const r = await convertRecording(bins, fx.mp4NoAudio, outDir(), 'mute');
    const raw = await expectOutputMatchesFfprobe(r, bins.ffprobe);
    expect(rawStream(raw, 'audio')).toBeUndefined();
    expect(r).toMatchObject({ hasAudio: false, audioCodec: null, audioOnly: false });
    expect(r.input.audio).toBeNull();
  });

  it('makes an audio-only MP4 without snapshot from audio-only input', async () => {
    const rawIn = await ffprobeJson(bins.ffprobe, fx.audioOnly);
    const dir = outDir();
    const r = await convertRecording(bins, fx.audioOnly, dir, 'voice');
    const raw = await expectOutputMatchesFfprobe(r, bins.ffprobe);

    expect(rawStream(raw, 'video')).toBeUndefined();
    expect(r).toMatchObject({ audioOnly: true, hasAudio: true, snapshotPath: null, width: 0,
      height: 0, videoCodec: null, audioCodec: 'aac', remuxed: false });
    expect(r.input.audio?.codec).toBe(rawStream(rawIn, 'audio')?.codec_name);
    expect(r.durationSec).toBeCloseTo(Number(rawIn.format.duration), 1);
    expect(await filesIn(dir)).toEqual(['voice.mp4']);
  });

  it('keeps only the audio when asked, copying AAC as it is', async () => {
    const r = await convertRecording(bins, fx.uprightH264Aac, outDir(), 'a', { audioOnly: true });
    const raw = await expectOutputMatchesFfprobe(r, bins.ffprobe);
    expect(rawStream(raw, 'video')).toBeUndefined();
    expect(r).toMatchObject({ audioOnly: true, snapshotPath: null, remuxed: true });
  });

  it('remuxes upright H.264/AAC without re-encoding, and moves moov first', async () => {
    const rawIn = await ffprobeJson(bins.ffprobe, fx.uprightH264Aac);
    const inBoxes = await topLevelBoxes(fx.uprightH264Aac);
    expect(inBoxes.indexOf('mdat')).toBeLessThan(inBoxes.indexOf('moov'));

    const r = await convertRecording(bins, fx.uprightH264Aac, outDir(), 'same');
    const raw = await expectOutputMatchesFfprobe(r, bins.ffprobe);
    expect(r.remuxed).toBe(true);
    expect(raw.streams.map((s) => s.codec_name)).toEqual(rawIn.streams.map((s) => s.codec_name));
    expect(await packetHashes(r.mp4Path)).toEqual(await packetHashes(fx.uprightH264Aac));
    expect(r.input.container).toBe('mp4');
  });

  it('gives a remuxed copy its own duration, not that of streams it leaves out', async () => {
    // A second audio track ten times longer than the picture: the copy keeps the first only.
    const input = join(root, 'two-audio.mp4');
    await run(bins.ffmpeg, ['-nostdin', '-v', 'error', '-y', '-i', fx.uprightH264Aac,
      '-f', 'lavfi', '-i', 'sine=frequency=880:duration=20', '-map', '0:v', '-map', '0:a',
      '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', input]);
    expect((await ffprobeJson(bins.ffprobe, input)).streams).toHaveLength(3);

    const dir = outDir();
    const r = await convertRecording(bins, input, dir, 'two-audio');
    const raw = await expectOutputMatchesFfprobe(r, bins.ffprobe);
    expect(r.remuxed).toBe(true);
    expect(raw.streams).toHaveLength(2);
    expect(r.durationSec).toBeLessThan(15);
    expect(await filesIn(dir)).toEqual(['two-audio.jpg', 'two-audio.mp4']);
  });

  it('gives a remuxed copy of an input cut short the duration of what was copied', async () => {
    // moov first, then the media data cut at 60%: the input's header still says the whole.
    const whole = join(root, 'faststart.mp4');
    await run(bins.ffmpeg, ['-nostdin', '-v', 'error', '-y', '-i', fx.uprightH264Aac,
      '-c', 'copy', '-movflags', '+faststart', whole]);
    const bytes = await readFile(whole);
    const cut = join(root, 'cut-short.mp4');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));

    const r = await convertRecording(bins, cut, outDir(), 'cut-short');
    const raw = await expectOutputMatchesFfprobe(r, bins.ffprobe);
    expect(r.remuxed).toBe(true);
    expect(Number(raw.format.duration)).toBeCloseTo(r.durationSec, 2);
    const inputSec = Number((await ffprobeJson(bins.ffprobe, cut)).format.duration);
    expect(r.durationSec).toBeLessThan(inputSec - 0.2);
  });

  it('re-encodes H.264 that is not yuv420p and rounds odd sizes down to even', async () => {
    const odd = join(root, 'odd-444.mp4');
    await run(bins.ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i',
      'testsrc=size=321x241:rate=25:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast',
      '-pix_fmt', 'yuv444p', odd]);
    const vIn = rawStream(await ffprobeJson(bins.ffprobe, odd), 'video');
    expect([vIn?.codec_name, vIn?.pix_fmt, vIn?.width, vIn?.height])
      .toEqual(['h264', 'yuv444p', 321, 241]);

    const r = await convertRecording(bins, odd, outDir(), 'odd');
    await expectOutputMatchesFfprobe(r, bins.ffprobe);
    expect(r.remuxed).toBe(false);
    expect([r.width, r.height]).toEqual([320, 240]);
    expect(r.durationSec).toBeCloseTo(1, 1);
  });

  it.each([['webm10s640'], ['uprightH264Aac'], ['rotatedMov']] as const)(
    'makes a filmstrip when asked: %s', async (k) => {
      const dir = outDir();
      const r = await convertRecording(bins, fx[k], dir, 'strip', { filmstrip: true });
      expect(r.filmstripPath).toBe(join(dir, 'strip_filmstrip.jpg'));
      expect(await filesIn(dir)).toEqual(['strip.jpg', 'strip.mp4', 'strip_filmstrip.jpg']);
      const raw = await ffprobeJson(bins.ffprobe, r.filmstripPath ?? '');
      const image = rawStream(raw, 'video');
      expect(image?.codec_name).toBe('mjpeg');
      expect(image?.height).toBe(FILMSTRIP_HEIGHT);
      // Ten upright frames of the output's shape, side by side (widths are kept even).
      const frame = 2 * Math.round(r.width * FILMSTRIP_HEIGHT / r.height / 2);
      expect(image?.width).toBe(FILMSTRIP_FRAMES * frame);
      expect(await blackTiles(r.filmstripPath ?? '')).toEqual([]);
    });

  /** The tiles of a filmstrip that are black: each tile shrunk to one pixel. */
  const blackTiles = async (strip: string) => {
    const rgb = await firstFrameRgb(bins.ffmpeg, strip, FILMSTRIP_FRAMES, 1);
    return [...Array(FILMSTRIP_FRAMES).keys()]
      .filter((i) => (rgb[i * 3] ?? 0) + (rgb[i * 3 + 1] ?? 0) + (rgb[i * 3 + 2] ?? 0) < 30);
  };

  const clip = async (name: string, args: string[]) => {
    const file = join(root, name);
    await run(bins.ffmpeg, ['-v', 'error', '-y', ...args, file]);
    return file;
  };

  it('bounds the frames of a very wide video, and fills the strip from its video alone',
    async () => {
      const wide = await clip('wide.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=7300x100:d=1',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
      const r = await convertRecording(bins, wide, outDir(), 'wide', { filmstrip: true });
      const image = rawStream(await ffprobeJson(bins.ffprobe, r.filmstripPath ?? ''), 'video');
      expect([image?.width, image?.height]).toEqual([
        FILMSTRIP_FRAMES * FILMSTRIP_MAX_FRAME_WIDTH, FILMSTRIP_HEIGHT]);
      expect(filmstripFrame(7300, 100)).toEqual({ width: FILMSTRIP_MAX_FRAME_WIDTH, height: 90 });
      expect(filmstripFrame(16, 4000)).toEqual({ width: 2, height: 90 });

      // One second of video in six of audio: the ten frames come from that second.
      const early = await clip('video-ends-early.mp4', ['-f', 'lavfi', '-i',
        'testsrc2=s=320x240:d=1', '-f', 'lavfi', '-i', 'sine=d=6', '-c:v', 'libx264',
        '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac']);
      const e = await convertRecording(bins, early, outDir(), 'early', { filmstrip: true });
      expect(await blackTiles(e.filmstripPath ?? '')).toEqual([]);
    });

  it('takes a long video\'s filmstrip from its key frames', async () => {
    const long = await clip('long.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=10:d=150',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p']);
    const r = await convertRecording(bins, long, outDir(), 'long', { filmstrip: true });
    expect(r.durationSec).toBeCloseTo(150, 0);
    expect(await blackTiles(r.filmstripPath ?? '')).toEqual([]);
  });

  it('converts the recording without a filmstrip when the filmstrip cannot be made',
    async () => {
      // An ffmpeg that fails whatever would tile a filmstrip, and runs everything else.
      const failing = join(root, 'ffmpeg-no-tiles');
      await writeFile(failing, `#!/bin/sh\ncase "$*" in *tile=*) echo 'tile: refused' >&2; ` +
        `exit 1;; esac\nexec '${bins.ffmpeg}' "$@"\n`, { mode: 0o755 });
      const dir = outDir();
      const r = await convertRecording({ ...bins, ffmpeg: failing }, fx.webm10s640, dir, 'nostrip',
        { filmstrip: true });
      expect(r.filmstripPath).toBeNull();
      expect(r.filmstripFailure).toContain('tile: refused');
      expect(await filesIn(dir)).toEqual(['nostrip.jpg', 'nostrip.mp4']);
    });

  it('makes no filmstrip unless asked, nor for audio, and removes one an earlier run made',
    async () => {
      const dir = outDir();
      await convertRecording(bins, fx.mp4NoAudio, dir, 'again', { filmstrip: true });
      expect(await filesIn(dir)).toContain('again_filmstrip.jpg');
      const plain = await convertRecording(bins, fx.mp4NoAudio, dir, 'again');
      expect(plain.filmstripPath).toBeNull();
      expect(await filesIn(dir)).toEqual(['again.jpg', 'again.mp4']);
      const voice = await convertRecording(bins, fx.audioOnly, outDir(), 'voice',
        { filmstrip: true });
      expect(voice.filmstripPath).toBeNull();
    });

  it('replaces the outputs of an earlier conversion under the same name', async () => {
    const dir = outDir();
    await mkdir(dir);
    await writeFile(join(dir, '.again.0123456789ab.mp4.part'), 'left by a killed attempt');
    const first = await convertRecording(bins, fx.mp4NoAudio, dir, 'again');
    const second = await convertRecording(bins, fx.uprightH264Aac, dir, 'again');
    expect(second.md5).not.toBe(first.md5);
    expect(await filesIn(dir)).toEqual(['again.jpg', 'again.mp4']);
    await expectOutputMatchesFfprobe(second, bins.ffprobe);
  });

  it.each([['corrupt'], ['empty']] as const)('rejects %s input and leaves nothing', async (k) => {
    const dir = outDir();
    const err = await convertRecording(bins, fx[k], dir, 'bad').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('media_unreadable');
    expect((err as AppError).retryable).toBe(false);
    expect((err as AppError).message).toMatch(/Invalid data/);
    expect(await filesIn(dir)).toEqual([]);
  });

  it.each([['mp4NoAudio'], ['uprightH264Aac'], ['rotatedMov']] as const)(
    'rejects %s whose frames do not decode, saying so, and leaves nothing', async (k) => {
      // The headers stay whole, so it still probes as H.264; every frame's bytes are scrambled.
      const bytes = await readFile(fx[k]);
      const mdat = bytes.indexOf('mdat');
      const end = mdat - 4 + bytes.readUInt32BE(mdat - 4);
      for (let i = mdat + 8; i < end; i += 1) bytes[i] = (bytes[i] ?? 0) * 7 + 13 & 255;
      const scrambled = join(root, `scrambled-${k}.mp4`);
      await writeFile(scrambled, bytes);
      const dir = outDir();
      const err = await convertRecording(bins, scrambled, dir, 'bad').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('media_unreadable');
      expect((err as AppError).message).toMatch(
        /^cannot convert the recording: Error while decoding stream #0:\d: Invalid data/);
      expect(await filesIn(dir)).toEqual([]);
    });

  it('kills ffmpeg past the time limit and removes what it wrote', async () => {
    const dir = outDir();
    const started = Date.now();
    const err = await convertRecording(bins, fx.webm10s640, dir, 'slow', { timeoutMs: 400 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('timeout');
    expect((err as AppError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await filesIn(dir)).toEqual([]);
  });

  it('stops when the signal aborts and removes what it wrote', async () => {
    const dir = outDir();
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 300);
    const err = await convertRecording(bins, fx.webm10s640, dir, 'stop', { signal: ctl.signal })
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(await filesIn(dir)).toEqual([]);
  });

  it('refuses an output name that would leave the output directory', async () => {
    await expect(convertRecording(bins, fx.mp4NoAudio, outDir(), '../escape'))
      .rejects.toMatchObject({ code: 'bad_request' });
  });
});

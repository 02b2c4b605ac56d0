import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { expect } from 'vitest';

import { locateMediaBinaries } from '../../src/media/binaries.js';
import type { MediaBinaries } from '../../src/media/binaries.js';
import type { ConversionResult } from '../../src/media/convert.js';

const run = promisify(execFile);

export interface MediaFixtures {
  chromiumWebm: string;
  rotatedMov: string;
  mp4NoAudio: string;
  audioOnly: string;
  corrupt: string;
  empty: string;
  uprightH264Aac: string;
  webm10s640: string;
}

export const CHROMIUM_WEBM = fileURLToPath(
  new URL('../fixtures/chromium-3s.webm', import.meta.url),
);

function testVideo(size: string, seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30:duration=${seconds}`];
}

function testTone(seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`];
}

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
const AAC = ['-c:a', 'aac', '-b:a', '64k'];

async function ffmpeg(bins: MediaBinaries, args: string[]): Promise<void> {
  await run(bins.ffmpeg, ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args]);
}

/** Same bytes every run, so a failure with "corrupt" input can be reproduced. */
function noise(length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = 0x2545f491;
  for (let i = 0; i < length; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A phone-style portrait clip: 640x360 coded, shown turned 90 degrees clockwise. ffmpeg
 * ignores a `rotate` tag on encoded streams and, on copied streams, reads it as a
 * counter-clockwise display rotation; 270 therefore gives the matrix phones write.
 */
async function makeRotatedMov(bins: MediaBinaries, dir: string, file: string): Promise<void> {
  const flat = join(dir, '.rotated-flat.mov');
  await ffmpeg(bins, [...testVideo('640x360', 2), ...testTone(2), ...X264, ...AAC, flat]);
  await ffmpeg(bins, ['-i', flat, '-c', 'copy', '-metadata:s:v:0', 'rotate=270', '-f', 'mov',
    file]);
  await rm(flat, { force: true });

  const { stdout } = await run(bins.ffprobe, ['-v', 'error', '-select_streams', 'v:0',
    '-show_entries', 'stream_side_data=rotation:stream_tags=rotate', '-of', 'json', file]);
  if (!/"rotation": -90\b|"rotate": "90"/.test(stdout)) {
    throw new Error(`rotation metadata did not take in ${file}: ${stdout}`);
  }
}

/**
 * Writes the media fixtures into `dir`: short lavfi clips, the recorded Chromium WebM, and
 * two unreadable files.
 */
export async function makeMediaFixtures(
  dir: string,
  bins: MediaBinaries = locateMediaBinaries(),
): Promise<MediaFixtures> {
  await mkdir(dir, { recursive: true });
  const f: MediaFixtures = {
    chromiumWebm: join(dir, 'chromium-3s.webm'),
    rotatedMov: join(dir, 'rotated-90.mov'),
    mp4NoAudio: join(dir, 'no-audio.mp4'),
    audioOnly: join(dir, 'audio-only.ogg'),
    corrupt: join(dir, 'corrupt.webm'),
    empty: join(dir, 'empty.webm'),
    uprightH264Aac: join(dir, 'upright-h264-aac.mp4'),
    webm10s640: join(dir, 'webm-10s-640x480.webm'),
  };

  await Promise.all([
    copyFile(CHROMIUM_WEBM, f.chromiumWebm),
    writeFile(f.corrupt, noise(64 * 1024)),
    writeFile(f.empty, Buffer.alloc(0)),
    makeRotatedMov(bins, dir, f.rotatedMov),
    ffmpeg(bins, [...testVideo('320x240', 2), ...X264, '-an', f.mp4NoAudio]),
    ffmpeg(bins, [...testTone(2), '-c:a', 'libopus', '-b:a', '48k', f.audioOnly]),
    ffmpeg(bins, [...testVideo('320x240', 2), ...testTone(2), ...X264, ...AAC,
      f.uprightH264Aac]),
    // Like a browser recording: VP8/Opus, and `-live` leaves the duration out of the header.
    ffmpeg(bins, [...testVideo('640x480', 10), ...testTone(10),
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '600k',
      '-c:a', 'libopus', '-b:a', '64k', '-f', 'webm', '-live', '1', f.webm10s640]),
  ]);
  return f;
}

/** The parts of ffprobe's JSON the tests compare against. */
export interface RawStream {
  nb_frames?: string;
  duration?: string;
  bit_rate?: string;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  channels?: number;
  sample_rate?: string;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

export interface RawProbe {
  format: { format_name?: string; duration?: string; size?: string; bit_rate?: string;
    tags?: Record<string, string> };
  streams: RawStream[];
}

/** ffprobe's own description of a file, read without the module under test. */
export async function ffprobeJson(ffprobe: string, file: string): Promise<RawProbe> {
  const { stdout } = await run(ffprobe, ['-v', 'error', '-print_format', 'json',
    '-show_format', '-show_streams', file]);
  return JSON.parse(stdout) as RawProbe;
}

export function rawStream(raw: RawProbe, type: 'video' | 'audio'): RawStream | undefined {
  return raw.streams.find((s) => s.codec_type === type);
}

/** Display-matrix rotation as ffprobe prints it (counter-clockwise), 0 when there is none. */
export function rawRotation(stream: RawStream | undefined): number {
  const sd = stream?.side_data_list?.find((d) => d.side_data_type === 'Display Matrix');
  return sd?.rotation ?? 0;
}

/** Types of the top-level ISO-BMFF boxes in file order, e.g. ftyp, moov, mdat. */
export async function topLevelBoxes(file: string): Promise<string[]> {
  const data = await readFile(file);
  const boxes: string[] = [];
  let at = 0;
  while (at + 8 <= data.length) {
    let size = data.readUInt32BE(at);
    boxes.push(data.toString('latin1', at + 4, at + 8));
    if (size === 1) size = Number(data.readBigUInt64BE(at + 8));
    if (size === 0) break;
    if (size < 8) throw new Error(`bad box size ${size} at ${at} in ${file}`);
    at += size;
  }
  return boxes;
}

/** The first decoded frame, shrunk to width x height RGB, for checking which way is up. */
export async function firstFrameRgb(ffmpeg: string, file: string, width: number,
  height: number): Promise<Buffer> {
  const { stdout } = await run(ffmpeg, ['-v', 'error', '-i', file, '-frames:v', '1',
    '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
  { encoding: 'buffer' });
  return stdout;
}

async function fileDigests(file: string): Promise<{ md5: string; sha1: string }> {
  const data = await readFile(file);
  return {
    md5: createHash('md5').update(data).digest('hex'),
    sha1: createHash('sha1').update(data).digest('hex'),
  };
}

/**
 * Checks every output field of a conversion against what ffprobe says of the files it
 * wrote, and the properties every output must have. Returns ffprobe's view of the MP4.
 */
export async function expectOutputMatchesFfprobe(r: ConversionResult,
  ffprobe: string): Promise<RawProbe> {
  const raw = await ffprobeJson(ffprobe, r.mp4Path);
  const v = rawStream(raw, 'video');
  const a = rawStream(raw, 'audio');

  expect(raw.format.format_name).toContain('mp4');
  expect(raw.format.tags?.major_brand).toBe('isom');
  expect(r.durationSec).toBeCloseTo(Number(raw.format.duration), 3);
  expect(r.sizeBytes).toBe(Number(raw.format.size));
  expect(r.sizeBytes).toBe((await stat(r.mp4Path)).size);
  expect({ md5: r.md5, sha1: r.sha1 }).toEqual(await fileDigests(r.mp4Path));
  expect(r.hasAudio).toBe(a !== undefined);
  expect(r.audioCodec).toBe(a?.codec_name ?? null);
  expect(r.videoCodec).toBe(v?.codec_name ?? null);
  expect(r.width).toBe(v?.width ?? 0);
  expect(r.height).toBe(v?.height ?? 0);
  expect(r.audioOnly).toBe(v === undefined);
  if (a !== undefined) expect(a.codec_name).toBe('aac');

  const boxes = await topLevelBoxes(r.mp4Path);
  expect(boxes.indexOf('moov')).toBeGreaterThanOrEqual(0);
  expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));

  if (v === undefined) {
    expect(r.snapshotPath).toBeNull();
  } else {
    expect(v.codec_name).toBe('h264');
    expect(v.pix_fmt).toBe('yuv420p');
    expect((v.width ?? 1) % 2).toBe(0);
    expect((v.height ?? 1) % 2).toBe(0);
    expect(rawRotation(v)).toBe(0);
    expect(v.tags?.rotate ?? '0').toBe('0');

    expect(r.snapshotPath).not.toBeNull();
    const snap = rawStream(await ffprobeJson(ffprobe, r.snapshotPath ?? ''), 'video');
    expect(snap?.codec_name).toBe('mjpeg');
    expect([snap?.width, snap?.height]).toEqual([v.width, v.height]);
  }
  return raw;
}

/** A one-second VP8/Opus WebM, like a short browser recording, written in `dir`. */
export async function makeWebmClip(dir: string): Promise<Buffer> {
  const file = join(dir, 'clip.webm');
  await run(locateMediaBinaries().ffmpeg, ['-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15:duration=1',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1',
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k',
    '-c:a', 'libopus', '-b:a', '32k', '-f', 'webm', file]);
  return readFile(file);
}

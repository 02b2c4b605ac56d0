import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { AppError } from '../lib/errors.js';
import type { MediaBinaries } from './binaries.js';
import { inputArgs } from './input.js';
import { DEFAULT_TIMEOUT_MS, probe } from './probe.js';
import type { ProbeResult } from './probe.js';
import { lastMeaningfulLine, runProcess } from './process.js';
import type { RunOptions } from './process.js';

export interface ConversionResult {
  mp4Path: string;
  snapshotPath: string | null;
  /** With the filmstrip option, for a recording with video. */
  filmstripPath: string | null;
  /** Why a filmstrip asked for was not made; the rest of the conversion stands. */
  filmstripFailure: string | null;
  remuxed: boolean;
  input: ProbeResult;
  durationSec: number;
  width: number;
  height: number;
  sizeBytes: number;
  hasAudio: boolean;
  audioOnly: boolean;
  videoCodec: string | null;
  audioCodec: string | null;
  md5: string;
  sha1: string;
}

export interface ConvertOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  audioOnly?: boolean;
  /** Also make `baseName_filmstrip.jpg` (see filmstrip()). */
  filmstrip?: boolean;
}

const ISO_CONTAINERS = new Set(['mp4', 'mov', 'm4a', '3gp', '3g2']);

// Failures that are this machine's fault, not the upload's: another attempt may succeed.
const NOT_THE_INPUT = new RegExp([
  'no space left', 'permission denied', 'read-only file system', 'quota', 'unknown encoder',
  'encoder not found', 'cannot allocate memory',
].join('|'), 'i');

/** Already what the output must be: copying the streams gives the same file, much faster. */
function canRemux(src: ProbeResult, audioOnly: boolean): boolean {
  if (!ISO_CONTAINERS.has(src.container)) return false;
  const aacOrNone = src.audio === null || src.audio.codec === 'aac';
  if (audioOnly) return src.audio?.codec === 'aac';
  const v = src.video;
  return v !== null && aacOrNone && v.codec === 'h264' && v.pixFmt === 'yuv420p' &&
    v.rotation === 0 && v.width % 2 === 0 && v.height % 2 === 0;
}

function outputArgs(audioOnly: boolean, remux: boolean): string[] {
  const aac = ['-c:a', 'aac', '-b:a', '128k'];
  if (audioOnly) return ['-map', '0:a:0', '-vn', ...(remux ? ['-c:a', 'copy'] : aac)];
  const streams = ['-map', '0:v:0', '-map', '0:a:0?'];
  if (remux) return [...streams, '-c', 'copy'];
  return [
    ...streams,
    // ffmpeg turns rotated input upright itself (autorotate) and then resets the display
    // matrix, so only odd sizes, which yuv420p cannot hold, need fixing here.
    '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23',
    // Browser WebM has irregular frame times and a guessed frame rate that can be 1000 fps;
    // constant-rate output would duplicate frames to fill that guess.
    '-vsync', 'vfr',
    ...aac,
  ];
}

function ffmpegFailure(code: number | null, signal: string | null, stderr: string,
  paths: readonly string[]): AppError {
  if (code === null) {
    return new AppError('internal', `ffmpeg was killed by ${signal ?? 'a signal'}`);
  }
  const cause = lastMeaningfulLine(stderr, paths) ?? `ffmpeg exited with ${code}`;
  if (NOT_THE_INPUT.test(cause)) return new AppError('internal', `ffmpeg failed: ${cause}`);
  return new AppError('media_unreadable', `cannot convert the recording: ${cause}`);
}

async function ffmpeg(bins: MediaBinaries, args: readonly string[], run: RunOptions,
  paths: readonly string[]): Promise<string> {
  const res = await runProcess(bins.ffmpeg, ['-nostdin', '-hide_banner', '-v', 'error', '-y',
    ...args], run);
  if (res.exitCode !== 0) throw ffmpegFailure(res.exitCode, res.exitSignal, res.stderr, paths);
  return res.stdout;
}

/** Where ffmpeg's output ended, in seconds, from the last report of `-progress pipe:1`. */
function progressEnd(stdout: string): number | null {
  const all = [...stdout.matchAll(/^out_time_us=(\d+)$/gm)];
  const last = all.at(-1)?.[1];
  return last === undefined ? null : Number(last) / 1e6;
}

/** How far a copy's end may be from the input's duration and still be the whole input. */
const WHOLE_COPY_SLACK_SEC = 0.1;

async function nonEmpty(file: string): Promise<boolean> {
  try {
    return (await stat(file)).size > 0;
  } catch {
    return false;
  }
}

/** One frame from ~1 s in, or from the middle of a clip shorter than 2 s. */
async function snapshot(bins: MediaBinaries, mp4: string, durationSec: number, jpg: string,
  run: RunOptions): Promise<void> {
  const at = durationSec >= 2 ? 1 : durationSec / 2;
  // A seek can land past the last video frame when audio outlasts video; the first frame
  // is the fallback.
  for (const seek of [at, 0]) {
    await ffmpeg(bins, [
      '-ss', seek.toFixed(3), ...inputArgs(mp4),
      '-frames:v', '1', '-q:v', '3', '-update', '1', '-f', 'image2', `file:${jpg}`,
    ], run, [mp4, jpg]);
    if (await nonEmpty(jpg)) return;
  }
  throw new AppError('media_unreadable', 'cannot convert the recording: no video frame decodes');
}

/** How many frames a filmstrip shows, how high each is and how wide at most, in pixels. */
export const FILMSTRIP_FRAMES = 10;
export const FILMSTRIP_HEIGHT = 90;
export const FILMSTRIP_MAX_FRAME_WIDTH = 320;
/** Past this length only key frames are decoded: a full decode of hours of video is slow. */
const FILMSTRIP_KEY_FRAMES_AFTER_SEC = 120;

/** The size of one frame of the strip: the video's shape at the strip's height, bounded. */
export function filmstripFrame(width: number, height: number): { width: number;
  height: number } {
  const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
  const scaled = height > 0 ? width * FILMSTRIP_HEIGHT / height : FILMSTRIP_HEIGHT;
  return { width: even(Math.min(scaled, FILMSTRIP_MAX_FRAME_WIDTH)), height: FILMSTRIP_HEIGHT };
}

/**
 * Frames spread evenly over the video, each fitted into one frame size (a frame of another
 * shape, after a change of resolution, is centred on black) and laid side by side in one
 * JPEG. A video of fewer frames than the strip leaves the rest black.
 */
async function filmstrip(bins: MediaBinaries, mp4: string, out: ProbeResult, jpg: string,
  run: RunOptions): Promise<void> {
  const video = out.video;
  const length = video?.durationSec ?? out.durationSec;
  if (video === null || length === null) return;
  const frame = filmstripFrame(video.width, video.height);
  const rate = FILMSTRIP_FRAMES / Math.max(length, 0.1);
  const fit = `scale=${frame.width}:${frame.height}:force_original_aspect_ratio=decrease,` +
    `pad=${frame.width}:${frame.height}:(ow-iw)/2:(oh-ih)/2,setsar=1`;
  await ffmpeg(bins, [
    ...(length > FILMSTRIP_KEY_FRAMES_AFTER_SEC ? ['-skip_frame', 'nokey'] : []),
    ...inputArgs(mp4), '-map', '0:v:0',
    '-vf', `fps=${rate.toFixed(6)},${fit},tile=${FILMSTRIP_FRAMES}x1`,
    '-frames:v', '1', '-q:v', '4', '-update', '1', '-f', 'image2', `file:${jpg}`,
  ], run, [mp4, jpg]);
  if (!(await nonEmpty(jpg))) throw new AppError('media_unreadable', 'no video frame decodes');
}

/**
 * Waits for every task, then fails with the first failure: a task that fails early must not
 * leave the other writing files after the caller has cleaned up.
 */
async function together(tasks: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** MD5 and SHA-1 in one pass over the file. */
async function digests(file: string): Promise<{ md5: string; sha1: string }> {
  const md5 = createHash('md5');
  const sha1 = createHash('sha1');
  for await (const chunk of createReadStream(file)) {
    md5.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
  }
  return { md5: md5.digest('hex'), sha1: sha1.digest('hex') };
}

const PART = /^\.(.+)\.[0-9a-f]{12}\.(mp4|jpg|strip\.jpg)\.part$/;

/** Temporary files a killed earlier attempt at this same output left behind. */
async function removeStaleParts(dir: string, baseName: string): Promise<void> {
  const names = await readdir(dir);
  const stale = names.filter((n) => PART.exec(n)?.[1] === baseName);
  await Promise.all(stale.map((n) => rm(join(dir, n), { force: true })));
}

function checkBaseName(baseName: string): void {
  if (baseName === '' || baseName === '.' || baseName === '..' || /[/\\\0]/.test(baseName)) {
    throw new AppError('bad_request', `invalid output name: ${JSON.stringify(baseName)}`,
      { field: 'baseName' });
  }
}

/**
 * Converts a recording into `outDir/baseName.mp4` (H.264/AAC, upright, +faststart),
 * `outDir/baseName.jpg` and, when asked, `outDir/baseName_filmstrip.jpg`. Outputs appear
 * complete or not at all: they are written under temporary names and renamed into place,
 * and removed on any failure. One conversion per output name at a time: a new one clears
 * the temporary files an interrupted one left.
 */
export async function convertRecording(
  bins: MediaBinaries,
  input: string,
  outDir: string,
  baseName: string,
  opts: ConvertOptions = {},
): Promise<ConversionResult> {
  checkBaseName(baseName);
  const run: RunOptions = { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: opts.signal };
  const source = resolve(input);
  const src = await probe(bins, source, run);
  const audioOnly = opts.audioOnly === true || src.video === null;
  if (audioOnly && src.audio === null) {
    throw new AppError('media_unreadable', 'cannot convert the recording: it has no audio');
  }
  const remuxed = canRemux(src, audioOnly);

  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  await removeStaleParts(dir, baseName);
  const tag = randomBytes(6).toString('hex');
  const tmpMp4 = join(dir, `.${baseName}.${tag}.mp4.part`);
  const tmpJpg = join(dir, `.${baseName}.${tag}.jpg.part`);
  const tmpStrip = join(dir, `.${baseName}.${tag}.strip.jpg.part`);
  const mp4Path = join(dir, `${baseName}.mp4`);
  const jpgPath = join(dir, `${baseName}.jpg`);
  const stripPath = join(dir, `${baseName}_filmstrip.jpg`);
  const strip = opts.filmstrip === true && !audioOnly;
  const published: string[] = [];

  let copiedUntil: number | null = null;
  const writeMp4 = async () => {
    copiedUntil = progressEnd(await ffmpeg(bins, [
      ...inputArgs(source),
      ...outputArgs(audioOnly, remuxed),
      '-max_muxing_queue_size', '1024', '-movflags', '+faststart',
      '-progress', 'pipe:1', '-nostats', '-f', 'mp4', `file:${tmpMp4}`,
    ], run, [source, tmpMp4]));
  };

  try {
    // A copy of an input holding just the streams it keeps has the input's streams, frames
    // and duration: the input's probe describes it, and its snapshot, the same frame either
    // way, is taken from the input while the copy runs. Each ffmpeg start costs a tenth of a
    // second on some builds, more than the copy. Where the copy ends short of the input's
    // duration (an input cut short), or the input has other streams, the copy is probed.
    const whole = remuxed && !audioOnly && src.durationSec !== null &&
      src.streamCount === 1 + (src.audio === null ? 0 : 1);
    if (whole && src.durationSec !== null) {
      await together([writeMp4(), snapshot(bins, source, src.durationSec, tmpJpg, run)]);
    } else {
      await writeMp4();
    }
    const until: number | null = copiedUntil;
    const out = whole && until !== null && src.durationSec !== null &&
      Math.abs(until - src.durationSec) <= WHOLE_COPY_SLACK_SEC
      ? src : await probe(bins, tmpMp4, run);
    if (out.durationSec === null || (!audioOnly && out.video === null)) {
      throw new AppError('media_unreadable', 'cannot convert the recording: nothing decodes');
    }
    if (!audioOnly && !(await nonEmpty(tmpJpg))) {
      await snapshot(bins, tmpMp4, out.durationSec, tmpJpg, run);
    }
    const durationSec = out.durationSec;
    let sums = { md5: '', sha1: '' };
    // A filmstrip is an extra: one that cannot be made costs the recording nothing.
    let stripMade = false;
    let stripFailure: string | null = null;
    const makeStrip = async () => {
      try {
        await filmstrip(bins, tmpMp4, out, tmpStrip, run);
        stripMade = await nonEmpty(tmpStrip);
      } catch (err) {
        if (run.signal?.aborted === true) throw err;
        stripFailure = err instanceof Error ? err.message : String(err);
        await rm(tmpStrip, { force: true });
      }
    };
    await together([
      digests(tmpMp4).then((found) => { sums = found; }),
      ...(strip ? [makeStrip()] : []),
    ]);

    // Images left by an earlier conversion under this name that this one does not make
    // would no longer match.
    if (audioOnly) {
      await rm(jpgPath, { force: true });
    } else {
      await rename(tmpJpg, jpgPath);
      published.push(jpgPath);
    }
    if (stripMade) {
      await rename(tmpStrip, stripPath);
      published.push(stripPath);
    } else {
      await rm(stripPath, { force: true });
    }
    await rename(tmpMp4, mp4Path);

    return {
      mp4Path,
      snapshotPath: audioOnly ? null : jpgPath,
      filmstripPath: stripMade ? stripPath : null,
      filmstripFailure: stripFailure,
      remuxed,
      input: src,
      durationSec,
      width: out.video?.width ?? 0,
      height: out.video?.height ?? 0,
      sizeBytes: (await stat(mp4Path)).size,
      hasAudio: out.audio !== null,
      audioOnly,
      videoCodec: out.video?.codec ?? null,
      audioCodec: out.audio?.codec ?? null,
      md5: sums.md5,
      sha1: sums.sha1,
    };
  } catch (err) {
    const leftovers = [tmpMp4, tmpJpg, tmpStrip, ...published];
    await Promise.all(leftovers.map((f) => rm(f, { force: true })));
    throw err;
  }
}

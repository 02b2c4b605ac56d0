import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';

import { AppError } from '../lib/errors.js';
import type { MediaBinaries } from './binaries.js';
import { inputArgs } from './input.js';
import { lastMeaningfulLine, runProcess } from './process.js';

export interface ProbeResult {
  formatName: string;
  container: string;
  durationSec: number | null;
  sizeBytes: number;
  bitRate: number | null;
  video: {
    codec: string;
    width: number;
    height: number;
    rotation: number;
    pixFmt: string | null;
    /** The video stream's own length, where the container gives one (MP4 does, WebM not). */
    durationSec: number | null;
  } | null;
  audio: { codec: string; channels: number; sampleRate: number } | null;
  /** Every stream of the file, those above included. */
  streamCount: number;
}

export interface ProbeOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** ffprobe prints most numbers as strings and "N/A" when it has none. */
function num(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

function positive(n: number | null): number | null {
  return n !== null && n > 0 ? n : null;
}

/** Maps any angle to the nearest of 0, 90, 180, 270. */
function quarterTurns(degrees: number): number {
  const q = Math.round(degrees / 90) * 90;
  return ((q % 360) + 360) % 360;
}

/**
 * Clockwise display rotation from a display matrix as ffprobe prints it: three rows of
 * "index: a b c". ffmpeg's own `rotation` field is counter-clockwise, hence the sign.
 */
function matrixRotation(printed: string): number | null {
  const m = printed
    .split('\n')
    .map((row) => row.split(':')[1] ?? '')
    .flatMap((row) => row.trim().split(/\s+/).filter((c) => c !== '').map(Number));
  const [a, b, , c, d] = m;
  if (a === undefined || b === undefined || c === undefined || d === undefined) return null;
  if (Math.hypot(a, c) === 0 || Math.hypot(b, d) === 0) return null;
  return (Math.atan2(b / Math.hypot(b, d), a / Math.hypot(a, c)) * 180) / Math.PI;
}

/**
 * Rotation in clockwise degrees for display. Newer ffprobe only reports the display matrix
 * side data; 4.x also copies it into a legacy `rotate` tag, which is already clockwise.
 */
function rotationOf(stream: Json): number {
  for (const sd of objects(stream.side_data_list)) {
    if (!/display ?matrix/i.test(text(sd.side_data_type) ?? '')) continue;
    const counterClockwise = num(sd.rotation);
    if (counterClockwise !== null) return quarterTurns(-counterClockwise);
    const printed = text(sd.displaymatrix);
    const clockwise = printed === null ? null : matrixRotation(printed);
    if (clockwise !== null) return quarterTurns(clockwise);
  }
  const tag = isObject(stream.tags) ? num(stream.tags.rotate) : null;
  return tag === null ? 0 : quarterTurns(tag);
}

const WEBM_CODECS = new Set(['vp8', 'vp9', 'av1', 'opus', 'vorbis']);

const BRANDS: Record<string, string> = {
  'qt': 'mov', 'M4A': 'm4a', 'M4B': 'm4a', 'M4V': 'mp4', '3gp4': '3gp', '3gp5': '3gp',
  '3gp6': '3gp', '3g2a': '3g2',
};

const SHORT_NAMES: Record<string, string> = {
  mpegts: 'ts', mpeg: 'mpg', asf: 'wmv', matroska: 'mkv',
};

/**
 * A short container name. ffprobe names demuxers, not containers: one demuxer reads both WebM
 * and Matroska, another every ISO-BMFF flavour, so the brand or codecs decide.
 */
function containerOf(formatName: string, format: Json, codecs: readonly string[]): string {
  const names = formatName.split(',');
  if (names.includes('matroska') || names.includes('webm')) {
    return codecs.every((c) => WEBM_CODECS.has(c)) ? 'webm' : 'mkv';
  }
  if (names.includes('mov') || names.includes('mp4')) {
    const brand = isObject(format.tags) ? (text(format.tags.major_brand) ?? '').trim() : '';
    return BRANDS[brand] ?? 'mp4';
  }
  const first = names[0] ?? formatName;
  return SHORT_NAMES[first] ?? first;
}

function unreadable(file: string, reason: string): AppError {
  const name = basename(file);
  const cause = reason.startsWith(`${name}: `) ? reason.slice(name.length + 2) : reason;
  return new AppError('media_unreadable', `cannot read ${name} as audio or video: ${cause}`);
}

/** Reads what a media file holds. Anything without a playable stream is `media_unreadable`. */
export async function probe(
  bins: MediaBinaries,
  file: string,
  opts: ProbeOptions = {},
): Promise<ProbeResult> {
  const path = resolve(file);
  const run = await runProcess(
    bins.ffprobe,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...inputArgs(path)],
    { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: opts.signal },
  );
  if (run.exitCode !== 0) {
    const cause = lastMeaningfulLine(run.stderr, [path]) ?? `ffprobe exited with ${run.exitCode}`;
    throw unreadable(path, cause);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    throw unreadable(path, 'ffprobe printed no readable description');
  }
  const format = isObject(parsed) && isObject(parsed.format) ? parsed.format : {};
  const streams = isObject(parsed) ? objects(parsed.streams) : [];

  // Cover art in audio files is a "video" stream of one picture, not a video.
  const v = streams.find((s) => s.codec_type === 'video' &&
    !(isObject(s.disposition) && s.disposition.attached_pic === 1) &&
    (num(s.width) ?? 0) > 0 && (num(s.height) ?? 0) > 0);
  const a = streams.find((s) => s.codec_type === 'audio' && (num(s.channels) ?? 0) > 0);
  if (v === undefined && a === undefined) throw unreadable(path, 'no audio or video stream');

  const video = v === undefined ? null : {
    codec: text(v.codec_name) ?? 'unknown',
    width: num(v.width) ?? 0,
    height: num(v.height) ?? 0,
    rotation: rotationOf(v),
    pixFmt: text(v.pix_fmt),
    durationSec: positive(num(v.duration)),
  };
  const audio = a === undefined ? null : {
    codec: text(a.codec_name) ?? 'unknown',
    channels: num(a.channels) ?? 0,
    sampleRate: num(a.sample_rate) ?? 0,
  };
  const formatName = text(format.format_name) ?? 'unknown';
  const codecs = [video?.codec, audio?.codec].filter((c): c is string => c !== undefined);
  const duration = num(format.duration);

  return {
    formatName,
    container: containerOf(formatName, format, codecs),
    durationSec: positive(duration),
    sizeBytes: num(format.size) ?? (await stat(path)).size,
    bitRate: num(format.bit_rate),
    video,
    audio,
    streamCount: streams.length,
  };
}

/**
 * What the privacy tests share: a server whose logs are captured at debug level, a clock the
 * test moves by hand, and searches of every place a server could have kept a value.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { sql } from 'kysely';
import pino from 'pino';
import type { Logger } from 'pino';

import { locateMediaBinaries } from '../../src/media/binaries.js';
import { eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import type { Receiver } from '../helpers/receiver.js';
import { filesUnder } from '../helpers/harness.js';

export { filesUnder };

const run = promisify(execFile);

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface LogCapture {
  logger: Logger;
  text(): string;
  /** Parsed lines whose `msg` is `msg`. */
  entries(msg: string): Record<string, unknown>[];
}

/** A pino logger at debug level writing into memory, as the server's only log output. */
export function captureLogs(): LogCapture {
  const chunks: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => chunks.push(line) });
  const text = () => chunks.join('');
  return {
    logger,
    text,
    entries: (msg) => text().split('\n').filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.msg === msg),
  };
}

/** A clock that stands still until the test moves it, so every cut-off is exact. */
export interface SteppedClock {
  now: () => number;
  advance(ms: number): void;
}

export function steppedClock(start: number): SteppedClock {
  let current = start;
  return { now: () => current, advance: (ms) => { current += ms; } };
}

export interface PrivacyServer {
  srv: TestServer;
  logs: LogCapture;
}

/**
 * A test server that takes the client address from X-Forwarded-For, so each upload can come
 * from an address of its own that appears nowhere else on the machine.
 */
export async function startPrivacyServer(
  dialect: TestServer['dialect'],
  options: { clock?: () => number; env?: Record<string, string> } = {},
): Promise<PrivacyServer> {
  const logs = captureLogs();
  const srv = await startTestServer(dialect, {
    env: { STANDPIPE_TRUST_PROXY: '1', STANDPIPE_LOG_LEVEL: 'debug', ...options.env },
    log: logs.logger,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  return { srv, logs };
}

/**
 * Every place where the server holds `value`: files of its data directory (the SQLite file
 * and its write-ahead log, the media store, uploads in progress), and on PostgreSQL each
 * table whose rows, read as text, contain it.
 */
export async function placesHolding(srv: TestServer, value: string): Promise<string[]> {
  const needle = Buffer.from(value, 'utf8');
  const found: string[] = [];
  for (const file of await filesUnder(srv.dataDir)) {
    const bytes = await readFile(file).catch(() => Buffer.alloc(0));
    if (bytes.includes(needle)) found.push(path.relative(srv.dataDir, file));
  }
  const db = srv.server.ctx.db;
  if (db.dialect === 'postgres') {
    const tables = await sql<{ name: string }>`select table_name as name
      from information_schema.tables where table_schema = current_schema()`.execute(db.kysely);
    for (const { name } of tables.rows) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(name)} t`
        .execute(db.kysely);
      if (rows.rows.some((r) => r.row.includes(value))) found.push(`table ${name}`);
    }
  }
  return found;
}

/** The recorder's personal data as one upload sends it. */
export interface Identity {
  ip: string;
  ua: string;
  referer: string;
  camera: string;
  mic: string;
  payload: string;
}

export function identity(tag: string, n: number): Identity {
  return {
    ip: `203.0.113.${n}`,
    ua: `ProbeAgent/${tag} (privacy test)`,
    referer: `https://referer-${tag}.example/page`,
    camera: `ProbeCam ${tag}`,
    mic: `ProbeMic ${tag}`,
    payload: `payload-${tag}`,
  };
}

/** The client address as the recordings table keeps it: IPv4 as an unsigned integer. */
export function ipAsUint(ip: string): string {
  return String(ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0));
}

/** Each value of an identity in every form it could be kept in. */
export function valuesOf(who: Identity): string[] {
  return [who.ip, ipAsUint(who.ip), who.ua, who.referer, who.camera, who.mic, who.payload];
}

/** A one-second upright H.264/AAC MP4: it is remuxed, so conversions are quick. */
export async function makeClip(dir: string): Promise<Buffer> {
  const file = path.join(dir, 'clip.mp4');
  await run(locateMediaBinaries().ffmpeg, ['-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15:duration=1',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-shortest', file]);
  return readFile(file);
}

export async function uploadAs(
  srv: TestServer,
  target: { accountHash: string; envCode: string },
  clip: Buffer,
  who: Identity,
  filename = 'clip.mp4',
): Promise<ApiResponse> {
  return uploadFile(srv.url, {
    accountHash: target.accountHash, eid: target.envCode, payload: who.payload,
    cameraName: who.camera, micName: who.mic,
  }, { name: filename, data: clip }, {
    'user-agent': who.ua, referer: who.referer, 'x-forwarded-for': who.ip,
  });
}

export const ALL_EVENTS = {
  webhook_recorded: '1', webhook_converted: '1', webhook_copied_pipe_s3: '1',
  webhook_transcoded: '1',
};

/** Subscribes the receiver to every event of a recording in one environment. */
export async function addWebhook(srv: TestServer, apiKey: string, receiver: Receiver,
  envId: number): Promise<string> {
  const res = await srv.api(apiKey, 'POST', '/webhook', {
    webhook: receiver.url(`/hook/${envId}`), env_id: String(envId), ...ALL_EVENTS,
  });
  if (res.status !== 201) throw new Error(`webhook not created: ${res.text}`);
  const details = res.json.webhook_details as { id: string }[] | undefined;
  return details?.[0]?.id ?? '';
}

export function bodiesMentioning(receiver: Receiver, value: string): string[] {
  return receiver.requests.map((r) => r.body).filter((b) => b.includes(value));
}

/** Waits for the recording to be converted and for its four webhooks to have arrived. */
export async function settled(srv: TestServer, apiKey: string, receiver: Receiver,
  video: { id: string; name: string }, webhooks = 4): Promise<Record<string, unknown>> {
  const row = await eventually(async () => {
    const res = await srv.api(apiKey, 'GET', `/video/${video.id}`);
    const v = (res.json.videos as Record<string, unknown>[] | undefined)?.[0];
    if (v?.conversion_status === 'failed') throw new Error(`conversion failed: ${res.text}`);
    return v?.converted === '1' ? v : undefined;
  }, 60_000, `recording ${video.id} converted`);
  await eventually(async () => (bodiesMentioning(receiver, video.name).length >= webhooks
    ? true : undefined), 30_000, `webhooks of ${video.name}`);
  return row;
}

/** The first video of an API answer, with the two fields every test needs. */
export function firstVideo(res: ApiResponse): { id: string; name: string } & Record<string,
  unknown> {
  const v = (res.json.videos as Record<string, unknown>[] | undefined)?.[0];
  if (v === undefined) throw new Error(`no video in the answer: ${res.text}`);
  return { ...v, id: String(v.id), name: String(v.name) };
}

/**
 * An ffmpeg that lingers `delayMs` after each run (not after `-version`): its input has been
 * read and its output written, and the job has not yet stored it, when a test acts.
 */
export async function lingeringFfmpeg(dir: string, delayMs: number): Promise<{
  STANDPIPE_FFMPEG: string; STANDPIPE_FFPROBE: string }> {
  const real = locateMediaBinaries();
  const script = path.join(dir, 'lingering-ffmpeg');
  await writeFile(script, `#!/bin/sh
case " $* " in *" -version "*) exec '${real.ffmpeg}' "$@" ;; esac
'${real.ffmpeg}' "$@"
code=$?
sleep ${(delayMs / 1000).toFixed(2)}
exit $code
`, { mode: 0o755 });
  return { STANDPIPE_FFMPEG: script, STANDPIPE_FFPROBE: real.ffprobe };
}

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

import type { Kysely } from 'kysely';

import type { Context } from '../context.js';
import type { Account, Database, Environment, Recording } from '../db/schema.js';
import { AppError, badRequest } from '../lib/errors.js';
import { ipv4ToUint } from '../lib/format.js';
import { randomToken } from '../lib/secrets.js';
import { probe } from '../media/probe.js';
import { insertRecording } from '../repositories/recordings.js';
import { emitEvent } from './events.js';
import { collectedMeta } from './privacy.js';
import { mediaKeys } from './recording-view.js';
import { writeArriving } from './upload-sink.js';

export interface UploadMeta {
  ip?: string | undefined;
  userAgent?: string | undefined;
  referer?: string | undefined;
  cameraName?: string | undefined;
  microphoneName?: string | undefined;
  payload?: string | undefined;
  mrt?: number | undefined;
  source: 'DESK' | 'MOB' | 'API';
}

export interface UploadedFile {
  stream: Readable;
  filename: string;
  /** Set by the body parser when the stream was cut at the size limit. */
  truncated?: () => boolean;
}

const KNOWN_EXTENSIONS = new Set([
  'webm', 'mp4', 'mov', 'm4v', 'mkv', 'm4a', 'ogg', 'oga', 'ogv', 'wav', 'mp3', '3gp', 'avi',
  'flv', 'mpeg', 'mpg', 'ts', 'aac', 'opus', 'weba',
]);

const TEXT_LIMIT = 1000;

export interface ReceivedFile {
  path: string;
  size: number;
  filename: string;
  /** SHA-256 of the bytes, hex, taken as they arrived. */
  sha256: string;
}

/**
 * Writes an upload's bytes to a private temporary file while counting and hashing them. The
 * caller either passes the result to `createRecording` or calls `discard`; nothing else
 * keeps it.
 */
export async function receiveUpload(ctx: Context, file: UploadedFile): Promise<ReceivedFile> {
  const uploads = path.join(ctx.config.dataDir, 'uploads');
  await mkdir(uploads, { recursive: true });
  const temp = path.join(uploads, `${randomBytes(12).toString('hex')}.part`);
  try {
    const { size, sha256 } = await receive(file, temp, ctx.config.maxUploadBytes);
    return { path: temp, size, filename: file.filename, sha256 };
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export async function discard(file: ReceivedFile | null): Promise<void> {
  if (file !== null) await rm(file.path, { force: true });
}

/**
 * Removes upload files that a killed process left behind. A file still being written has
 * a fresh modification time, so another process's upload in progress is never touched.
 */
export async function removeStaleUploads(dataDir: string, olderThanMs = 3600_000,
  now = Date.now()): Promise<number> {
  const dir = path.join(dataDir, 'uploads');
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names.filter((n) => n.endsWith('.part'))) {
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => null);
    if (info === null || !info.isFile() || now - info.mtimeMs < olderThanMs) continue;
    await rm(file, { force: true });
    removed += 1;
  }
  return removed;
}

/**
 * Turns a received file into a recording: it is moved into the media store, and only then
 * is the recording committed together with its processing job and `video_recorded` webhooks.
 * `within` runs in that transaction, so what the caller records of the new recording commits
 * or rolls back with it.
 */
export async function createRecording(
  ctx: Context,
  account: Account,
  env: Environment,
  file: ReceivedFile,
  uploaded: UploadMeta,
  within?: (trx: Kysely<Database>, recording: Recording) => Promise<void>,
): Promise<Recording> {
  // What the environment does not collect is dropped here, before anything is written.
  const meta = collectedMeta(env, uploaded);
  const payload = meta.payload ?? '';
  const size = file.size;
  let storedKey: string | null = null;
  try {
    checkPayload(ctx, payload);
    const info = await probe(ctx.media, file.path, { timeoutMs: 30_000 }).catch(() => null);
    const ext = extensionOf(file.filename) ?? info?.container ?? 'bin';
    const name = `vs${ctx.clock()}_${randomToken(10)}`;
    const keys = mediaKeys(account.account_hash, { name, original_ext: ext });
    await ctx.store.put(keys.original, file.path, { move: true });
    storedKey = keys.original;

    const rec = await ctx.db.kysely.transaction().execute(async (trx) => {
      const row = await insertRecording(trx, {
        account_id: account.id,
        env_id: env.env_id,
        name,
        status: 'recorded',
        original_ext: ext,
        original_container: info?.container ?? ext,
        created_at: ctx.clock(),
        ipv4: ipv4ToUint(meta.ip) ?? '',
        ua: clip(meta.userAgent),
        http_referer: clip(meta.referer),
        camera_name: clip(meta.cameraName),
        microphone_name: clip(meta.microphoneName),
        payload,
        mrt: meta.mrt ?? null,
        source: meta.source,
        original_size: size,
        original_sha256: file.sha256,
        has_original: 1,
        has_audio: info?.audio ? 1 : 0,
        audio_only: info !== null && info.video === null ? 1 : 0,
        orig_width: info?.video?.width ?? null,
        orig_height: info?.video?.height ?? null,
        rotation: info?.video?.rotation ?? 0,
        audio_codec: info?.audio?.codec ?? null,
        video_codec: info?.video?.codec ?? null,
        region: env.region,
      });
      if (within !== undefined) await within(trx, row);
      await ctx.queue.enqueue(trx, 'recording.process', { recordingId: row.id },
        { recordingId: row.id });
      await emitEvent(ctx, trx, 'video_recorded', row, account);
      return row;
    });
    ctx.queue.notify();
    ctx.log.info({ recordingId: rec.id, size, source: meta.source }, 'recording received');
    return rec;
  } catch (err) {
    if (storedKey !== null) await ctx.store.delete(storedKey).catch(() => undefined);
    throw err;
  } finally {
    await discard(file);
  }
}

/** Writes and hashes the file in one pass; a body that fails or goes past `limit` throws. */
async function receive(file: UploadedFile, temp: string, limit: number) {
  const hash = createHash('sha256');
  const handle = await open(temp, 'wx', 0o600).catch((err: unknown) => {
    file.stream.destroy();
    throw err;
  });
  let result;
  try {
    result = await writeArriving(file.stream as AsyncIterable<Buffer>, handle,
      { position: 0, room: limit, hash });
  } finally {
    await handle.close();
  }
  if (result.cut !== null) throw result.cut;
  if (result.overflow || file.truncated?.() === true) {
    throw new AppError('payload_too_large', `file is over ${limit} bytes`);
  }
  if (result.written === 0) throw badRequest('file', 'the uploaded file is empty');
  return { size: result.written, sha256: hash.digest('hex') };
}

/** Only a short list of known media extensions is kept; anything else is derived. */
export function extensionOf(filename: string): string | null {
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(filename);
  const ext = match?.[1]?.toLowerCase();
  return ext !== undefined && KNOWN_EXTENSIONS.has(ext) ? ext : null;
}

/** Absent text is kept as "", as the seed shows it, never null. */
function clip(value: string | undefined): string {
  return value === undefined ? '' : value.slice(0, TEXT_LIMIT);
}

export function checkPayload(ctx: Context, payload: string): void {
  if (payload.length > ctx.config.maxPayloadChars) {
    throw badRequest('payload', `payload must be at most ${ctx.config.maxPayloadChars} characters`);
  }
}


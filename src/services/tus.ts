import type { Hash } from 'node:crypto';
import { copyFile, link, mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

import type { Context } from '../context.js';
import type { Upload } from '../db/schema.js';
import { AppError, badRequest } from '../lib/errors.js';
import { randomHex, randomToken } from '../lib/secrets.js';
import { findAccountById, findUploadTarget } from '../repositories/accounts.js';
import { findEnvironmentByEnvId } from '../repositories/environments.js';
import {
  advanceUpload, countOpenUploads, deleteUpload, findUpload, findUploadRecording, finishUpload,
  insertUpload, touchUpload,
} from '../repositories/uploads.js';
import { checkPayload, createRecording } from './ingest.js';
import { collectedMeta } from './privacy.js';
import { parseMrt } from './tus-metadata.js';
import type { StoredUploadMeta } from './tus-metadata.js';
import { UPLOAD_TTL_MS, partPath } from './tus-files.js';
import { UploadHashes } from './tus-hashes.js';
import { UploadLocks } from './upload-locks.js';
import { hashFile, writeArriving } from './upload-sink.js';

export const TUS_VERSION = '1.0.0';
export { UPLOAD_TTL_MS, expireUploadsHandler } from './tus-files.js';
/**
 * Creating uploads needs only public codes (and is rate limited per address); this bounds
 * what can be left open against one account without blocking its busy days.
 */
const MAX_OPEN_UPLOADS = 1000;

export interface CreateUploadInput {
  length: string | undefined;
  metadata: Record<string, string>;
  ip: string;
  userAgent: string | undefined;
  referer: string | undefined;
}

export interface UploadState {
  upload: Upload;
  recording: { id: number; name: string } | null;
}

const locks = new UploadLocks();
/** One set per server, so that a server started again begins with none, as a new process. */
const hashSets = new WeakMap<Context, UploadHashes>();

function hashesOf(ctx: Context): UploadHashes {
  let hashes = hashSets.get(ctx);
  if (hashes === undefined) {
    hashes = new UploadHashes();
    hashSets.set(ctx, hashes);
  }
  return hashes;
}

/**
 * A long PATCH starts a datasync this often, so that the disk writes while the bytes still
 * arrive and the datasync that ends the PATCH has little left to do.
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Creates an upload after checking, before any byte is accepted, that the account hash and
 * environment code name an environment and that the size is allowed. What the environment
 * does not collect is dropped here, before the row is written.
 */
export async function createUpload(ctx: Context, input: CreateUploadInput): Promise<Upload> {
  const meta = input.metadata;
  const length = parseLength(ctx, input.length);
  const accountHash = meta.accountHash;
  const eid = meta.eid;
  if (accountHash === undefined || !/^[a-f0-9]{32}$/.test(accountHash)) {
    throw badRequest('accountHash', 'metadata accountHash must be the 32-character account hash');
  }
  if (eid === undefined || !/^[A-Za-z0-9]{1,32}$/.test(eid)) {
    throw badRequest('eid', 'metadata eid must be the environment code');
  }
  const payload = meta.payload ?? '';
  checkPayload(ctx, payload);
  const mrt = parseMrt(meta.mrt);

  const target = await findUploadTarget(ctx.db.kysely, accountHash, eid);
  if (target === undefined) {
    throw new AppError('not_found', 'no environment with this accountHash and eid');
  }
  const now = ctx.clock();
  if (await countOpenUploads(ctx.db.kysely, target.account.id, now) >= MAX_OPEN_UPLOADS) {
    throw new AppError('rate_limited', 'too many unfinished uploads; finish or delete some');
  }

  const kept = collectedMeta(target.environment, {
    ip: input.ip, userAgent: input.userAgent, referer: input.referer,
    cameraName: meta.cameraName, microphoneName: meta.micName, payload, mrt, source: 'DESK',
  });
  const stored: StoredUploadMeta = {
    filename: (meta.filename ?? '').slice(0, 255),
    filetype: (meta.filetype ?? '').slice(0, 100),
    payload,
    cameraName: kept.cameraName,
    microphoneName: kept.microphoneName,
    mrt,
    ip: kept.ip,
    userAgent: kept.userAgent,
    referer: kept.referer,
  };

  const id = randomHex(16);
  await mkdir(path.dirname(partPath(ctx, id)), { recursive: true });
  const file = await open(partPath(ctx, id), 'wx', 0o600);
  await file.close();
  try {
    return await insertUpload(ctx.db.kysely, {
      id, account_id: target.account.id, env_id: target.environment.env_id, upload_offset: 0,
      upload_length: length, metadata: JSON.stringify(stored), recording_id: null,
      created_at: now, updated_at: now, expires_at: now + UPLOAD_TTL_MS,
    });
  } catch (err) {
    await rm(partPath(ctx, id), { force: true });
    throw err;
  }
}

function parseLength(ctx: Context, raw: string | undefined): number {
  if (raw === undefined) {
    throw badRequest('Upload-Length', 'Upload-Length is required (deferred lengths are not ' +
      'supported)');
  }
  if (!/^\d{1,16}$/.test(raw) || Number(raw) === 0) {
    throw badRequest('Upload-Length', 'Upload-Length must be the size in bytes, at least 1');
  }
  const length = Number(raw);
  if (length > ctx.config.maxUploadBytes) {
    throw new AppError('payload_too_large', `uploads are limited to ${ctx.config.maxUploadBytes} ` +
      'bytes');
  }
  return length;
}

/** An upload that may still be read or written: known and not expired. */
async function liveUpload(ctx: Context, id: string): Promise<Upload> {
  const upload = /^[a-f0-9]{32}$/.test(id) ? await findUpload(ctx.db.kysely, id) : undefined;
  if (upload === undefined) throw new AppError('not_found', 'no such upload');
  if (upload.expires_at <= ctx.clock()) {
    throw new AppError('gone', 'this upload expired; start a new one');
  }
  return upload;
}

/** Where an upload stands, once any write still running for it has stopped and saved. */
export async function uploadState(ctx: Context, id: string): Promise<UploadState> {
  await locks.settle(id);
  const upload = await liveUpload(ctx, id);
  if (upload.recording_id === null) await stat(partPath(ctx, id)).catch(notHere);
  return { upload, recording: await recordingOf(ctx, upload) };
}

/**
 * The bytes so far live in this server's data directory. A process that does not share it
 * cannot go on with the upload; the client is told to start a new one.
 */
function notHere(err: unknown): never {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new AppError('gone', "this upload's bytes are not on this server; start a new upload");
  }
  throw err;
}

async function recordingOf(ctx: Context, upload: Upload) {
  if (upload.recording_id === null) return null;
  return (await findUploadRecording(ctx.db.kysely, upload.recording_id)) ?? null;
}

/**
 * Appends a PATCH body at `offset`. Bytes are written and hashed as they arrive, so when the
 * connection drops, what reached the server is kept and counted and the client resumes
 * from there. A newer request for the same upload stops this one first: the client only
 * sends one when it has given up on the older connection.
 *
 * An offset is saved only once the bytes it counts are on disk, so that a crash never leaves
 * an upload claiming bytes it lost. The PATCH that completes the upload is the exception:
 * its bytes become a recording, and the final offset is saved in the same transaction as
 * that recording, as POST /upload's bytes are; it is synced only when that fails and the
 * offset must be saved for a retry. `declared` is the body's Content-Length, if sent: a body
 * that says it brings the rest is not synced as it arrives either.
 */
export async function appendToUpload(
  ctx: Context,
  id: string,
  offset: number,
  body: Readable,
  declared?: number,
): Promise<UploadState> {
  const lock = await locks.acquire(id);
  try {
    const found = await liveUpload(ctx, id);
    if (offset !== found.upload_offset) {
      throw new AppError('conflict', `Upload-Offset must be ${found.upload_offset}`);
    }
    if (found.recording_id !== null) {
      return { upload: found, recording: await recordingOf(ctx, found) };
    }
    const expiresAt = ctx.clock() + UPLOAD_TTL_MS;
    await touchUpload(ctx.db.kysely, id, expiresAt);
    const upload = { ...found, expires_at: expiresAt };

    const hashes = hashesOf(ctx);
    const hash = hashes.take(id, offset);
    const room = upload.upload_length - offset;
    const stop = () => body.destroy();
    lock.signal.addEventListener('abort', stop);
    const { written, overflow, synced } = await writeBody(partPath(ctx, id), body,
      { position: offset, room, hash, bringsRest: declared === room })
      .finally(() => lock.signal.removeEventListener('abort', stop));

    const to = offset + written;
    if (synced) {
      const saved = await saveOffset(ctx, upload, to);
      if (hash !== null) hashes.keep(id, to, hash);
      // Synced means short of the end, or past it.
      if (overflow) throw badRequest('Upload-Length', 'the body goes past Upload-Length');
      return { upload: saved, recording: null };
    }
    try {
      return await finish(ctx, upload, hash, written);
    } catch (err) {
      // Another request finished or removed the upload meanwhile: nothing here to keep.
      if (err instanceof AppError && err.code === 'conflict') throw err;
      // The bytes stay, counted, so that the client's retry makes the recording from them.
      // Should that fail too, the upload went on elsewhere; the first error says what
      // happened to this request.
      try {
        await syncFile(partPath(ctx, id));
        await saveOffset(ctx, upload, to);
        if (hash !== null) hashes.keep(id, to, hash);
      } catch (kept) {
        ctx.log.warn({ err: kept, upload: id }, 'the last bytes of a failed upload not counted');
      }
      throw err;
    }
  } finally {
    lock.release();
  }
}

async function saveOffset(ctx: Context, upload: Upload, to: number): Promise<Upload> {
  if (to === upload.upload_offset) return upload;
  const now = ctx.clock();
  if (!(await advanceUpload(ctx.db.kysely, upload.id, upload.upload_offset, to, now,
    now + UPLOAD_TTL_MS))) {
    throw movedOnError();
  }
  return { ...upload, upload_offset: to, updated_at: now, expires_at: now + UPLOAD_TTL_MS };
}

/**
 * Writes the body from `position` on, hashing it on the way, and reports how many bytes are
 * on disk. Unless they complete the upload, they are synced before the count is trusted, and
 * a long body is synced as it arrives so that the last sync has little left to do. A
 * connection that drops ends the body early; that is not an error.
 */
async function writeBody(file: string, body: Readable, options: { position: number;
  room: number; hash: Hash | null; bringsRest: boolean }) {
  const handle = await open(file, 'r+').catch(notHere);
  try {
    const { written, overflow } = await writeArriving(body as AsyncIterable<Buffer>, handle,
      { ...options, syncEvery: options.bringsRest ? 0 : SYNC_EVERY_BYTES });
    const completes = written === options.room && !overflow;
    if (!completes) await handle.datasync();
    return { written, overflow, synced: !completes };
  } finally {
    await handle.close();
  }
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Turns the complete upload into a recording exactly as POST /upload does, counting the
 * `written` bytes that completed it in the recording's transaction. The bytes are handed
 * over under a second name, so that if creating the recording fails the upload is still
 * whole and the client's retry finishes it.
 */
async function finish(ctx: Context, upload: Upload, hash: Hash | null,
  written = 0): Promise<UploadState> {
  const meta = JSON.parse(upload.metadata) as StoredUploadMeta;
  const account = await findAccountById(ctx.db.kysely, upload.account_id);
  const env = await findEnvironmentByEnvId(ctx.db.kysely, upload.account_id, upload.env_id);
  if (account === undefined || env === undefined) {
    throw new AppError('not_found', "the upload's environment no longer exists");
  }
  const source = partPath(ctx, upload.id);
  // A copy, so that the kept state still serves a retry if making the recording fails; read
  // back only when some of the bytes arrived at another process (see UploadHashes).
  const digest = hash?.copy().digest('hex') ?? await hashFile(source).catch(movedOn);
  const staged = `${source}.${randomToken(8)}`;
  await link(source, staged).catch(() => copyFile(source, staged)).catch(movedOn);
  const move = { from: upload.upload_offset, to: upload.upload_offset + written };
  const now = ctx.clock();
  const rec = await createRecording(ctx, account, env,
    { path: staged, size: upload.upload_length, filename: meta.filename || 'recording',
      sha256: digest },
    { ...meta, source: 'DESK' },
    async (trx, recording) => {
      if (!(await finishUpload(trx, upload.id, move, recording.id, now))) {
        throw movedOnError();
      }
    });
  hashesOf(ctx).drop(upload.id);
  await rm(source, { force: true });
  ctx.log.info({ recordingId: rec.id, upload: upload.id }, 'resumable upload finished');
  return {
    upload: { ...upload, upload_offset: move.to, recording_id: rec.id, updated_at: now },
    recording: { id: rec.id, name: rec.name },
  };
}

/** Another request (of another process) finished, moved or removed the upload meanwhile. */
function movedOnError(): AppError {
  return new AppError('conflict', 'the upload moved on meanwhile; ask where it stands');
}

/** The upload's bytes went while this request held them: another process finished or removed it. */
function movedOn(err: unknown): never {
  throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? movedOnError() : err;
}

/** tus termination: the upload and its bytes go; a write still running is stopped first. */
export async function terminateUpload(ctx: Context, id: string): Promise<void> {
  const lock = await locks.acquire(id);
  try {
    const upload = /^[a-f0-9]{32}$/.test(id) ? await findUpload(ctx.db.kysely, id) : undefined;
    if (upload === undefined) throw new AppError('not_found', 'no such upload');
    await deleteUpload(ctx.db.kysely, id);
    hashesOf(ctx).drop(id);
    await rm(partPath(ctx, id), { force: true });
  } finally {
    lock.release();
  }
}

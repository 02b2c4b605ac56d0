import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Kysely } from 'kysely';

import type { Context } from '../context.js';
import type { Account, Database, Job, Recording, RecordingUpdate } from '../db/schema.js';
import { COPIED_EVENT, TARGET_FLAG, copiedEventData } from '../delivery/events.js';
import { TARGET_TABLE, destinationFor, isConfigured } from '../delivery/index.js';
import type { CredentialsRow } from '../delivery/index.js';
import { DELIVERY_TARGETS } from '../delivery/types.js';
import type { DeliveryTarget, Destination, LocalFile } from '../delivery/types.js';
import { JOB_POLICIES } from '../jobs/policies.js';
import type { JobHandler } from '../jobs/worker.js';
import { AppError } from '../lib/errors.js';
import { findAccountById } from '../repositories/accounts.js';
import { credentialsForEnvironment, findCredentials } from '../repositories/credentials.js';
import { findEnvironmentByEnvId } from '../repositories/environments.js';
import {
  findRecordingDelivery, insertRecordingDelivery, listRecordingDeliveries,
  updateRecordingDelivery,
} from '../repositories/recording-deliveries.js';
import { findRecordingForJob, updateRecording } from '../repositories/recordings.js';
import { emitEvent } from './events.js';
import { mediaKeys } from './recording-view.js';

export interface DeliveryJob {
  recordingId: number;
  target: DeliveryTarget;
  credentialsId: number;
}

interface StoredFile {
  key: string;
  name: string;
  contentType: string;
  role: 'mp4' | 'snapshot' | 'original';
}

export interface WrittenFile {
  name: string;
  size: number;
  url: string | null;
}

/**
 * Adds, inside the caller's transaction, one delivery and its job for every destination the
 * recording's environment has. A destination already planned (a second run) is left alone.
 */
export async function planDeliveries(
  ctx: Context,
  trx: Kysely<Database>,
  rec: Recording,
): Promise<number> {
  let planned = 0;
  for (const target of DELIVERY_TARGETS) {
    const rows = await credentialsForEnvironment(trx, TARGET_TABLE[target], rec.account_id,
      rec.env_id) as unknown as CredentialsRow[];
    for (const row of rows.filter((r) => isConfigured(target, r))) {
      const added = await insertRecordingDelivery(trx, {
        account_id: rec.account_id, recording_id: rec.id, target, credentials_id: row.id,
        status: 'pending', created_at: ctx.clock(), next_attempt_at: ctx.clock(),
      });
      if (!added) continue;
      await ctx.queue.enqueue(trx, 'delivery.copy',
        { recordingId: rec.id, target, credentialsId: row.id }, { recordingId: rec.id });
      planned += 1;
    }
  }
  return planned;
}

/** The files a destination gets: the MP4, the snapshot and, where kept, the original. */
export function storedFiles(account: Account, rec: Recording): StoredFile[] {
  const keys = mediaKeys(account.account_hash, rec);
  const files: StoredFile[] = [];
  const add = (key: string, role: StoredFile['role'], contentType: string) =>
    files.push({ key, role, contentType, name: key.slice(key.indexOf('/') + 1) });
  if (rec.has_mp4 === 1) add(keys.mp4, 'mp4', 'video/mp4');
  if (rec.has_snapshot === 1) add(keys.snapshot, 'snapshot', 'image/jpeg');
  if (rec.has_original === 1) add(keys.original, 'original', 'application/octet-stream');
  return files;
}

/**
 * Copies every file and checks each one's size at the destination. Nothing is reported as
 * delivered unless all of them are there whole.
 */
export async function copyFiles(
  ctx: Context,
  dest: Destination,
  files: StoredFile[],
  workDir: string,
  signal: AbortSignal,
): Promise<WrittenFile[]> {
  const locals: LocalFile[] = [];
  for (const file of files) {
    const size = await ctx.store.size(file.key);
    if (size === null) {
      throw new AppError('not_found', `the media store no longer has ${file.name}`);
    }
    const local = await ctx.store.localCopy(file.key, workDir);
    locals.push({ path: local, name: file.name, size, contentType: file.contentType });
  }

  const session = await dest.open(signal);
  try {
    const written: WrittenFile[] = [];
    for (const file of locals) {
      await session.put(file, signal);
      const there = await session.size(file.name);
      if (there !== file.size) {
        throw new AppError('upstream', `${file.name} at ${dest.label} has ` +
          `${there === null ? 'no' : there} bytes instead of ${file.size}`);
      }
      written.push({ name: file.name, size: file.size, url: dest.urlOf(file.name) });
    }
    return written;
  } finally {
    await session.close().catch(() => undefined);
  }
}

async function loadCredentials(
  ctx: Context,
  job: DeliveryJob,
  accountId: number,
): Promise<CredentialsRow | undefined> {
  const row = await findCredentials(ctx.db.kysely, TARGET_TABLE[job.target], accountId,
    job.credentialsId) as unknown as CredentialsRow | undefined;
  return row !== undefined && isConfigured(job.target, row) ? row : undefined;
}

/** Nominal seconds until the next attempt, as the API's retry_interval shows it; -1 for none. */
function retryIntervalSec(job: Job, retryable: boolean): number {
  const delay = JOB_POLICIES['delivery.copy'].retryScheduleMs[job.attempts - 1];
  return retryable && delay !== undefined && job.attempts < job.max_attempts
    ? Math.round(delay / 1000) : -1;
}

/**
 * Copies one recording to one destination. The credentials are read at every attempt, so a
 * change made through the API is what the next attempt uses.
 */
export function deliveryHandler(ctx: Context): JobHandler {
  const db = ctx.db.kysely;
  return {
    async run(job: Job, signal: AbortSignal) {
      const p = JSON.parse(job.payload) as DeliveryJob;
      const delivery = await findRecordingDelivery(db, p);
      if (delivery === undefined || delivery.status === 'cancelled') return;
      const rec = await findRecordingForJob(db, p.recordingId);
      const account = rec === undefined ? undefined : await findAccountById(db, rec.account_id);
      if (rec === undefined || account === undefined || rec.deleted_at !== null) {
        await updateRecordingDelivery(db, delivery.id, { status: 'cancelled',
          next_attempt_at: null, last_error: 'the recording was deleted' });
        return;
      }
      if (delivery.status === 'delivered') {
        await removeStoredCopiesIfDone(ctx, rec.id);
        return;
      }
      const row = await loadCredentials(ctx, p, account.id);
      if (row === undefined) {
        await updateRecordingDelivery(db, delivery.id, { status: 'cancelled',
          next_attempt_at: null, last_error: 'the credentials were removed or emptied' });
        return;
      }

      const now = ctx.clock();
      const workDir = path.join(ctx.config.dataDir, 'work',
        `${process.pid}-d${rec.id}-${randomBytes(4).toString('hex')}`);
      await mkdir(workDir, { recursive: true });
      let written: WrittenFile[];
      let dest: Destination;
      try {
        dest = await destinationFor(p.target, row, ctx);
        written = await copyFiles(ctx, dest, storedFiles(account, rec), workDir, signal);
      } catch (caught) {
        const err = caught instanceof AppError ? caught
          : new AppError('upstream', caught instanceof Error ? caught.message : String(caught));
        const retryInSec = retryIntervalSec(job, err.retryable);
        await updateRecordingDelivery(db, delivery.id, { attempts: job.attempts,
          last_error: err.message, last_attempt_at: now,
          next_attempt_at: retryInSec < 0 ? null : now + retryInSec * 1000 });
        await updateRecording(db, rec.id, { retry_interval: retryInSec, last_retry_time: now });
        ctx.log.warn({ recordingId: rec.id, target: p.target, attempt: job.attempts,
          err: err.message }, 'delivery failed');
        throw err;
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }

      await db.transaction().execute(async (trx) => {
        await updateRecordingDelivery(trx, delivery.id, { status: 'delivered',
          attempts: job.attempts, last_error: null, last_attempt_at: now, delivered_at: now,
          next_attempt_at: null, files: JSON.stringify(written) });
        const all = await listRecordingDeliveries(trx, rec.id);
        const changes: RecordingUpdate = {};
        if (all.filter((d) => d.target === p.target).every((d) => d.status === 'delivered')) {
          changes[TARGET_FLAG[p.target]] = 1;
        }
        if (!all.some((d) => d.status === 'pending')) changes.retry_interval = -1;
        if (Object.keys(changes).length > 0) await updateRecording(trx, rec.id, changes);

        const facts = {
          url: written.find((f) => f.name.endsWith('.mp4'))?.url ?? null,
          snapshotUrl: written.find((f) => f.name.endsWith('.jpg'))?.url ?? null,
          ...('amz_bucket' in row ? { bucket: row.amz_bucket, region: row.amz_bucket_region,
            acl: row.amz_acl } : {}),
        };
        const view = { publicUrl: ctx.config.publicUrl, timeZone: ctx.config.timeZone,
          region: rec.region };
        const updated = { ...rec, ...changes } as Recording;
        await emitEvent(ctx, trx, COPIED_EVENT[p.target], updated, account,
          copiedEventData(p.target, updated, account, view, facts));
      });
      ctx.queue.notify();
      ctx.log.info({ recordingId: rec.id, target: p.target, files: written.length },
        'recording delivered');
      await removeStoredCopiesIfDone(ctx, rec.id);
    },

    async giveUp(job: Job, error: Error) {
      const p = JSON.parse(job.payload) as DeliveryJob;
      const delivery = await findRecordingDelivery(db, p);
      if (delivery === undefined || delivery.status !== 'pending') return;
      await db.transaction().execute(async (trx) => {
        await updateRecordingDelivery(trx, delivery.id, { status: 'failed',
          next_attempt_at: null, last_error: error.message.slice(0, 2000) });
        const all = await listRecordingDeliveries(trx, p.recordingId);
        if (!all.some((d) => d.status === 'pending')) {
          await updateRecording(trx, p.recordingId, { retry_interval: -1 });
        }
      });
    },
  };
}

/**
 * For an environment that keeps nothing (do_not_store), removes the media store's copies
 * once every delivery of the recording has succeeded. Safe to run again: a crash between
 * the last delivery and this leaves it for the next run of any of its delivery jobs.
 */
export async function removeStoredCopiesIfDone(ctx: Context, recordingId: number) {
  const db = ctx.db.kysely;
  const rec = await findRecordingForJob(db, recordingId);
  if (rec === undefined || rec.not_stored === 1 || rec.deleted_at !== null) return;
  const env = await findEnvironmentByEnvId(db, rec.account_id, rec.env_id);
  if (env?.do_not_store !== 1) return;
  const all = await listRecordingDeliveries(db, rec.id);
  if (all.length === 0 || all.some((d) => d.status !== 'delivered')) return;
  const account = await findAccountById(db, rec.account_id);
  if (account === undefined) return;

  const keys = mediaKeys(account.account_hash, rec);
  await Promise.all(Object.values(keys).map((key) => ctx.store.delete(key)));
  await updateRecording(db, rec.id, { not_stored: 1 });
  ctx.log.info({ recordingId: rec.id }, 'stored copies removed after every delivery');
}

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Context } from '../context.js';
import type { Job } from '../db/schema.js';
import type { JobHandler } from '../jobs/worker.js';
import { convertRecording } from '../media/convert.js';
import { findAccountById } from '../repositories/accounts.js';
import { findEnvironmentByEnvId } from '../repositories/environments.js';
import { findRecordingForJob, updateRecording } from '../repositories/recordings.js';
import { planDeliveries } from './deliveries.js';
import { emitEvent } from './events.js';
import { mediaKeys } from './recording-view.js';

/**
 * Converts a recording and puts its outputs in the media store. Running it twice is safe:
 * outputs are rewritten under the same names, and a converted recording is left alone.
 */
export function processRecordingHandler(ctx: Context): JobHandler {
  return {
    async run(job: Job, signal: AbortSignal) {
      const { recordingId } = JSON.parse(job.payload) as { recordingId: number };
      const db = ctx.db.kysely;
      const rec = await findRecordingForJob(db, recordingId);
      if (rec === undefined || rec.deleted_at !== null || rec.status !== 'recorded') return;
      const account = await findAccountById(db, rec.account_id);
      if (account === undefined) return;
      const env = await findEnvironmentByEnvId(db, rec.account_id, rec.env_id);

      const keys = mediaKeys(account.account_hash, rec);
      const workDir = path.join(ctx.config.dataDir, 'work',
        `${process.pid}-${rec.id}-${randomBytes(4).toString('hex')}`);
      await mkdir(workDir, { recursive: true });
      try {
        const input = await ctx.store.localCopy(keys.original, workDir);
        const out = await convertRecording(ctx.media, input, workDir, rec.name, {
          timeoutMs: ctx.config.ffmpegTimeoutMs,
          signal,
          filmstrip: env?.filmstrip === 1,
        });
        await ctx.store.put(keys.mp4, out.mp4Path, { move: true });
        if (out.snapshotPath !== null) {
          await ctx.store.put(keys.snapshot, out.snapshotPath, { move: true });
        }
        if (out.filmstripPath !== null) {
          await ctx.store.put(keys.filmstrip, out.filmstripPath, { move: true });
        }
        if (out.filmstripFailure !== null) {
          ctx.log.warn({ recordingId: rec.id, reason: out.filmstripFailure },
            'no filmstrip made; the recording is converted without one');
        }

        const video = out.input.video;
        await db.transaction().execute(async (trx) => {
          const current = await findRecordingForJob(trx, rec.id);
          if (current === undefined || current.deleted_at !== null) return;
          const changes = {
            status: 'converted' as const,
            failure_reason: null,
            original_container: out.input.container,
            length: out.durationSec,
            width: out.width,
            height: out.height,
            orig_width: video?.width ?? null,
            orig_height: video?.height ?? null,
            rotation: video?.rotation ?? 0,
            size: out.sizeBytes,
            has_audio: out.hasAudio ? 1 : 0,
            audio_only: out.audioOnly ? 1 : 0,
            converted: 1,
            transcoded: 1,
            has_mp4: 1,
            has_snapshot: out.snapshotPath === null ? 0 : 1,
            has_filmstrip: out.filmstripPath === null ? 0 : 1,
            checksum_md5: out.md5,
            checksum_sha1: out.sha1,
          };
          await updateRecording(trx, rec.id, changes);
          const updated = { ...current, ...changes };
          await emitEvent(ctx, trx, 'video_converted', updated, account);
          await emitEvent(ctx, trx, 'video_copied_pipe_s3', updated, account);
          await emitEvent(ctx, trx, 'video_transcoded', updated, account);
          await planDeliveries(ctx, trx, updated);
        });
        ctx.queue.notify();
        // A DELETE that came during the conversion removed the files it saw; what this job
        // stored since then goes now, whichever of the two finished first.
        const after = await findRecordingForJob(db, rec.id);
        if (after === undefined || after.deleted_at !== null) {
          await Promise.all(Object.values(keys).map((key) => ctx.store.delete(key)));
          return;
        }
        ctx.log.info({ recordingId: rec.id, remuxed: out.remuxed, seconds: out.durationSec },
          'recording converted');
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },

    async giveUp(job: Job, error: Error) {
      const { recordingId } = JSON.parse(job.payload) as { recordingId: number };
      await updateRecording(ctx.db.kysely, recordingId, {
        status: 'failed',
        failure_reason: error.message.slice(0, 1000),
      });
    },
  };
}

/**
 * Removes work folders left by processes that died mid-job. A folder is named by its
 * process id, so folders of processes still running on this machine are left alone.
 */
export async function removeStaleWorkDirs(dataDir: string): Promise<number> {
  const root = path.join(dataDir, 'work');
  const entries = await readdir(root).catch(() => [] as string[]);
  let removed = 0;
  for (const name of entries) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) continue;
    if (pid === process.pid) continue;
    await rm(path.join(root, name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

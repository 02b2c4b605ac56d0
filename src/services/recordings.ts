import type { Context } from '../context.js';
import type { Account, Recording } from '../db/schema.js';
import { notFound } from '../lib/errors.js';
import { cancelRecordingJobs } from '../repositories/jobs.js';
import {
  deleteDeliveriesOf, deleteUploadsOf, flushErased, markDeletedAndErase,
} from '../repositories/privacy.js';
import { findRecording } from '../repositories/recordings.js';
import { mediaKeys } from './recording-view.js';

/**
 * Deletes a recording: hidden from every later call at once, its personal data erased,
 * pending work and webhooks about it dropped, and every file of it removed from the media
 * store. Copies already delivered to the customer's own storage are theirs and stay.
 */
export async function deleteRecording(ctx: Context, account: Account, id: number) {
  const rec = await findRecording(ctx.db.kysely, account.id, id);
  if (rec === undefined) throw notFound('recording');

  const removed = await removeRecordings(ctx, account, [rec]);
  if (removed.length === 0) throw notFound('recording');
  ctx.log.info({ recordingId: id }, 'recording deleted');
  return rec;
}

/**
 * The one way recordings are deleted, by a person or by an environment's lifecycle. The
 * rows change in one transaction; the files go after it commits, so that a failure in
 * between can leave files of a deleted recording (logged by key), never a live recording
 * without its files. Returns the recordings this call deleted.
 */
export async function removeRecordings(
  ctx: Context,
  account: Account,
  recs: readonly Recording[],
): Promise<Recording[]> {
  const now = ctx.clock();
  const ids = recs.map((r) => r.id);
  const deletedIds = await ctx.db.kysely.transaction().execute(async (trx) => {
    const done = await markDeletedAndErase(trx, account.id, ids, now);
    for (const id of done) await cancelRecordingJobs(trx, id, now);
    await deleteDeliveriesOf(trx, done);
    await deleteUploadsOf(trx, done);
    return new Set(done);
  });
  const deleted = recs.filter((r) => deletedIds.has(r.id));

  for (const rec of deleted) {
    const keys = Object.values(mediaKeys(account.account_hash, rec));
    const results = await Promise.allSettled(keys.map((key) => ctx.store.delete(key)));
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      ctx.log.error({ recordingId: rec.id, key: keys[i], err: result.reason as unknown },
        'file of a deleted recording not removed');
    });
  }
  if (deleted.length > 0) await flushErased(ctx.db);
  return deleted;
}

import type { Context } from '../context.js';
import type { Account } from '../db/schema.js';
import { notFound } from '../lib/errors.js';
import { cancelRecordingDeliveries } from '../repositories/deliveries.js';
import { cancelRecordingJobs } from '../repositories/jobs.js';
import { findRecording, markRecordingDeleted } from '../repositories/recordings.js';
import { mediaKeys } from './recording-view.js';

/**
 * Deletes a recording: hidden from every later call at once, pending work and webhooks
 * about it cancelled, and every file of it removed from the media store.
 */
export async function deleteRecording(ctx: Context, account: Account, id: number) {
  const rec = await findRecording(ctx.db.kysely, account.id, id);
  if (rec === undefined) throw notFound('recording');

  const now = ctx.clock();
  const deleted = await ctx.db.kysely.transaction().execute(async (trx) => {
    if (!(await markRecordingDeleted(trx, account.id, id, now))) return false;
    await cancelRecordingJobs(trx, id, now);
    await cancelRecordingDeliveries(trx, id);
    return true;
  });
  if (!deleted) throw notFound('recording');

  const keys = mediaKeys(account.account_hash, rec);
  await Promise.all(Object.values(keys).map((key) => ctx.store.delete(key)));
  ctx.log.info({ recordingId: id }, 'recording deleted');
  return rec;
}

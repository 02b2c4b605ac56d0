import type { Insertable, Kysely } from 'kysely';

import type { Database, Upload, UploadsTable } from '../db/schema.js';

type Exec = Kysely<Database>;

export async function insertUpload(db: Exec, row: Insertable<UploadsTable>): Promise<Upload> {
  return db.insertInto('uploads').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findUpload(db: Exec, id: string): Promise<Upload | undefined> {
  return db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Unfinished uploads of an account that have not expired yet. */
export async function countOpenUploads(db: Exec, accountId: number, now: number) {
  const row = await db.selectFrom('uploads').select((eb) => eb.fn.countAll().as('n'))
    .where('account_id', '=', accountId).where('recording_id', 'is', null)
    .where('expires_at', '>', now).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Moves the offset forward from where the caller read it. False when another request moved
 * it first, so two writers can never both count the same bytes.
 */
export async function advanceUpload(
  db: Exec,
  id: string,
  from: number,
  to: number,
  now: number,
  expiresAt: number,
): Promise<boolean> {
  const result = await db.updateTable('uploads')
    .set({ upload_offset: to, updated_at: now, expires_at: expiresAt })
    .where('id', '=', id).where('upload_offset', '=', from).where('recording_id', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Keeps an upload alive while bytes arrive, so expiry never removes one being written. */
export async function touchUpload(db: Exec, id: string, expiresAt: number): Promise<void> {
  await db.updateTable('uploads').set({ expires_at: expiresAt }).where('id', '=', id).execute();
}

/**
 * Marks the upload finished at `to`, its last bytes counted in the same write; its metadata
 * goes, as the recording now holds it. False when another request moved the upload first.
 */
export async function finishUpload(
  db: Exec,
  id: string,
  move: { from: number; to: number },
  recordingId: number,
  now: number,
): Promise<boolean> {
  const result = await db.updateTable('uploads')
    .set({ upload_offset: move.to, recording_id: recordingId, metadata: '{}', updated_at: now })
    .where('id', '=', id).where('upload_offset', '=', move.from).where('recording_id', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function deleteUpload(db: Exec, id: string): Promise<boolean> {
  const result = await db.deleteFrom('uploads').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function listExpiredUploads(db: Exec, now: number, limit: number) {
  return db.selectFrom('uploads').select(['id', 'recording_id']).where('expires_at', '<=', now)
    .orderBy('expires_at').limit(limit).execute();
}

/** The recording a finished upload became, as its client is told about it. */
export async function findUploadRecording(db: Exec, recordingId: number) {
  return db.selectFrom('recordings').select(['id', 'name']).where('id', '=', recordingId)
    .executeTakeFirst();
}

import type { Kysely } from 'kysely';

import { compiledOnce } from '../db/compiled.js';
import type { Database, NewRecording, Recording, RecordingUpdate } from '../db/schema.js';

type Exec = Kysely<Database>;

export async function insertRecording(db: Exec, row: NewRecording): Promise<Recording> {
  return db.insertInto('recordings').values(row).returningAll().executeTakeFirstOrThrow();
}

const selectVisible = compiledOnce((db: Exec, accountId: number, id: number) =>
  db.selectFrom('recordings').selectAll()
    .where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null));

/** A recording the account can see: its own and not deleted. */
export async function findRecording(
  db: Exec,
  accountId: number,
  id: number,
): Promise<Recording | undefined> {
  const rows = await selectVisible(db, accountId, id);
  return rows[0];
}

/** For jobs, which act on a recording by id alone; deleted ones are returned and skipped. */
export async function findRecordingForJob(db: Exec, id: number): Promise<Recording | undefined> {
  return db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countRecordings(db: Exec, accountId: number): Promise<number> {
  const row = await db.selectFrom('recordings').select((eb) => eb.fn.countAll().as('n'))
    .where('account_id', '=', accountId).where('deleted_at', 'is', null).executeTakeFirst();
  return Number(row?.n ?? 0);
}

const selectPage = compiledOnce((db: Exec, accountId: number, afterId: number, limit: number) =>
  db.selectFrom('recordings').selectAll()
    .where('account_id', '=', accountId).where('deleted_at', 'is', null)
    .where('id', '>', afterId).orderBy('id').limit(limit));

/** Pages through an account's recordings by id, so that any number can be streamed. */
export async function listRecordingsPage(
  db: Exec,
  accountId: number,
  afterId: number,
  limit: number,
): Promise<Recording[]> {
  return selectPage(db, accountId, afterId, limit);
}

export async function updateRecording(
  db: Exec,
  id: number,
  changes: RecordingUpdate,
): Promise<void> {
  await db.updateTable('recordings').set(changes).where('id', '=', id).execute();
}

export async function markRecordingDeleted(
  db: Exec,
  accountId: number,
  id: number,
  now: number,
): Promise<boolean> {
  const result = await db.updateTable('recordings').set({ deleted_at: now })
    .where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

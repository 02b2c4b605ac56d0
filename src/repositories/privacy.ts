import { sql } from 'kysely';
import type { Kysely } from 'kysely';

import type { Db } from '../db/connect.js';
import type { Database, Environment, Recording } from '../db/schema.js';

type Exec = Kysely<Database>;

/** The recorder's personal data on a recording, as it reads once erased. */
export const ERASED_FIELDS = {
  ipv4: '',
  ua: '',
  http_referer: '',
  camera_name: '',
  microphone_name: '',
  payload: '',
} as const;

/**
 * Hides recordings from every listing and erases their personal data in the same write; the
 * row stays so that work still queued for it can tell that it was deleted. Returns the ids
 * that were live until now.
 */
export async function markDeletedAndErase(
  db: Exec,
  accountId: number,
  ids: readonly number[],
  now: number,
): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db.updateTable('recordings').set({ ...ERASED_FIELDS, deleted_at: now })
    .where('account_id', '=', accountId).where('id', 'in', ids).where('deleted_at', 'is', null)
    .returning('id').execute();
  return rows.map((r) => r.id);
}

/** Erases personal data and marks recordings anonymized; ones already anonymized are left. */
export async function anonymizeRecordings(
  db: Exec,
  accountId: number,
  ids: readonly number[],
  now: number,
): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db.updateTable('recordings')
    .set({ ...ERASED_FIELDS, anonymized: 1, date_anonymized: now })
    .where('account_id', '=', accountId).where('id', 'in', ids).where('deleted_at', 'is', null)
    .where('anonymized', '=', 0)
    .returning('id').execute();
  return rows.map((r) => r.id);
}

/** The delivery log's rows for these recordings go with them: their bodies hold the same data. */
export async function deleteDeliveriesOf(db: Exec, recordingIds: readonly number[]) {
  if (recordingIds.length === 0) return;
  await db.deleteFrom('webhook_deliveries').where('recording_id', 'in', recordingIds).execute();
}

/** Finished resumable uploads that became these recordings stop pointing at them. */
export async function deleteUploadsOf(db: Exec, recordingIds: readonly number[]) {
  if (recordingIds.length === 0) return;
  await db.deleteFrom('uploads').where('recording_id', 'in', recordingIds).execute();
}

export async function deliveryBodiesOf(
  db: Exec,
  recordingIds: readonly number[],
): Promise<{ id: number; body: string }[]> {
  if (recordingIds.length === 0) return [];
  return db.selectFrom('webhook_deliveries').select(['id', 'body'])
    .where('recording_id', 'in', recordingIds).orderBy('id').execute();
}

export async function setDeliveryBody(db: Exec, id: number, body: string): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ body }).where('id', '=', id).execute();
}

export async function environmentsWithLifecycle(db: Exec): Promise<Environment[]> {
  return db.selectFrom('environments').selectAll().where('lifecycle_days', 'is not', null)
    .orderBy('id').execute();
}

/**
 * An environment's live recordings made before `before`, oldest first. Failed recordings are
 * left for a person to look at: only a DELETE removes them.
 */
export async function expiredRecordings(
  db: Exec,
  accountId: number,
  envId: number,
  before: number,
  limit: number,
): Promise<Recording[]> {
  return db.selectFrom('recordings').selectAll()
    .where('account_id', '=', accountId).where('env_id', '=', envId)
    .where('deleted_at', 'is', null).where('created_at', '<', before)
    .where('status', '!=', 'failed')
    .orderBy('created_at').orderBy('id').limit(limit).execute();
}

/** Ids of an environment's live recordings made before `before` and not yet anonymized. */
export async function recordingsToAnonymize(
  db: Exec,
  accountId: number,
  envId: number,
  before: number,
  limit: number,
): Promise<number[]> {
  const rows = await db.selectFrom('recordings').select('id')
    .where('account_id', '=', accountId).where('env_id', '=', envId)
    .where('deleted_at', 'is', null).where('created_at', '<', before)
    .where('anonymized', '=', 0)
    .orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

/**
 * On SQLite, copies the write-ahead log into the database file and empties it, so that page
 * images from before an erasure do not linger in the log. PostgreSQL reclaims old row
 * versions through its own vacuum.
 */
export async function flushErased(db: Db): Promise<void> {
  if (db.dialect !== 'sqlite') return;
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db.kysely);
}

import type { Insertable, Kysely, Updateable } from 'kysely';

import type {
  Database, RecordingDeliveriesTable, RecordingDelivery,
} from '../db/schema.js';

type Exec = Kysely<Database>;

export interface DeliveryKey {
  recordingId: number;
  target: string;
  credentialsId: number;
}

/** Adds the row unless it is there already; true when it was added. */
export async function insertRecordingDelivery(
  db: Exec,
  row: Insertable<RecordingDeliveriesTable>,
): Promise<boolean> {
  const result = await db.insertInto('recording_deliveries').values(row)
    .onConflict((oc) => oc.columns(['recording_id', 'target', 'credentials_id']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function findRecordingDelivery(
  db: Exec,
  key: DeliveryKey,
): Promise<RecordingDelivery | undefined> {
  return db.selectFrom('recording_deliveries').selectAll()
    .where('recording_id', '=', key.recordingId).where('target', '=', key.target)
    .where('credentials_id', '=', key.credentialsId).executeTakeFirst();
}

export async function listRecordingDeliveries(
  db: Exec,
  recordingId: number,
): Promise<RecordingDelivery[]> {
  return db.selectFrom('recording_deliveries').selectAll()
    .where('recording_id', '=', recordingId).orderBy('id').execute();
}

export async function updateRecordingDelivery(
  db: Exec,
  id: number,
  changes: Updateable<RecordingDeliveriesTable>,
): Promise<void> {
  await db.updateTable('recording_deliveries').set(changes).where('id', '=', id).execute();
}

import type { Kysely } from 'kysely';

import type { DialectName } from '../connect.js';

/**
 * The SHA-256 of each recording's original as it was uploaded, taken while the bytes
 * arrived. Recordings made before this have none.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('recordings').addColumn('original_sha256', 'text').execute();
}

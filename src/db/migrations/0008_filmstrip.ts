import type { Kysely } from 'kysely';

import type { DialectName } from '../connect.js';

/** Whether an environment's recordings get a filmstrip; none did before, nor do unless asked. */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('environments')
    .addColumn('filmstrip', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

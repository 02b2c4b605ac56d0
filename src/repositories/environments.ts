import type { Insertable, Kysely } from 'kysely';

import type { Database, Environment, EnvironmentsTable } from '../db/schema.js';

type Exec = Kysely<Database>;

export async function listEnvironments(db: Exec, accountId: number): Promise<Environment[]> {
  return db.selectFrom('environments').selectAll().where('account_id', '=', accountId)
    .orderBy('env_id').execute();
}

export async function findEnvironment(
  db: Exec,
  accountId: number,
  id: number,
): Promise<Environment | undefined> {
  return db.selectFrom('environments').selectAll()
    .where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

export async function findEnvironmentByEnvId(
  db: Exec,
  accountId: number,
  envId: number,
): Promise<Environment | undefined> {
  return db.selectFrom('environments').selectAll()
    .where('account_id', '=', accountId).where('env_id', '=', envId).executeTakeFirst();
}

/**
 * The next env_id of an account. On PostgreSQL the account row is locked first, so that two
 * environments created at once do not both take the same number.
 */
export async function nextEnvId(db: Exec, accountId: number, lock = false): Promise<number> {
  if (lock) {
    await db.selectFrom('accounts').select('id').where('id', '=', accountId).forUpdate()
      .execute();
  }
  const row = await db.selectFrom('environments')
    .select((eb) => eb.fn.max('env_id').as('max'))
    .where('account_id', '=', accountId).executeTakeFirst();
  return Number(row?.max ?? 0) + 1;
}

export async function insertEnvironment(
  db: Exec,
  row: Insertable<EnvironmentsTable>,
): Promise<Environment> {
  return db.insertInto('environments').values(row).returningAll().executeTakeFirstOrThrow();
}

/** The columns a customer may change. */
export type EnvironmentSetting = 'env_name' | 'do_not_store' | 'send_video_email' | 'collect_ip'
  | 'collect_ua' | 'collect_referer' | 'collect_device_names' | 'lifecycle_days' | 'filmstrip';

export async function updateEnvironment(
  db: Exec,
  accountId: number,
  id: number,
  changes: Partial<Pick<Environment, EnvironmentSetting>>,
): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db.updateTable('environments').set(changes)
    .where('account_id', '=', accountId).where('id', '=', id).execute();
}

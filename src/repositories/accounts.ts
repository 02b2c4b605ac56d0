import { sql } from 'kysely';
import type { Insertable, Kysely } from 'kysely';

import type { Account, AccountsTable, Database, Environment } from '../db/schema.js';

type Exec = Kysely<Database>;

export async function insertAccount(db: Exec, row: Insertable<AccountsTable>): Promise<Account> {
  return db.insertInto('accounts').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findAccountByKeyHash(db: Exec, hash: string): Promise<Account | undefined> {
  return db.selectFrom('accounts').selectAll().where('api_key_hash', '=', hash)
    .executeTakeFirst();
}

export async function findAccountById(db: Exec, id: number): Promise<Account | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findAccountByHash(db: Exec, hash: string): Promise<Account | undefined> {
  return db.selectFrom('accounts').selectAll().where('account_hash', '=', hash)
    .executeTakeFirst();
}

export async function addApiRequests(db: Exec, id: number, n: number): Promise<void> {
  await db.updateTable('accounts').set({ api_requests: sql`api_requests + ${n}` })
    .where('id', '=', id).execute();
}

export async function updateAccount(
  db: Exec,
  id: number,
  changes: Partial<Omit<Account, 'id'>>,
): Promise<void> {
  await db.updateTable('accounts').set(changes).where('id', '=', id).execute();
}

/** Finds the environment an upload names, with its account, by the two public codes. */
export async function findUploadTarget(
  db: Exec,
  accountHash: string,
  envCode: string,
): Promise<{ account: Account; environment: Environment } | undefined> {
  const account = await findAccountByHash(db, accountHash);
  if (account === undefined) return undefined;
  let environment = await db.selectFrom('environments').selectAll()
    .where('account_id', '=', account.id).where('env_code', '=', envCode).executeTakeFirst();
  // Old embed codes name the environment by its number instead of its code.
  if (environment === undefined && /^\d{1,9}$/.test(envCode)) {
    environment = await db.selectFrom('environments').selectAll()
      .where('account_id', '=', account.id).where('env_id', '=', Number(envCode))
      .executeTakeFirst();
  }
  return environment === undefined ? undefined : { account, environment };
}

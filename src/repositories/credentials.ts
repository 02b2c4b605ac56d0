import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';

import type { Database } from '../db/schema.js';

type Exec = Kysely<Database>;

/** The three credential tables share one shape of access: by account, by id, by environment. */
export type CredentialTable = 'amazon_credentials' | 'ftp_credentials' | 'dropbox_credentials';
export type CredentialRow<T extends CredentialTable> = Selectable<Database[T]>;

export async function listCredentials<T extends CredentialTable>(
  db: Exec,
  table: T,
  accountId: number,
): Promise<CredentialRow<T>[]> {
  const rows = await (db as Kysely<Database>).selectFrom(table as CredentialTable).selectAll()
    .where('account_id', '=', accountId).orderBy('id').execute();
  return rows as CredentialRow<T>[];
}

export async function findCredentials<T extends CredentialTable>(
  db: Exec,
  table: T,
  accountId: number,
  id: number,
): Promise<CredentialRow<T> | undefined> {
  const row = await db.selectFrom(table as CredentialTable).selectAll()
    .where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return row as CredentialRow<T> | undefined;
}

export async function credentialsForEnvironment<T extends CredentialTable>(
  db: Exec,
  table: T,
  accountId: number,
  envId: number,
): Promise<CredentialRow<T>[]> {
  const rows = await db.selectFrom(table as CredentialTable).selectAll()
    .where('account_id', '=', accountId).where('env_id', '=', envId).orderBy('id').execute();
  return rows as CredentialRow<T>[];
}

export async function insertCredentials<T extends CredentialTable>(
  db: Exec,
  table: T,
  row: Insertable<Database[T]>,
): Promise<CredentialRow<T>> {
  const inserted = await db.insertInto(table as CredentialTable)
    .values(row as Insertable<Database[CredentialTable]>)
    .returningAll().executeTakeFirstOrThrow();
  return inserted as CredentialRow<T>;
}

export async function updateCredentials<T extends CredentialTable>(
  db: Exec,
  table: T,
  accountId: number,
  id: number,
  changes: Updateable<Database[T]>,
): Promise<void> {
  await db.updateTable(table as CredentialTable)
    .set(changes as Updateable<Database[CredentialTable]>)
    .where('account_id', '=', accountId).where('id', '=', id).execute();
}

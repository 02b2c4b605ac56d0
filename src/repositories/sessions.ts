import type { Insertable, Kysely } from 'kysely';

import type { Account, Database, Session, SessionsTable } from '../db/schema.js';

type Exec = Kysely<Database>;

export async function insertSession(db: Exec, row: Insertable<SessionsTable>): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

export async function findSession(db: Exec, id: string): Promise<Session | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function touchSession(
  db: Exec,
  id: string,
  lastSeen: number,
  expiresAt: number,
): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: lastSeen, expires_at: expiresAt })
    .where('id', '=', id).execute();
}

export async function setSessionFingerprint(db: Exec, id: string, fingerprint: string) {
  await db.updateTable('sessions').set({ auth_fingerprint: fingerprint }).where('id', '=', id)
    .execute();
}

export async function deleteSession(db: Exec, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

export async function deleteAccountSessions(db: Exec, accountId: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where('account_id', '=', accountId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteExpiredSessions(db: Exec, now: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Accounts that can sign in with a password under this email, oldest first. */
export async function findPasswordAccounts(db: Exec, email: string): Promise<Account[]> {
  return db.selectFrom('accounts').selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .where('password_hash', 'is not', null).orderBy('id').limit(5).execute();
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import type { Context } from '../context.js';
import type { Account, Session } from '../db/schema.js';
import type { JobHandler } from '../jobs/worker.js';
import { AppError, badRequest } from '../lib/errors.js';
import {
  checkPasswordStrength, hashPassword, spendPasswordTime, verifyPassword,
} from '../lib/passwords.js';
import { hashApiKey } from '../lib/secrets.js';
import {
  findAccountByHash, findAccountById, findAccountByKeyHash, updateAccount,
} from '../repositories/accounts.js';
import {
  deleteAccountSessions, deleteExpiredSessions, deleteSession, findPasswordAccounts, findSession,
  insertSession, setSessionFingerprint, touchSession,
} from '../repositories/sessions.js';

/** A session ends after this long without a request, and in any case after MAX_MS. */
const IDLE_MS = 12 * 3600_000;
const MAX_MS = 7 * 86_400_000;
/** Activity is written at most this often, so browsing is not a stream of writes. */
const TOUCH_MS = 5 * 60_000;

export interface SignedIn {
  account: Account;
  session: Session;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * What the session was opened with. When the API key is rotated or the password changed,
 * the fingerprint no longer matches and sessions opened with the old credential end.
 */
function fingerprint(account: Account, method: 'key' | 'password'): string {
  const secret = method === 'key' ? account.api_key_hash : account.password_hash ?? '';
  return `${method}:${sha256(secret).slice(0, 32)}`;
}

function stillValid(account: Account, session: Session): boolean {
  const method = session.auth_fingerprint.startsWith('key:') ? 'key' : 'password';
  if (method === 'password' && account.password_hash === null) return false;
  return safeEqual(fingerprint(account, method), session.auth_fingerprint);
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

async function openSession(ctx: Context, account: Account, method: 'key' | 'password') {
  const token = randomBytes(32).toString('base64url');
  const now = ctx.clock();
  await insertSession(ctx.db.kysely, {
    id: sha256(token), account_id: account.id, csrf_token: randomBytes(24).toString('base64url'),
    auth_fingerprint: fingerprint(account, method), created_at: now, last_seen_at: now,
    expires_at: now + IDLE_MS,
  });
  ctx.log.info({ accountId: account.id, method }, 'dashboard sign-in');
  return token;
}

/** Signs in with the account's API key; null when no account has it. */
export async function signInWithKey(ctx: Context, apiKey: string): Promise<string | null> {
  if (apiKey.trim() === '') return null;
  const account = await findAccountByKeyHash(ctx.db.kysely, hashApiKey(apiKey));
  return account === undefined ? null : openSession(ctx, account, 'key');
}

/**
 * Signs in with email and password. An email without a password costs the same time as a
 * wrong password, so the answer does not tell which emails have accounts.
 */
export async function signInWithPassword(ctx: Context, email: string, password: string) {
  const accounts = email.length > 254 ? []
    : await findPasswordAccounts(ctx.db.kysely, email.trim());
  if (accounts.length === 0) {
    await spendPasswordTime(password);
    return null;
  }
  for (const account of accounts) {
    if (await verifyPassword(password, account.password_hash ?? '')) {
      return openSession(ctx, account, 'password');
    }
  }
  return null;
}

/** The account behind a session cookie's token, or null when there is no live session. */
export async function resolveSession(ctx: Context, token: string): Promise<SignedIn | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const db = ctx.db.kysely;
  const session = await findSession(db, sha256(token));
  const now = ctx.clock();
  if (session === undefined || session.expires_at <= now) return null;
  const account = await findAccountById(db, session.account_id);
  if (account === undefined || !stillValid(account, session)) {
    await deleteSession(db, session.id);
    return null;
  }
  if (now - session.last_seen_at > TOUCH_MS) {
    const expiresAt = Math.min(session.created_at + MAX_MS, now + IDLE_MS);
    await touchSession(db, session.id, now, expiresAt);
  }
  return { account, session };
}

export async function signOut(ctx: Context, token: string): Promise<void> {
  await deleteSession(ctx.db.kysely, sha256(token));
}

export async function signOutEverywhere(ctx: Context, account: Account): Promise<number> {
  return deleteAccountSessions(ctx.db.kysely, account.id);
}

/** Keeps the session that rotated the API key signed in; others opened with the old key end. */
export async function keepSessionAfterKeyRotation(ctx: Context, signedIn: SignedIn) {
  if (!signedIn.session.auth_fingerprint.startsWith('key:')) return;
  const account = await findAccountById(ctx.db.kysely, signedIn.account.id);
  if (account === undefined) return;
  await setSessionFingerprint(ctx.db.kysely, signedIn.session.id, fingerprint(account, 'key'));
}

/**
 * Sets an account's dashboard password (from the command line). Sign-in is by email, so a
 * second account with the same email and a password of its own is refused.
 */
export async function setAccountPassword(ctx: Context, accountHash: string, password: string) {
  const problem = checkPasswordStrength(password);
  if (problem !== null) throw badRequest('password', problem);
  const account = await findAccountByHash(ctx.db.kysely, accountHash);
  if (account === undefined) throw new AppError('not_found', 'no account with this hash');
  const others = (await findPasswordAccounts(ctx.db.kysely, account.email))
    .filter((a) => a.id !== account.id);
  if (others.length > 0) {
    throw new AppError('conflict', `another account with the email ${account.email} already ` +
      'has a password; sign-in by email would be ambiguous');
  }
  await updateAccount(ctx.db.kysely, account.id, { password_hash: await hashPassword(password) });
  return account;
}

export function expireSessionsHandler(ctx: Context): JobHandler {
  return {
    async run() {
      const removed = await deleteExpiredSessions(ctx.db.kysely, ctx.clock());
      ctx.log.info({ removed }, 'expired dashboard sessions removed');
    },
  };
}

/**
 * Failed sign-ins per client address, in this process: after `limit` failures in a window
 * further attempts are refused until it ends, which makes guessing passwords slow.
 */
export class SignInThrottle {
  readonly #failures = new Map<string, { count: number; until: number }>();

  constructor(readonly limit = 10, readonly windowMs = 15 * 60_000) {}

  blocked(address: string, now: number): boolean {
    const entry = this.#failures.get(address);
    return entry !== undefined && entry.until > now && entry.count >= this.limit;
  }

  failed(address: string, now: number): void {
    const entry = this.#failures.get(address);
    if (entry === undefined || entry.until <= now) {
      if (this.#failures.size > 10_000) this.#failures.clear();
      this.#failures.set(address, { count: 1, until: now + this.windowMs });
    } else {
      entry.count += 1;
    }
  }

  succeeded(address: string): void {
    this.#failures.delete(address);
  }
}

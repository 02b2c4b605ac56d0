import type { Context } from '../context.js';
import type { Account } from '../db/schema.js';
import { hashApiKey } from '../lib/secrets.js';
import { addApiRequests, findAccountByKeyHash } from '../repositories/accounts.js';

/**
 * Finds the account of an API key and counts its requests. Both sit on every API request,
 * so a looked-up key is remembered for a moment and counts are written once a second; a
 * rotated key therefore stops working in other processes within `ttlMs`.
 */
export class ApiKeyAuth {
  readonly #ctx: Context;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { account: Account; until: number }>();
  readonly #counts = new Map<number, number>();
  /** Moves on every forget(), so a lookup that spans one is not remembered. */
  #generation = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(ctx: Context, ttlMs = 2000) {
    this.#ctx = ctx;
    this.#ttlMs = ttlMs;
    this.#timer = setInterval(() => {
      this.flush().catch((err: unknown) => ctx.log.error({ err }, 'request counts not saved'));
    }, 1000);
    this.#timer.unref();
  }

  /** The account of a key looked up a moment ago, without waiting; undefined otherwise. */
  remembered(apiKey: string): Account | undefined {
    // Keyed by the key itself, so that a remembered key costs no hashing.
    const hit = this.#cache.get(apiKey);
    return hit !== undefined && hit.until > Date.now() ? hit.account : undefined;
  }

  async authenticate(apiKey: string): Promise<Account | undefined> {
    const remembered = this.remembered(apiKey);
    if (remembered !== undefined) return remembered;
    const now = Date.now();
    const generation = this.#generation;
    const account = await findAccountByKeyHash(this.#ctx.db.kysely, hashApiKey(apiKey));
    if (account === undefined) {
      this.#cache.delete(apiKey);
      return undefined;
    }
    // A key rotated while this lookup ran may have been read before the rotation: used for
    // this one request, which began before it, but not remembered.
    if (generation !== this.#generation) return account;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(apiKey, { account, until: now + this.#ttlMs });
    return account;
  }

  count(accountId: number): void {
    this.#counts.set(accountId, (this.#counts.get(accountId) ?? 0) + 1);
  }

  /** Forgets remembered keys, after a key was rotated in this process. */
  forget(): void {
    this.#generation += 1;
    this.#cache.clear();
  }

  async flush(): Promise<void> {
    const counts = [...this.#counts.entries()];
    this.#counts.clear();
    for (const [accountId, n] of counts) await addApiRequests(this.#ctx.db.kysely, accountId, n);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

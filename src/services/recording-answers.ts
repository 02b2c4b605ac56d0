import type { Context } from '../context.js';
import type { Account } from '../db/schema.js';
import { findRecording } from '../repositories/recordings.js';
import { toPipeVideo } from './recording-view.js';

/**
 * GET /video/:id's answers, as the bytes sent. On SQLite an answer is kept while the
 * database's change stamp stays the same: any committed write, by this process or another,
 * moves the stamp and empties the cache, so an answer is never older than the last write.
 * PostgreSQL has no such cheap signal, and every call reads the row.
 *
 * Kept as bytes, not text, because this is the most frequent call of all: a kept answer is
 * written to the socket without being encoded again.
 */
export class RecordingAnswers {
  readonly #ctx: Context;
  readonly #envelope: (videoJson: string) => string;
  readonly #limit: number;
  readonly #entries = new Map<number, { accountId: number; body: Buffer }>();
  #stamp = -1;

  /** `envelope` wraps one recording's JSON into the whole answer. */
  constructor(ctx: Context, envelope: (videoJson: string) => string, limit = 10_000) {
    this.#ctx = ctx;
    this.#envelope = envelope;
    this.#limit = limit;
  }

  /** The answer kept for the account's recording, if it still holds; no waiting. */
  kept(account: Account, id: number): Buffer | undefined {
    const stamp = this.#ctx.db.changeStamp?.();
    if (stamp === undefined || !this.#still(stamp)) return undefined;
    const hit = this.#entries.get(id);
    return hit !== undefined && hit.accountId === account.id ? hit.body : undefined;
  }

  /** The answer read from the database; undefined when the account has no such recording. */
  async read(account: Account, id: number): Promise<Buffer | undefined> {
    const stamp = this.#ctx.db.changeStamp?.();
    const rec = await findRecording(this.#ctx.db.kysely, account.id, id);
    if (rec === undefined) return undefined;
    const body = Buffer.from(this.#envelope(JSON.stringify(toPipeVideo(rec, account,
      this.#ctx.config))));
    // Kept only if nothing was written while the row was read.
    if (stamp !== undefined && this.#ctx.db.changeStamp?.() === stamp) {
      this.#still(stamp);
      if (this.#entries.size >= this.#limit) this.#entries.clear();
      this.#entries.set(id, { accountId: account.id, body });
    }
    return body;
  }

  /** Whether the kept answers are of this stamp; if not, they go and the stamp is taken. */
  #still(stamp: number): boolean {
    if (stamp === this.#stamp) return true;
    this.#entries.clear();
    this.#stamp = stamp;
    return false;
  }
}

import type { Context } from '../context.js';
import type { Account } from '../db/schema.js';
import { findRecording } from '../repositories/recordings.js';
import { toPipeVideo } from './recording-view.js';

/**
 * Recordings as GET /video/:id shows them, as JSON text. On SQLite the text is kept while the
 * database's change stamp stays the same: any committed write, by this process or another,
 * moves the stamp and empties the cache, so an answer is never older than the last write.
 * PostgreSQL has no such cheap signal, and every call reads the row.
 */
export class RecordingJson {
  readonly #ctx: Context;
  readonly #limit: number;
  readonly #entries = new Map<number, { accountId: number; json: string }>();
  #stamp = -1;

  constructor(ctx: Context, limit = 10_000) {
    this.#ctx = ctx;
    this.#limit = limit;
  }

  /** The recording's JSON, or undefined when the account has no such recording. */
  async get(account: Account, id: number): Promise<string | undefined> {
    const stamp = this.#ctx.db.changeStamp?.();
    if (stamp !== undefined) {
      if (stamp !== this.#stamp) {
        this.#entries.clear();
        this.#stamp = stamp;
      }
      const hit = this.#entries.get(id);
      if (hit !== undefined && hit.accountId === account.id) return hit.json;
    }

    const rec = await findRecording(this.#ctx.db.kysely, account.id, id);
    if (rec === undefined) return undefined;
    const json = JSON.stringify(toPipeVideo(rec, account, this.#ctx.config));
    // Kept only if nothing was written while the row was read.
    if (stamp !== undefined && this.#ctx.db.changeStamp?.() === stamp) {
      if (this.#entries.size >= this.#limit) this.#entries.clear();
      this.#entries.set(id, { accountId: account.id, json });
    }
    return json;
  }
}

import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

/**
 * The SHA-256 of each resumable upload's bytes so far, kept between its PATCH requests so
 * that every byte is hashed as it arrives and the file is never read back for it.
 *
 * node:crypto can neither export nor import a hash's inner state, so the state cannot be
 * saved with the upload's row: it lives only in the process that received the bytes. A PATCH
 * that finds no state for its offset (the bytes before it reached another process, this
 * process restarted, or the state was pushed out by newer ones) hashes nothing, and when
 * that upload is complete its file is read once to take the hash. So an upload sent in one
 * PATCH or in several, and one resumed after a dropped connection against the same process,
 * is hashed on arrival only; one resumed elsewhere costs one read of the whole file at the
 * end, never one per PATCH.
 */
export class UploadHashes {
  readonly #states = new Map<string, { offset: number; hash: Hash }>();
  readonly #limit: number;

  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  /**
   * The hash of the upload's first `offset` bytes, now owned by the caller: a new one at 0,
   * null when this process did not see all of them.
   */
  take(id: string, offset: number): Hash | null {
    const state = this.#states.get(id);
    this.#states.delete(id);
    if (offset === 0) return createHash('sha256');
    return state?.offset === offset ? state.hash : null;
  }

  /** Keeps the hash of the upload's first `offset` bytes for its next PATCH. */
  keep(id: string, offset: number, hash: Hash): void {
    this.#states.delete(id);
    this.#states.set(id, { offset, hash });
    // Abandoned uploads leave their state behind; the oldest go first.
    for (const oldest of this.#states.keys()) {
      if (this.#states.size <= this.#limit) break;
      this.#states.delete(oldest);
    }
  }

  drop(id: string): void {
    this.#states.delete(id);
  }
}

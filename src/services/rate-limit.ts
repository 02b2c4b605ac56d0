import type { Kysely } from 'kysely';

import type { Database } from '../db/schema.js';
import { countRequest } from '../repositories/rate-limits.js';

const WINDOW_MS = 60_000;

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window ends and requests are counted afresh. */
  resetSeconds: number;
}

/**
 * A fixed one-minute window per key, counted in the database: every process that shares
 * the database enforces one limit together, whichever of them a client reaches.
 */
export class RateLimiter {
  readonly perMinute: number;
  readonly #db: Kysely<Database>;
  readonly #clock: () => number;
  /**
   * Keys already over the limit, with their window. A count never goes down within a
   * window, so until it ends they are refused here without a write: a client flooding the
   * API costs the database one write a minute, not one per request.
   */
  readonly #over = new Map<string, number>();

  constructor(db: Kysely<Database>, perMinute: number, clock: () => number = Date.now) {
    this.#db = db;
    this.perMinute = perMinute;
    this.#clock = clock;
  }

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  async hit(key: string): Promise<RateDecision> {
    const now = this.#clock();
    const windowStart = now - (now % WINDOW_MS);
    const resetSeconds = Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000));
    if (this.#over.get(key) === windowStart) {
      return { allowed: false, limit: this.perMinute, remaining: 0, resetSeconds };
    }
    const count = await countRequest(this.#db, key, windowStart);
    const allowed = count <= this.perMinute;
    if (!allowed) {
      if (this.#over.size >= 10_000) this.#over.clear();
      this.#over.set(key, windowStart);
    }
    return {
      allowed,
      limit: this.perMinute,
      remaining: Math.max(0, this.perMinute - count),
      resetSeconds,
    };
  }
}

/**
 * The key for a client address. An IPv6 client usually holds a whole /64, so its addresses
 * count together; IPv4 (also written IPv4-mapped) counts per address.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] !== undefined) return `ip:${mapped[1]}`;
  if (!ip.includes(':')) return `ip:${ip}`;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]?.split('::') ?? [];
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  const prefix = groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':');
  return `ip6:${prefix}::/64`;
}

import type { Kysely } from 'kysely';

import type { Database } from '../db/schema.js';

type Exec = Kysely<Database>;

/**
 * Counts one request for `key` in the window that starts at `windowStart` and returns the
 * window's count with it. A single upsert, so processes that count the same key at the same
 * moment each get a number of their own. A window older than the stored one (a process
 * whose clock lags) counts towards the stored one rather than starting it over.
 */
export async function countRequest(db: Exec, key: string, windowStart: number): Promise<number> {
  const row = await db.insertInto('rate_limits')
    .values({ key, window_start: windowStart, count: 1 })
    .onConflict((oc) => oc.column('key').doUpdateSet((eb) => {
      const newer = eb(eb.ref('excluded.window_start'), '>', eb.ref('rate_limits.window_start'));
      return {
        count: eb.case().when(newer).then(1).else(eb('rate_limits.count', '+', 1)).end(),
        window_start: eb.case().when(newer).then(eb.ref('excluded.window_start'))
          .else(eb.ref('rate_limits.window_start')).end(),
      };
    }))
    .returning('count')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Removes counts of windows that ended before `before`. */
export async function pruneRateLimits(db: Exec, before: number): Promise<number> {
  const result = await db.deleteFrom('rate_limits').where('window_start', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

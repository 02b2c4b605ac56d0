import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Db } from '../../src/db/connect.js';
import { countRequest, pruneRateLimits } from '../../src/repositories/rate-limits.js';
import { RateLimiter, addressKey } from '../../src/services/rate-limit.js';
import { DIALECTS, createMigratedTestDb } from '../helpers/harness.js';
import type { MigratedTestDb } from '../helpers/harness.js';

describe('client address keys', () => {
  it('counts IPv4 per address and IPv6 per /64', () => {
    expect(addressKey('203.0.113.7')).toBe('ip:203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('ip:203.0.113.7');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('ip6:2001:db8:0:1::/64');
    expect(addressKey('2001:0db8:0000:0001:ffff:1:2:3')).toBe('ip6:2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('ip6:2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('ip6:0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('ip6:fe80:0:0:0::/64');
  });
});

describe.each(DIALECTS)('request counts in the database (%s)', (dialect) => {
  let testDb: MigratedTestDb;
  let db: Db;

  beforeAll(async () => {
    testDb = await createMigratedTestDb(dialect, 'ratelimit');
    db = testDb.db;
  });

  afterAll(async () => {
    await testDb.close();
  });

  it('counts up within a window, starts over in a newer one, keeps counting on an older one',
    async () => {
      expect(await countRequest(db.kysely, 'k', 60_000)).toBe(1);
      expect(await countRequest(db.kysely, 'k', 60_000)).toBe(2);
      expect(await countRequest(db.kysely, 'other', 60_000)).toBe(1);
      expect(await countRequest(db.kysely, 'k', 120_000)).toBe(1);
      // A process whose clock lags counts towards the current window.
      expect(await countRequest(db.kysely, 'k', 60_000)).toBe(2);
      const row = await db.kysely.selectFrom('rate_limits').selectAll()
        .where('key', '=', 'k').executeTakeFirstOrThrow();
      expect(row).toEqual({ key: 'k', window_start: 120_000, count: 2 });

      expect(await pruneRateLimits(db.kysely, 100_000)).toBe(1);
      const keys = await db.kysely.selectFrom('rate_limits').select('key').execute();
      expect(keys).toEqual([{ key: 'k' }]);
    });

  it('gives concurrent requests a number each', async () => {
    const counts = await Promise.all(Array.from({ length: 20 },
      () => countRequest(db.kysely, 'burst', 60_000)));
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('decides from the count and says when the window ends', async () => {
    let now = 3_600_000 + 45_500;
    const limiter = new RateLimiter(db.kysely, 2, () => now);
    expect(await limiter.hit('d')).toEqual({ allowed: true, limit: 2, remaining: 1,
      resetSeconds: 15 });
    expect((await limiter.hit('d')).allowed).toBe(true);
    expect(await limiter.hit('d')).toEqual({ allowed: false, limit: 2, remaining: 0,
      resetSeconds: 15 });
    // Once over, the rest of the window is refused without another write.
    expect((await limiter.hit('d')).allowed).toBe(false);
    const row = await db.kysely.selectFrom('rate_limits').select('count')
      .where('key', '=', 'd').executeTakeFirstOrThrow();
    expect(row.count).toBe(3);
    now += 15_000;
    expect((await limiter.hit('d')).allowed).toBe(true);
    expect(new RateLimiter(db.kysely, 0).enabled).toBe(false);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openDatabase } from '../../src/db/connect.js';
import type { Db } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrations.js';
import { addApiRequests, insertAccount, updateAccount } from '../../src/repositories/accounts.js';
import { countRequest } from '../../src/repositories/rate-limits.js';
import { PG_URL } from '../helpers/harness.js';

describe('SQLite change stamp', () => {
  let dir: string;
  let db: Db;
  let other: Db;
  let accountId: number;
  const stamp = () => db.changeStamp?.() ?? -1;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-stamp-'));
    db = openDatabase(path.join(dir, 'standpipe.db'));
    await migrate(db);
    other = openDatabase(path.join(dir, 'standpipe.db'));
    const acct = await insertAccount(db.kysely, {
      name: 'A', email: 'a@example.com', api_key_hash: 'h', account_hash: 'a'.repeat(32),
      webhook_key_enc: 'x', previous_webhook_key_enc: null, previous_webhook_key_until: null,
      password_hash: null, created_at: 1,
    });
    accountId = acct.id;
  });

  afterAll(async () => {
    await other.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stays put while nothing changes, reads included', async () => {
    const before = stamp();
    await db.kysely.selectFrom('accounts').selectAll().execute();
    await other.kysely.selectFrom('accounts').selectAll().execute();
    expect(stamp()).toBe(before);
  });

  it('moves on a write of this connection, and on a commit of another', async () => {
    const first = stamp();
    await updateAccount(db.kysely, accountId, { name: 'B' });
    const second = stamp();
    expect(second).not.toBe(first);
    await updateAccount(other.kysely, accountId, { name: 'C' });
    expect(stamp()).not.toBe(second);
  });

  it('does not move for a write that changes no row', async () => {
    const before = stamp();
    await updateAccount(db.kysely, accountId + 1000, { name: 'nobody' });
    expect(stamp()).toBe(before);
  });

  it('does not move for bookkeeping: request counts of the rate limit', async () => {
    const before = stamp();
    await countRequest(db.kysely, 'account:1', 60_000);
    expect(stamp()).toBe(before);
  });

  it("does not move for the account's API request count, but does for its other fields",
    async () => {
      const before = stamp();
      await addApiRequests(db.kysely, accountId, 5);
      expect(stamp()).toBe(before);
      const row = await db.kysely.selectFrom('accounts').select('api_requests')
        .where('id', '=', accountId).executeTakeFirstOrThrow();
      expect(Number(row.api_requests)).toBe(5);
      await updateAccount(db.kysely, accountId, { api_requests: 0 });
      expect(stamp()).not.toBe(before);
    });

  it('is absent on PostgreSQL, which has no such signal', async () => {
    const pgDb = openDatabase(PG_URL);
    expect(pgDb.changeStamp).toBeUndefined();
    await pgDb.close();
  });
});

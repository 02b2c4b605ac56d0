import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compiledOnce } from '../../src/db/compiled.js';
import { insertAccount } from '../../src/repositories/accounts.js';
import { DIALECTS, createMigratedTestDb } from '../helpers/harness.js';
import type { MigratedTestDb } from '../helpers/harness.js';

describe.each(DIALECTS)('queries compiled once (%s)', (dialect) => {
  let testDb: MigratedTestDb;

  beforeAll(async () => {
    testDb = await createMigratedTestDb(dialect, 'compiled');
    for (const n of [1, 2, 3]) {
      await insertAccount(testDb.db.kysely, {
        name: `A${n}`, email: `a${n}@example.com`, api_key_hash: `hash${n}`,
        account_hash: String(n).repeat(32), webhook_key_enc: 'x',
        previous_webhook_key_enc: null, previous_webhook_key_until: null,
        password_hash: null, created_at: n,
      });
    }
  });

  afterAll(async () => testDb.close());

  it('runs with each call\'s values and keeps the values the builder wrote', async () => {
    const byEmail = compiledOnce((db, email: string, after: number) => db.selectFrom('accounts')
      .select(['name', 'created_at']).where('email', '=', email).where('created_at', '>', after)
      .where('name', '!=', 'nobody'));
    const db = testDb.db.kysely;

    expect(await byEmail(db, 'a2@example.com', 0)).toEqual([{ name: 'A2', created_at: 2 }]);
    expect(await byEmail(db, 'a3@example.com', 0)).toEqual([{ name: 'A3', created_at: 3 }]);
    expect(await byEmail(db, 'a3@example.com', 3)).toEqual([]);
    expect(await byEmail(db, 'nobody@example.com', 0)).toEqual([]);
  });

  it('takes each value as a parameter, never as SQL', async () => {
    const byName = compiledOnce((db, name: string) => db.selectFrom('accounts').select('id')
      .where('name', '=', name));
    const db = testDb.db.kysely;

    expect(await byName(db, "A1' or '1'='1")).toEqual([]);
    expect(await byName(db, 'A1')).toHaveLength(1);
  });

  it('refuses a builder that leaves a parameter out of the query', async () => {
    const unused = compiledOnce((db, _name: string) => db.selectFrom('accounts').select('id'));
    await expect(unused(testDb.db.kysely, 'A1'))
      .rejects.toThrow('parameter 0 does not reach the query');
  });

  it('works inside a transaction, which is a handle of its own', async () => {
    const names = compiledOnce((db, after: number) => db.selectFrom('accounts').select('name')
      .where('created_at', '>', after).orderBy('created_at'));
    const rows = await testDb.db.kysely.transaction().execute(async (trx) => names(trx, 1));
    expect(rows.map((r) => r.name)).toEqual(['A2', 'A3']);
  });
});

import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAccount } from '../../src/services/accounts.js';
import { runCli } from '../helpers/cli.js';
import { DashboardClient } from '../helpers/dashboard.js';
import { DIALECTS, PG_URL, startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';


const cli = (args: string[], input: string) => runCli(args, { input });

describe.each(DIALECTS)('standpipe account password (%s)', (dialect) => {
  let t: TestServer;
  const databaseArgs = () => {
    const db = t.server.ctx.db;
    const url = db.dialect === 'postgres'
      ? `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${db.schema ?? ''}`
      : path.join(t.dataDir, 'standpipe.db');
    return ['--data', t.dataDir, '--database', url];
  };

  beforeAll(async () => {
    t = await startTestServer(dialect, { workers: false });
  });

  afterAll(async () => {
    await t.close();
  });

  it('reads the password from standard input, stores it hashed, and it signs in', async () => {
    const acct = await t.account('Password Person');
    const run = await cli(['account', 'password', '--account-hash', acct.account_hash,
      ...databaseArgs()], 'a sturdy passphrase\n');
    expect(run.stderr).toContain(`password set for ${acct.email}`);
    expect(run.code).toBe(0);
    const row = await t.server.ctx.db.kysely.selectFrom('accounts').select('password_hash')
      .where('account_hash', '=', acct.account_hash).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{86}$/);
    expect(row.password_hash).not.toContain('sturdy');
    const c = new DashboardClient(t.url);
    expect((await c.signInWithPassword(acct.email, 'a sturdy passphrase')).status).toBe(303);
  });

  it('refuses a short password, an unknown account, a missing hash and an ambiguous email',
    async () => {
      const acct = await t.account('Short');
      const short = await cli(['account', 'password', '--account-hash', acct.account_hash,
        ...databaseArgs()], 'short\n');
      expect(short.code).toBe(1);
      expect(short.stderr).toContain('at least 10 characters');
      const unknown = await cli(['account', 'password', '--account-hash', 'f'.repeat(32),
        ...databaseArgs()], 'long enough password\n');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no account with this hash');
      const missing = await cli(['account', 'password', ...databaseArgs()], '');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('needs --account-hash');

      const first = await createAccount(t.server.ctx, { name: 'Twin 1', email: 'twin@example.com' });
      const second = await createAccount(t.server.ctx, { name: 'Twin 2', email: 'twin@example.com' });
      expect((await cli(['account', 'password', '--account-hash', first.account_hash,
        ...databaseArgs()], 'twin password one\n')).code).toBe(0);
      const twin = await cli(['account', 'password', '--account-hash', second.account_hash,
        ...databaseArgs()], 'twin password two\n');
      expect(twin.code).toBe(1);
      expect(twin.stderr).toContain('ambiguous');
    });
});

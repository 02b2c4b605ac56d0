import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runAccountExport } from '../../src/cli/export.js';
import { hashApiKey } from '../../src/lib/secrets.js';
import { findAccountByHash } from '../../src/repositories/accounts.js';
import { insertRecording } from '../../src/repositories/recordings.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, PG_URL, startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { expectOk } from '../helpers/seed-shapes.js';


const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

type Export = {
  exported: string;
  account: Record<string, unknown>;
  environments: Record<string, unknown>[];
  webhooks: Record<string, unknown>[];
  recordings: Record<string, unknown>[];
};

describe.each(DIALECTS)('account export (%s)', (dialect) => {
  let srv: TestServer;
  let account: NewAccountResult;
  let other: NewAccountResult;
  let hookSecret: string;
  let outDir: string;
  const live: number[] = [];
  let deletedName = '';
  /** The first recording as GET /video/:id shows it. */
  let shown: Record<string, unknown> | undefined;

  const databaseArgs = () => {
    const db = srv.server.ctx.db;
    const url = db.dialect === 'postgres'
      ? `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${db.schema ?? ''}`
      : path.join(srv.dataDir, 'standpipe.db');
    return ['--data', srv.dataDir, '--database', url];
  };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'standpipe-export-'));
    srv = await startTestServer(dialect, { workers: false });
    account = await srv.account('Export Owner');
    other = await srv.account('Someone Else');
    const env = await srv.api(account.api_key, 'POST', '/environment',
      { env_name: 'Kept a week', lifecycle_days: '7', collect_ip: '0' });
    expectOk(env, 'POST', 'environment_details', 201);
    const hook = await srv.api(account.api_key, 'POST', '/webhook',
      { webhook: 'http://127.0.0.1:9/hook', webhook_recorded: '1' });
    hookSecret = String((hook.json.webhook_details as Record<string, unknown>[])[0]
      ?.webhook_secret);

    // Metadata only: the export reads rows, so recordings need no media here.
    const db = srv.server.ctx.db.kysely;
    for (const [acc, count] of [[account, 620], [other, 3]] as const) {
      const row = await findAccountByHash(db, acc.account_hash);
      for (let i = 0; i < count; i += 1) {
        const rec = await insertRecording(db, {
          account_id: row?.id ?? 0, env_id: 1,
          name: `vs17000000000${i}_${acc.account_hash.slice(0, 6)}`,
          status: 'converted', original_ext: 'webm', created_at: 1_700_000_000_000 + i * 1000,
          ipv4: '3405803777', ua: 'Exported/1.0', http_referer: '', camera_name: '',
          microphone_name: '', payload: `payload ${i}`, source: 'DESK', original_size: 10,
          region: 'local',
        });
        if (acc === account) live.push(rec.id);
      }
    }
    const gone = live.pop() ?? 0;
    const del = await srv.api(account.api_key, 'DELETE', `/video/${gone}`);
    expectOk(del, 'DELETE', null);
    deletedName = `vs17000000000619_${account.account_hash.slice(0, 6)}`;
    const first = await srv.api(account.api_key, 'GET', `/video/${live[0] ?? 0}`);
    shown = expectOk(first, 'GET', 'videos')[0];
  });

  afterAll(async () => {
    await srv?.close();
    await rm(outDir, { recursive: true, force: true });
  });

  const checkExport = (text: string) => {
    const data = JSON.parse(text) as Export;
    expect(data.account).toEqual({
      id: expect.stringMatching(/^\d+$/) as unknown, name: 'Export Owner',
      email: account.email, account_hash: account.account_hash,
      api_requests: expect.stringMatching(/^\d+$/) as unknown,
      created: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) as unknown,
    });
    expect(data.environments.map((e) => e.env_name)).toEqual(['Production', 'Kept a week']);
    expect(data.environments[1]).toMatchObject({ lifecycle_days: '7', collect_ip: '0',
      collect_ua: '1' });
    expect(data.webhooks).toHaveLength(1);
    expect(data.webhooks[0]).toMatchObject({ webhook: 'http://127.0.0.1:9/hook',
      webhook_recorded: '1', active: '1', format: 'json' });
    expect(data.recordings.map((r) => Number(r.id))).toEqual(live);
    expect(data.recordings[0]).toEqual(shown);
    expect(data.recordings[0]).toMatchObject({ ua: 'Exported/1.0', payload: 'payload 0' });

    // Nothing that opens the account or signs for it, nothing of another account.
    const secrets = [account.api_key, hashApiKey(account.api_key), account.webhook_key,
      hookSecret];
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/_enc"|api_key|password|secret/);
    expect(text).not.toContain(other.account_hash.slice(0, 6));
    expect(text).not.toContain(other.email);
    expect(text).not.toContain(deletedName);
    return data;
  };

  it('writes the account, environments, webhooks and live recordings to a private file',
    async () => {
      const out = path.join(outDir, 'in-process.json');
      const result = await runAccountExport(srv.server.ctx, account.account_hash, out);
      expect(result.recordings).toBe(live.length);
      checkExport(await readFile(out, 'utf8'));
      expect((await stat(out)).mode & 0o777).toBe(0o600);
    });

  it('standpipe account export prints the same JSON, or writes it with --out', async () => {
    // The server writes API request counts once a second; write them now, so that none
    // lands between the two exports.
    await srv.server.app?.apiKeys.flush();
    const printed = await cli(['account', 'export', '--account-hash', account.account_hash,
      ...databaseArgs()]);
    expect(printed.code, printed.stderr).toBe(0);
    const fromStdout = checkExport(printed.stdout);

    const out = path.join(outDir, 'cli.json');
    const written = await cli(['account', 'export', '--account-hash', account.account_hash,
      '--out', out, ...databaseArgs()]);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(written.stderr).toContain(`exported ${live.length} recordings`);
    const fromFile = checkExport(await readFile(out, 'utf8'));
    expect({ ...fromFile, exported: '' }).toEqual({ ...fromStdout, exported: '' });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
  });

  it('creates and exports accounts on a machine without ffmpeg', async () => {
    const noFfmpeg = { STANDPIPE_FFMPEG: path.join(outDir, 'no-such-ffmpeg') };
    const created = await cli(['account', 'create', '--name', 'No Media', '--email',
      'nomedia@example.com', ...databaseArgs()], noFfmpeg);
    expect(created.code, created.stderr).toBe(0);
    const made = JSON.parse(created.stdout) as { account_hash: string };
    const exported = await cli(['account', 'export', '--account-hash', made.account_hash,
      ...databaseArgs()], noFfmpeg);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ account: { name: 'No Media' },
      recordings: [] });
    // A server does need it, and says so.
    const serve = await cli(['serve', '--port', '0', ...databaseArgs()], noFfmpeg);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain('STANDPIPE_FFMPEG');
  });

  it('fails plainly for an unknown account or a missing hash, writing no file', async () => {
    const out = path.join(outDir, 'nobody.json');
    const unknown = await cli(['account', 'export', '--account-hash', 'f'.repeat(32),
      '--out', out, ...databaseArgs()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('account not found');
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
    const missing = await cli(['account', 'export', ...databaseArgs()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--account-hash');
  });
});

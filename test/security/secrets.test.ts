/**
 * Secrets stay secret: the API key, the account's webhook key, each webhook's signing
 * secret, and the storage credentials (amz_key, amz_secret, ftp_password, sftp_password,
 * dbox_token) appear in no API answer after the one that hands them out, in no database
 * column or file, and in no log line, even at debug level.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';

import type { NewAccountResult } from '../../src/services/accounts.js';
import {
  DIALECTS, PG_URL, createTestSchema, eventually, filesUnder, startTestServer, uploadFile,
} from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { loopbackDeliveryEnv, parseResponse, startSink } from './support.js';
import type { Sink } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TABLES = ['accounts', 'environments', 'webhooks', 'amazon_credentials', 'ftp_credentials',
  'dropbox_credentials', 'recordings', 'jobs', 'webhook_deliveries'] as const;

const token = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

/** Distinct, greppable values for every write-only field. */
function newCredentials() {
  return {
    amz_key: token('AKIAK'),
    amz_secret: token('amzsecret'),
    ftp_password: token('ftppw'),
    sftp_password: token('sftppw'),
    dbox_token: token('dboxtok'),
  };
}

type Creds = ReturnType<typeof newCredentials>;

/** Every secret value to look for, by name; a fragment catches a truncated leak too. */
function needles(secrets: Record<string, string>): [string, string][] {
  return Object.entries(secrets).flatMap(([name, value]) =>
    [[name, value], [`${name} (first 16)`, value.slice(0, 16)]] as [string, string][]);
}

function expectAbsent(haystack: string, secrets: Record<string, string>, where: string): void {
  for (const [name, needle] of needles(secrets)) {
    expect(haystack.includes(needle), `${name} found in ${where}`).toBe(false);
  }
}

/**
 * Creates, updates and lists every kind of credentials, as a client would. FTP and SFTP
 * point at `sinkPort` on this machine, where a sink drops every connection.
 */
async function exerciseCredentials(call: (method: string, path: string, body?: unknown) =>
  Promise<ApiResponse>, creds: Creds, later: Creds, sinkPort: number): Promise<ApiResponse[]> {
  const seen: ApiResponse[] = [];
  const go = async (method: string, p: string, body?: unknown) => {
    const res = await call(method, p, body);
    seen.push(res);
    return res;
  };
  const id = (res: ApiResponse, key: string) => (res.json[key] as { id: string }[])[0]?.id;
  const amazon = await go('POST', '/amazon', { amz_key: creds.amz_key,
    amz_secret: creds.amz_secret, amz_bucket: 'bucket-one' });
  expect(amazon.status, amazon.text).toBe(201);
  const ftp = await go('POST', '/ftp', { ftp_host: '127.0.0.1', ftp_port: sinkPort,
    ftp_username: 'u', ftp_password: creds.ftp_password, sftp_host: '127.0.0.1',
    sftp_port: sinkPort, sftp_username: 'u', sftp_password: creds.sftp_password });
  expect(ftp.status, ftp.text).toBe(201);
  const dropbox = await go('POST', '/dropbox', { dbox_token: creds.dbox_token });
  expect(dropbox.status, dropbox.text).toBe(201);
  await go('PUT', `/amazon/${id(amazon, 'amazon_details')}`,
    { amz_key: later.amz_key, amz_secret: later.amz_secret });
  await go('PUT', `/ftp/${id(ftp, 'ftp_details')}`,
    { ftp_password: later.ftp_password, sftp_password: later.sftp_password });
  await go('PUT', `/dropbox/${id(dropbox, 'dropbox_details')}`, { dbox_token: later.dbox_token });
  // Refused requests that carry secrets: too long, unknown field beside them, broken JSON.
  await go('PUT', `/amazon/${id(amazon, 'amazon_details')}`,
    { amz_secret: `${creds.amz_secret}${'x'.repeat(300)}` });
  await go('POST', '/ftp', { ftp_password: creds.ftp_password, nope: 1 });
  await go('POST', '/dropbox', `{"dbox_token":"${creds.dbox_token}",`);
  await go('POST', '/amazon', { amz_secret: creds.amz_secret, env_id: '99' });
  for (const p of ['/amazon', '/ftp', '/dropbox']) await go('GET', p);
  return seen;
}

describe.each(DIALECTS)('secrets at rest and in answers (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;
  let creds: Creds;
  let later: Creds;
  let hookSecret: string;
  let rotatedKey: string;
  let receiver: Receiver;
  let sink: Sink;
  const answers: ApiResponse[] = [];

  const all = (): Record<string, string> => ({
    ...creds, ...Object.fromEntries(Object.entries(later).map(([k, v]) => [`new ${k}`, v])),
    api_key: acct.api_key, rotated_api_key: rotatedKey, webhook_key: acct.webhook_key,
    webhook_secret: hookSecret.replace(/^whsec_/, ''),
  });

  beforeAll(async () => {
    sink = await startSink();
    srv = await startTestServer(dialect, { env: loopbackDeliveryEnv(sink.port) });
    receiver = await startReceiver();
    acct = await srv.account();
    creds = newCredentials();
    later = newCredentials();
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await srv.api(rotatedKey ?? acct.api_key, method, p, body);
      answers.push(res);
      return res;
    };
    const hook = await srv.api(acct.api_key, 'POST', '/webhook', { webhook: receiver.url('/h') });
    expect(hook.status, hook.text).toBe(201);
    hookSecret = String((hook.json.webhook_details as { webhook_secret: string }[])[0]
      ?.webhook_secret);
    expect(hookSecret).toMatch(/^whsec_/);
    const rotated = await srv.api(acct.api_key, 'POST', '/account/api-key');
    rotatedKey = String((rotated.json.account_details as { api_key: string }[])[0]?.api_key);
    await exerciseCredentials(call, creds, later, sink.port);
    const up = await uploadFile(srv.url,
      { accountHash: acct.account_hash, eid: acct.environment.env_code },
      { name: 'clip.webm', data: await readFile(CHROMIUM_WEBM) });
    expect(up.status, up.text).toBe(201);
    answers.push(up);
    await eventually(async () => {
      const res = await srv.api(rotatedKey, 'GET', '/video/all');
      const v = (res.json.videos as { conversion_status: string }[])[0];
      return v?.conversion_status === 'converted' ? res : undefined;
    }, 60_000, 'the conversion');
    await receiver.waitFor(3, 20_000);
    for (const p of ['/video/all', '/account', '/environment', '/webhook', '/amazon', '/ftp',
      '/dropbox']) {
      answers.push(await srv.api(rotatedKey, 'GET', p));
    }
  }, 90_000);
  afterAll(async () => {
    await receiver?.close();
    await srv?.close();
    await sink?.close();
  });

  it('shows no secret in any API answer after the one that issues it', () => {
    expect(answers.length).toBeGreaterThan(15);
    for (const res of answers) {
      expectAbsent(`${res.text}\n${JSON.stringify([...res.headers])}`, all(), 'an answer');
    }
  });

  it('sends no secret in any webhook request, only signatures made with them', () => {
    expect(receiver.requests.length).toBeGreaterThanOrEqual(3);
    for (const req of receiver.requests) {
      expectAbsent(`${req.path}\n${JSON.stringify(req.headers)}\n${req.body}`, all(),
        `the ${String((req.json as { event?: string } | undefined)?.event)} webhook`);
    }
  });

  it('keeps no secret in plain text in any column of any table', async () => {
    const db = srv.server.ctx.db.kysely;
    for (const table of TABLES) {
      const rows = await db.selectFrom(table).selectAll().execute();
      expectAbsent(JSON.stringify(rows), all(), `table ${table}`);
    }
    // Nor in a table this list does not know about.
    const names = dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`
        .execute(db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema()`.execute(db);
    for (const { name } of names.rows) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) continue;
      const rows = await sql`select * from ${sql.table(name)}`.execute(db);
      expectAbsent(JSON.stringify(rows.rows), all(), `table ${name}`);
    }
  });

  it('keeps no secret in plain text in any file of the data directory', async () => {
    let checked = 0;
    for (const file of await filesUnder(srv.dataDir)) {
      const bytes = await readFile(file).catch(() => null);
      // A work file removed since the walk held nothing to check.
      if (bytes === null) continue;
      // UTF-8 and UTF-16 (SQLite may keep text in either).
      expectAbsent(bytes.toString('latin1'), all(), file);
      expectAbsent(bytes.toString('utf16le'), all(), `${file} as UTF-16`);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(2);
    const keyFile = await stat(path.join(srv.dataDir, 'secret.key'));
    expect(keyFile.mode & 0o077).toBe(0);
  });
});

interface Child {
  proc: ChildProcess;
  output: () => string;
  url: string;
}

/** Runs the real command line, logging at debug level, and collects everything it prints. */
async function runCli(args: string[], env: Record<string, string>,
  waitFor: RegExp | null): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  proc.stderr?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  if (waitFor === null) {
    await exited;
    return { proc, output: () => out, url: '' };
  }
  const url = await eventually(async () => {
    if (proc.exitCode !== null) throw new Error(`standpipe exited early:\n${out}`);
    return waitFor.exec(out)?.[1];
  }, 30_000, 'standpipe to start');
  return { proc, output: () => out, url };
}

async function stopChild(child: Child | undefined): Promise<void> {
  if (child === undefined || child.proc.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

describe.each(DIALECTS)('secrets in the logs of a running server (%s)', (dialect) => {
  let dataDir: string;
  let schema: string | null = null;
  let server: Child | undefined;
  let receiver: Receiver;
  let sink: Sink;
  let env: Record<string, string>;
  const dbPassword = token('dbpw');
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'standpipe-logs-'));
    receiver = await startReceiver();
    sink = await startSink();
    env = {
      ...loopbackDeliveryEnv(sink.port),
      STANDPIPE_DATA_DIR: dataDir,
      STANDPIPE_LOG_LEVEL: 'debug',
      STANDPIPE_OUTBOUND_ALLOW: '127.0.0.1',
      STANDPIPE_JOB_POLL_MS: '50',
      STANDPIPE_SECRET_KEY: randomBytes(32).toString('hex'),
    };
    if (dialect === 'postgres') {
      schema = await createTestSchema('logs');
      // A password in the URL: the server trusts local connections, so it is only shown.
      const url = new URL(PG_URL);
      url.password = dbPassword;
      url.searchParams.set('schema', schema);
      env.STANDPIPE_DATABASE_URL = url.toString();
      secrets.database_password = dbPassword;
    }
    secrets.secret_key = env.STANDPIPE_SECRET_KEY ?? '';
    const created = await runCli(['account', 'create', '--name', 'Log Test', '--email',
      'logs@example.com'], env, null);
    const line = created.output().split('\n').find((l) => l.startsWith('{"id"')) ?? '{}';
    const account = JSON.parse(line) as { api_key: string; account_hash: string;
      webhook_key: string; env_code: string };
    expect(account.api_key, created.output()).toMatch(/^[0-9a-f]{64}$/);
    secrets.api_key = account.api_key;
    secrets.webhook_key = account.webhook_key;

    server = await runCli(['serve', '--port', '0'], env, /"url":"(http:\/\/[^"]+)"/);
    const base = server.url;
    const call = async (key: string, method: string, p: string, body?: unknown) =>
      parseResponse(await fetch(`${base}${p}`, {
        method,
        headers: { 'x-pipe-auth': key,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : {
          body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }));

    const hook = await call(account.api_key, 'POST', '/webhook', { webhook: receiver.url('/l') });
    expect(hook.status, hook.text).toBe(201);
    secrets.webhook_secret = String((hook.json.webhook_details as { webhook_secret: string }[])[0]
      ?.webhook_secret).replace(/^whsec_/, '');
    const creds = newCredentials();
    const later = newCredentials();
    Object.assign(secrets, creds,
      Object.fromEntries(Object.entries(later).map(([k, v]) => [`new ${k}`, v])));
    await exerciseCredentials((m, p, b) => call(account.api_key, m, p, b), creds, later,
      sink.port);
    // Failing requests: wrong keys, a key in the query string, a 500 where one can happen.
    await call(`${account.api_key}x`, 'GET', '/account');
    await fetch(`${base}/account?api_key=${account.api_key}`);
    await call(account.api_key, 'POST', '/amazon',
      { amz_secret: creds.amz_secret, env_id: 1e10 });
    const up = await uploadFile(base, { accountHash: account.account_hash,
      eid: account.env_code, payload: 'p' }, { name: 'clip.webm',
      data: await readFile(CHROMIUM_WEBM) });
    expect(up.status, up.text).toBe(201);
    await receiver.waitFor(3, 30_000);
    const rotated = await call(account.api_key, 'POST', '/account/api-key');
    secrets.rotated_api_key = String((rotated.json.account_details as { api_key: string }[])[0]
      ?.api_key);
    await call(account.api_key, 'GET', '/account');
    await call(secrets.rotated_api_key, 'GET', '/video/all');
    await stopChild(server);
  }, 120_000);
  afterAll(async () => {
    await stopChild(server);
    await receiver?.close();
    await sink?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('logs at debug level, so there is something to look at', () => {
    const lines = server?.output().split('\n').filter((l) => l.startsWith('{')) ?? [];
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.some((l) => l.includes('"level":20'))).toBe(true);
    expect(lines.some((l) => l.includes('recording converted'))).toBe(true);
  });

  it('prints no secret in any log line', () => {
    expectAbsent(server?.output() ?? '', secrets, 'the server log');
  });
});

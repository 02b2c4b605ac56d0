import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import pg from 'pg';
import pino from 'pino';
import type { Logger } from 'pino';

import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrations.js';
import type { Db, DialectName } from '../../src/db/connect.js';
import { startServer } from '../../src/runtime.js';
import type { Server } from '../../src/runtime.js';
import { createAccount } from '../../src/services/accounts.js';
import type { NewAccountResult } from '../../src/services/accounts.js';

export const PG_URL = process.env.STANDPIPE_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test';

/** The dialects every database-backed test runs on; CI runs both. */
export const DIALECTS: DialectName[] = (process.env.STANDPIPE_TEST_DIALECTS ?? 'sqlite,postgres')
  .split(',').map((d) => d.trim()).filter((d): d is DialectName =>
    d === 'sqlite' || d === 'postgres');

export interface TestDb {
  db: Db;
  url: string;
  schema: string | null;
  drop(): Promise<void>;
}

/** A database of its own for one test file: a SQLite file, or a fresh PostgreSQL schema. */
export async function createTestDb(dialect: DialectName, dir: string): Promise<TestDb> {
  if (dialect === 'sqlite') {
    const url = path.join(dir, 'standpipe.db');
    return { db: openDatabase(url), url, schema: null, drop: async () => undefined };
  }
  const schema = await createTestSchema('t');
  const db = openDatabase(PG_URL, { schema, poolSize: 5 });
  return {
    db,
    url: PG_URL,
    schema,
    // Dropped with every other schema of the run when it ends (test/global-setup.ts): a
    // schema dropped while other files still run can break their catalogue queries.
    drop: async () => undefined,
  };
}

/** Creates a PostgreSQL schema named for this test run, for one test's tables. */
export async function createTestSchema(tag: string): Promise<string> {
  const prefix = process.env.STANDPIPE_TEST_SCHEMA_PREFIX ?? 'sp_test_';
  const schema = `${prefix}${tag}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  return schema;
}

export type MigratedTestDb = TestDb & { close(): Promise<void> };

/**
 * A migrated database of its own in a temporary folder, for tests of one layer; `close`
 * closes it and removes the folder.
 */
export async function createMigratedTestDb(
  dialect: DialectName,
  tag: string,
): Promise<MigratedTestDb> {
  const dir = await mkdtemp(path.join(tmpdir(), `standpipe-${tag}-`));
  const testDb = await createTestDb(dialect, dir);
  await migrate(testDb.db);
  return {
    ...testDb,
    close: async () => {
      await testDb.db.close();
      await testDb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestServer {
  server: Server;
  url: string;
  dataDir: string;
  dialect: DialectName;
  account(name?: string): Promise<NewAccountResult>;
  api(key: string, method: string, url: string, body?: unknown): Promise<ApiResponse>;
  /**
   * Stops the server and starts it again on the same data directory and database, as a new
   * process would be: nothing kept in memory survives. `server` and `url` change.
   */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

export async function startTestServer(
  dialect: DialectName,
  options: {
    env?: Record<string, string>;
    workers?: boolean;
    retryScale?: number;
    /** Where the server logs; silent unless STANDPIPE_TEST_LOG names a level. */
    log?: Logger;
    clock?: () => number;
  } = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'standpipe-test-'));
  const testDb = await createTestDb(dialect, dataDir);
  const config = loadConfig({ port: '0', data: dataDir, noWorker: options.workers === false }, {
    STANDPIPE_OUTBOUND_ALLOW: '127.0.0.1,::1',
    STANDPIPE_LOG_LEVEL: 'silent',
    STANDPIPE_JOB_POLL_MS: '50',
    STANDPIPE_WEBHOOK_TIMEOUT_MS: '3000',
    // Customer storage endpoints default to the real services; tests never reach them.
    STANDPIPE_AMAZON_ENDPOINT: 'http://127.0.0.1:9',
    STANDPIPE_DROPBOX_API_URL: 'http://127.0.0.1:9',
    STANDPIPE_DROPBOX_CONTENT_URL: 'http://127.0.0.1:9',
    // Tests send hundreds of requests a second with one key; the limit has tests of its own.
    STANDPIPE_RATE_LIMIT_PER_MINUTE: '0',
    ...options.env,
  });
  const start = (db: Db) => startServer(config, {
    db,
    log: options.log ?? pino({ level: process.env.STANDPIPE_TEST_LOG ?? 'silent' }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.retryScale === undefined ? {} : { retryScale: options.retryScale }),
  });
  const server = await start(testDb.db);
  let counter = 0;
  const handle: TestServer = {
    server,
    url: server.url ?? '',
    dataDir,
    dialect,
    account: async (name) => {
      counter += 1;
      return createAccount(handle.server.ctx, {
        name: name ?? `Account ${counter}`,
        email: `user${counter}@example.com`,
      });
    },
    api: async (key, method, path, body) => {
      const res = await fetch(`${handle.url}${path}`, {
        method,
        headers: {
          'x-pipe-auth': key,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return readResponse(res);
    },
    restart: async () => {
      await handle.server.stop(2000);
      const db = testDb.schema === null ? openDatabase(testDb.url)
        : openDatabase(testDb.url, { schema: testDb.schema, poolSize: 5 });
      handle.server = await start(db);
      handle.url = handle.server.url ?? '';
    },
    close: async () => {
      await handle.server.stop(2000);
      await testDb.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/** A response with its text, and its JSON where the text is JSON ({} otherwise). */
export async function readResponse(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: res.status, headers: res.headers, json, text };
}

/**
 * Every regular file under `dir`, as absolute paths, sorted; [] when it does not exist. A
 * running server removes its work folders at any moment, so a walk that meets a folder
 * vanishing under it is made again rather than cut short.
 */
export async function filesUnder(dir: string): Promise<string[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const entries = await readdir(dir, { withFileTypes: true, recursive: true });
      return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const rootGone = await readdir(dir).then(() => false, () => true);
      if (rootGone) return [];
      if (attempt >= 10) throw err;
    }
  }
}

/** Uploads a file the way the recorder does. */
export async function uploadFile(
  baseUrl: string,
  fields: Record<string, string>,
  file: { name: string; data: Buffer | Blob; field?: string },
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const blob = file.data instanceof Blob ? file.data : new Blob([new Uint8Array(file.data)]);
  form.append(file.field ?? 'FileInput', blob, file.name);
  const res = await fetch(`${baseUrl}/upload`, { method: 'POST', body: form, headers });
  return readResponse(res);
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Several standpipe processes' worth of servers in one test process, each with a database
 * connection, a data directory and a media store client of its own: they share only what
 * separate machines would share, the database and the S3 bucket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import pino from 'pino';

import { loadConfig } from '../../src/config/index.js';
import type { DialectName } from '../../src/db/connect.js';
import { startServer } from '../../src/runtime.js';
import type { Server } from '../../src/runtime.js';
import { S3_KEY, startS3Server } from '../delivery/servers.js';
import type { S3Server } from '../delivery/servers.js';
import { PG_URL, createTestDb } from '../helpers/harness.js';
import type { TestDb } from '../helpers/harness.js';

export const SECRET_KEY = 'c4'.repeat(32);

export interface Shared {
  dialect: DialectName;
  dir: string;
  testDb: TestDb;
  /** What STANDPIPE_DATABASE_URL says to reach the shared database. */
  databaseUrl: string;
  s3: S3Server | null;
  close(): Promise<void>;
}

export async function sharedServices(dialect: DialectName, withS3: boolean): Promise<Shared> {
  const dir = await mkdtemp(path.join(tmpdir(), 'standpipe-cluster-'));
  const testDb = await createTestDb(dialect, dir);
  const databaseUrl = testDb.schema === null ? testDb.url : `${PG_URL}?schema=${testDb.schema}`;
  const s3 = withS3 ? await startS3Server(path.join(dir, 's3'), ['media']) : null;
  return {
    dialect, dir, testDb, databaseUrl, s3,
    close: async () => {
      await testDb.db.close();
      await s3?.close();
      await testDb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type Role = 'api' | 'worker';

export interface Node {
  server: Server;
  /** The API for `api`, the health and metrics port for `worker`. */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** `standpipe serve --no-worker` or `standpipe worker`, each on a data directory of its own. */
export async function startNode(shared: Shared, role: Role, env: Record<string, string> = {},
  clock?: () => number): Promise<Node> {
  const dataDir = await mkdtemp(path.join(shared.dir, `${role}-`));
  const s3 = shared.s3 === null ? {} : {
    STANDPIPE_MEDIA_STORE: 's3', STANDPIPE_S3_ENDPOINT: shared.s3.endpoint,
    STANDPIPE_S3_BUCKET: 'media', STANDPIPE_S3_ACCESS_KEY_ID: S3_KEY,
    STANDPIPE_S3_SECRET_ACCESS_KEY: S3_KEY,
  };
  const config = loadConfig({ port: '0', data: dataDir, noWorker: role === 'api' }, {
    STANDPIPE_DATABASE_URL: shared.databaseUrl,
    STANDPIPE_SECRET_KEY: SECRET_KEY,
    STANDPIPE_OUTBOUND_ALLOW: '127.0.0.1,::1',
    STANDPIPE_JOB_POLL_MS: '50',
    STANDPIPE_METRICS_PORT: '0',
    ...s3,
    ...env,
  });
  const server = await startServer(config, {
    http: role === 'api',
    log: pino({ level: process.env.STANDPIPE_TEST_LOG ?? 'silent' }),
    ...(clock === undefined ? {} : { clock }),
  });
  return {
    server,
    url: server.url ?? '',
    dataDir,
    stop: () => server.stop(2000),
  };
}

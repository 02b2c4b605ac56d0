/**
 * Real `standpipe worker` processes on one PostgreSQL database: four of them share 500
 * webhook deliveries while one is killed outright, and a worker told to stop finishes or
 * hands back what it holds. The receiver counts what arrives, by webhook-id, so that a job
 * that ran twice is seen rather than assumed away.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Account } from '../../src/db/schema.js';
import { findAccountById } from '../../src/repositories/accounts.js';
import { insertRecording } from '../../src/repositories/recordings.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import { createAccount } from '../../src/services/accounts.js';
import { emitEvent } from '../../src/services/events.js';
import { DIALECTS, eventually } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { SECRET_KEY, sharedServices, startNode } from './cluster.js';
import type { Node, Shared } from './cluster.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const withPostgres = DIALECTS.includes('postgres');
if (!withPostgres) {
  process.stderr.write('test/scale/workers.test.ts: skipped, it needs PostgreSQL ' +
    '(STANDPIPE_TEST_POSTGRES_URL)\n');
}

interface Worker {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe.skipIf(!withPostgres)('worker processes on one PostgreSQL database', () => {
  let shared: Shared;
  let api: Node;
  let receiver: Receiver;
  const spawned: Worker[] = [];
  let counter = 0;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
    shared = await sharedServices('postgres', false);
    receiver = await startReceiver();
    api = await startNode(shared, 'api', { STANDPIPE_RATE_LIMIT_PER_MINUTE: '0' });
  });

  afterAll(async () => {
    for (const w of spawned) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await Promise.all(spawned.map((w) => w.exited));
    await api?.stop();
    await receiver?.close();
    await shared?.close();
  });

  async function spawnWorker(env: Record<string, string> = {}): Promise<Worker> {
    const dataDir = await mkdtemp(path.join(shared.dir, 'worker-'));
    const child = spawn(process.execPath, [CLI, 'worker'], {
      env: {
        ...process.env,
        STANDPIPE_DATA_DIR: dataDir,
        STANDPIPE_DATABASE_URL: shared.databaseUrl,
        STANDPIPE_SECRET_KEY: SECRET_KEY,
        STANDPIPE_OUTBOUND_ALLOW: '127.0.0.1',
        STANDPIPE_JOB_POLL_MS: '100',
        STANDPIPE_JOB_LEASE_MS: '2000',
        STANDPIPE_WEBHOOK_CONCURRENCY: '8',
        STANDPIPE_LOG_LEVEL: process.env.STANDPIPE_TEST_LOG ?? 'warn',
        ...env,
      },
      stdio: ['ignore', process.env.STANDPIPE_TEST_LOG === undefined ? 'ignore' : 'inherit',
        'inherit'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const worker = { child, exited };
    spawned.push(worker);
    return worker;
  }

  async function account(hooks: string[]): Promise<{ created: NewAccountResult;
    row: Account }> {
    counter += 1;
    const created = await createAccount(api.server.ctx, { name: `Scale ${counter}`,
      email: `scale${counter}@example.com` });
    for (const url of hooks) {
      const res = await fetch(`${api.url}/webhook`, { method: 'POST',
        headers: { 'x-pipe-auth': created.api_key, 'content-type': 'application/json' },
        body: JSON.stringify({ webhook: url }) });
      expect(res.status).toBe(201);
    }
    const row = await findAccountById(api.server.ctx.db.kysely, created.id);
    if (row === undefined) throw new Error('account missing');
    return { created, row };
  }

  /** `video_recorded` for `recordings` new recordings: one delivery job per webhook each. */
  async function emitRecorded(row: Account, recordings: number): Promise<void> {
    const { ctx } = api.server;
    for (let done = 0; done < recordings; done += 25) {
      await ctx.db.kysely.transaction().execute(async (trx) => {
        for (let i = done; i < Math.min(recordings, done + 25); i += 1) {
          const rec = await insertRecording(trx, {
            account_id: row.id, env_id: 1, name: `vs${row.id}_${i}_${Date.now()}`,
            status: 'recorded', original_ext: 'webm', original_container: 'webm',
            created_at: Date.now(), ipv4: '', ua: '', http_referer: '', camera_name: '',
            microphone_name: '', payload: `n=${i}`, mrt: null, source: 'DESK',
            original_size: 1, region: 'local',
          });
          await emitEvent(ctx, trx, 'video_recorded', rec, row);
        }
      });
    }
  }

  const db = () => shared.testDb.db.kysely;

  it('runs 500 jobs to completion once each across four workers, one of them killed midway',
    async () => {
      // Ten receivers' worth of webhooks, so that the per-webhook limit (a quarter of
      // STANDPIPE_WEBHOOK_CONCURRENCY, across every process) still lets 20 run at once.
      const hooks = Array.from({ length: 10 }, (_, i) => receiver.url(`/scale/${i}`));
      const { row } = await account(hooks);
      receiver.setDefault({ status: 200, delayMs: 200 });
      await emitRecorded(row, 50);
      const jobs = await db().selectFrom('jobs').select(['id'])
        .where('type', '=', 'webhook.deliver').execute();
      expect(jobs).toHaveLength(500);

      const workers = await Promise.all([0, 1, 2, 3].map(() => spawnWorker()));
      const pids = workers.map((w) => w.child.pid ?? 0);

      // Midway, kill the worker holding the most running jobs, so that some are cut off.
      await eventually(async () => (receiver.requests.length >= 150 ? true : undefined),
        60_000, '150 deliveries');
      const victim = await eventually(async () => {
        const held = await runningByPid(pids);
        const [pid, n] = [...held.entries()].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
        return n > 0 ? pid : undefined;
      }, 10_000, 'a worker holding jobs');
      const killed = workers[pids.indexOf(victim)];
      killed?.child.kill('SIGKILL');
      expect(await killed?.exited).toEqual({ code: null, signal: 'SIGKILL' });
      const orphaned = await db().selectFrom('jobs').select(['id', 'payload'])
        .where('status', '=', 'running').where('locked_by', 'like', `%:${victim}:%`).execute();
      expect(orphaned.length).toBeGreaterThan(0);
      const orphanedDeliveries = new Set(orphaned.map((j) =>
        (JSON.parse(j.payload) as { deliveryId: number }).deliveryId));

      await eventually(async () => {
        const left = await db().selectFrom('jobs').select('id').where('status', '!=', 'done')
          .execute();
        return left.length === 0 ? true : undefined;
      }, 90_000, 'every job done');

      // Every delivery is marked delivered, with one recorded attempt: a second run of its
      // job found it delivered and sent nothing, or the first run died before recording.
      const deliveries = await db().selectFrom('webhook_deliveries')
        .select(['id', 'message_id', 'status', 'attempts', 'delivered_at']).execute();
      expect(deliveries).toHaveLength(500);
      expect(deliveries.filter((d) => d.status !== 'delivered' || d.attempts !== 1
        || d.delivered_at === null)).toEqual([]);

      // Every delivery reached the receiver at least once. At-least-once delivery means a
      // job cut off by the kill may have reached it before its worker died and then again
      // from the worker that took it over; only those may arrive twice, never a job that
      // two living workers ran side by side.
      const arrivals = new Map<string, number>();
      for (const r of receiver.requests) {
        const id = String(r.headers['webhook-id']);
        arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
      }
      expect(arrivals.size).toBe(500);
      const byMessage = new Map(deliveries.map((d) => [d.message_id, d.id]));
      expect([...arrivals.keys()].every((id) => byMessage.has(id))).toBe(true);
      const twice = [...arrivals.entries()].filter(([, n]) => n > 1);
      expect(twice.every(([id, n]) => n === 2 && orphanedDeliveries.has(byMessage.get(id) ?? 0)))
        .toBe(true);

      // Jobs ran once, except those taken over after the kill, which ran a second time.
      const finished = await db().selectFrom('jobs').select(['id', 'attempts'])
        .where('type', '=', 'webhook.deliver').execute();
      const orphanIds = new Set(orphaned.map((j) => j.id));
      expect(finished.filter((j) => j.attempts !== (orphanIds.has(j.id) ? 2 : 1))).toEqual([]);
      process.stdout.write(`four workers, one killed: 500 jobs done, ${orphaned.length} taken ` +
        `over after the lease, ${twice.length} deliveries arrived twice, ` +
        `${receiver.requests.length} requests in all\n`);

      const survivors = workers.filter((w) => w !== killed);
      for (const w of survivors) w.child.kill('SIGTERM');
      for (const w of survivors) expect(await w.exited).toEqual({ code: 0, signal: null });
    }, 180_000);

  it('on SIGTERM takes no new job and lets a running one finish within the grace period',
    async () => {
      const { row } = await account([receiver.url('/slow')]);
      receiver.setDefault((r) => (r.path === '/slow' ? { delayMs: 1500 } : {}));
      const before = receiver.requests.length;
      const worker = await spawnWorker({ STANDPIPE_SHUTDOWN_GRACE_MS: '8000' });
      await emitRecorded(row, 1);
      await receiver.waitFor(before + 1, 20_000);

      const signalled = Date.now();
      worker.child.kill('SIGTERM');
      await emitRecorded(row, 1);
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeLessThan(8000);

      const states = await db().selectFrom('webhook_deliveries').select(['status', 'attempts'])
        .where('account_id', '=', row.id).orderBy('id').execute();
      expect(states).toEqual([{ status: 'delivered', attempts: 1 },
        { status: 'pending', attempts: 0 }]);
      const jobs = await db().selectFrom('jobs').select(['status', 'attempts', 'locked_by'])
        .where('group_key', 'like', 'webhook:%').where('recording_id', 'in',
          db().selectFrom('recordings').select('id').where('account_id', '=', row.id))
        .orderBy('id').execute();
      expect(jobs).toEqual([{ status: 'done', attempts: 1, locked_by: null },
        { status: 'queued', attempts: 0, locked_by: null }]);
      expect(receiver.requests.length).toBe(before + 1);
    }, 60_000);

  it('on SIGTERM hands back a job still running when the grace period ends', async () => {
    const { row } = await account([receiver.url('/hang')]);
    let answering = false;
    receiver.setDefault((r) => (r.path === '/hang' && !answering ? { hang: true } : {}));
    const before = receiver.requests.length;
    const worker = await spawnWorker({ STANDPIPE_SHUTDOWN_GRACE_MS: '1000',
      STANDPIPE_WEBHOOK_TIMEOUT_MS: '60000' });
    await emitRecorded(row, 1);
    await receiver.waitFor(before + 1, 20_000);

    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(4000);
    const job = await db().selectFrom('jobs').select(['status', 'attempts', 'locked_by'])
      .where('recording_id', 'in',
        db().selectFrom('recordings').select('id').where('account_id', '=', row.id))
      .executeTakeFirstOrThrow();
    expect(job).toEqual({ status: 'queued', attempts: 0, locked_by: null });
    const delivery = await db().selectFrom('webhook_deliveries').select(['status', 'attempts'])
      .where('account_id', '=', row.id).executeTakeFirstOrThrow();
    expect(delivery).toEqual({ status: 'pending', attempts: 0 });

    // The next worker sends it in full.
    answering = true;
    const next = await spawnWorker();
    await eventually(async () => {
      const d = await db().selectFrom('webhook_deliveries').select('status')
        .where('account_id', '=', row.id).executeTakeFirstOrThrow();
      return d.status === 'delivered' ? true : undefined;
    }, 20_000, 'delivery by the next worker');
    next.child.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  /** Running jobs per worker process, read from the lease holder's id (host:pid:pool:…). */
  async function runningByPid(pids: number[]): Promise<Map<number, number>> {
    const rows = await db().selectFrom('jobs').select('locked_by')
      .where('status', '=', 'running').execute();
    const held = new Map<number, number>(pids.map((p) => [p, 0]));
    for (const r of rows) {
      const pid = Number(r.locked_by?.split(':')[1]);
      if (held.has(pid)) held.set(pid, (held.get(pid) ?? 0) + 1);
    }
    return held;
  }
});

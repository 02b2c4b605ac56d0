import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Db } from '../../src/db/connect.js';
import { openDatabase } from '../../src/db/connect.js';
import type { Job } from '../../src/db/schema.js';
import { AppError } from '../../src/lib/errors.js';
import { JOB_POLICIES } from '../../src/jobs/policies.js';
import type { JobType } from '../../src/jobs/policies.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { WorkerPool } from '../../src/jobs/worker.js';
import type { JobHandlers } from '../../src/jobs/worker.js';
import { claimJob, finishJob } from '../../src/repositories/jobs.js';
import { DIALECTS, createMigratedTestDb, eventually } from '../helpers/harness.js';
import type { MigratedTestDb } from '../helpers/harness.js';

const log = pino({ level: 'silent' });

/** The given handlers, and one that does nothing for every other job type. */
function withIdleHandlers(some: Partial<JobHandlers>): JobHandlers {
  const all = Object.fromEntries((Object.keys(JOB_POLICIES) as JobType[])
    .map((type) => [type, some[type] ?? { run: async () => undefined }]));
  return all as JobHandlers;
}

describe.each(DIALECTS)('the job queue (%s)', (dialect) => {
  let testDb: MigratedTestDb;
  let db: Db;
  const queue = new JobQueue();

  beforeAll(async () => {
    testDb = await createMigratedTestDb(dialect, 'jobs');
    db = testDb.db;
  });

  afterAll(async () => {
    await testDb.close();
  });

  /** Another connection to the same database, as another process would have. */
  function connectAgain(): Db {
    if (dialect === 'sqlite') return openDatabase(testDb.url);
    return openDatabase(testDb.url, { schema: testDb.schema ?? undefined, poolSize: 4 });
  }

  function pools(runs: number[], handler?: (job: Job) => Promise<void>) {
    const handlers = withIdleHandlers({
      'webhook.deliver': {
        run: async (job) => {
          await handler?.(job);
          runs.push((JSON.parse(job.payload) as { deliveryId: number }).deliveryId);
        },
      },
    });
    return handlers;
  }

  it('runs each job exactly once across four workers on their own connections', async () => {
    const n = 200;
    await db.kysely.transaction().execute(async (trx) => {
      for (let i = 1; i <= n; i += 1) await queue.enqueue(trx, 'webhook.deliver', { deliveryId: i });
    });
    const runs: number[] = [];
    const conns = [0, 1, 2, 3].map(() => connectAgain());
    const workers = conns.map((conn) => new WorkerPool({
      db: conn, queue, log, pool: 'webhooks', concurrency: 4, pollMs: 20, leaseMs: 10_000,
      handlers: pools(runs, async () => new Promise((r) => setTimeout(r, Math.random() * 5))),
    }));
    workers.forEach((w) => w.start());
    await eventually(async () => (runs.length >= n ? true : undefined), 60_000, 'all jobs');
    await Promise.all(workers.map((w) => w.stop(1000)));
    await Promise.all(conns.map((c) => c.close()));

    expect(runs).toHaveLength(n);
    expect(new Set(runs).size).toBe(n);
    const left = await db.kysely.selectFrom('jobs').select('status')
      .where('status', '!=', 'done').execute();
    expect(left).toEqual([]);
  });

  it('gives a job whose lease ran out to another worker, and ignores the first one after', async () => {
    const id = await queue.enqueue(db.kysely, 'recording.process', { recordingId: 1 });
    const t0 = Date.now();
    const first = await claimJob(db.kysely, db.dialect, ['recording.process'], 'w1', t0, 1000);
    expect(first?.id).toBe(id);
    const early = await claimJob(db.kysely, db.dialect, ['recording.process'], 'w2', t0 + 500,
      1000);
    expect(early).toBeUndefined();
    const late = await claimJob(db.kysely, db.dialect, ['recording.process'], 'w2', t0 + 1500,
      1000);
    expect(late?.id).toBe(id);
    expect(late?.attempts).toBe(2);
    expect(await finishJob(db.kysely, id, 'w1', t0 + 1600)).toBe(false);
    expect(await finishJob(db.kysely, id, 'w2', t0 + 1600)).toBe(true);
  });

  it('retries on the schedule, stops at once for errors a retry cannot fix', async () => {
    const runs: number[] = [];
    let calls = 0;
    const gaveUp: string[] = [];
    const handlers = withIdleHandlers({
      'webhook.deliver': {
        run: async (job) => {
          calls += 1;
          const { deliveryId } = JSON.parse(job.payload) as { deliveryId: number };
          if (deliveryId === 1 && job.attempts < 3) throw new Error('transient');
          if (deliveryId === 2) throw new AppError('bad_request', 'will never work');
          runs.push(deliveryId);
        },
        giveUp: async (job, err) => {
          gaveUp.push(`${job.id}:${err.message}`);
        },
      },
    });
    await queue.enqueue(db.kysely, 'webhook.deliver', { deliveryId: 1 });
    const doomed = await queue.enqueue(db.kysely, 'webhook.deliver', { deliveryId: 2 });
    const worker = new WorkerPool({ db, queue, log, pool: 'webhooks', concurrency: 2,
      pollMs: 10, leaseMs: 5000, handlers, retryScale: 0.001 });
    worker.start();
    await eventually(async () => (runs.includes(1) && gaveUp.length === 1 ? true : undefined),
      20_000, 'retries');
    await worker.stop(1000);
    expect(calls).toBe(4);
    expect(gaveUp).toEqual([`${doomed}:will never work`]);
    const job = await db.kysely.selectFrom('jobs').selectAll().where('id', '=', doomed)
      .executeTakeFirstOrThrow();
    expect(job.status).toBe('failed');
    expect(job.attempts).toBe(1);
  });
});

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Db } from '../../src/db/connect.js';
import { AppError } from '../../src/lib/errors.js';
import { JOB_POLICIES } from '../../src/jobs/policies.js';
import type { JobType } from '../../src/jobs/policies.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { WorkerPool } from '../../src/jobs/worker.js';
import type { JobHandler, JobHandlers, JobOutcome } from '../../src/jobs/worker.js';
import { queueStats } from '../../src/repositories/jobs.js';
import { DIALECTS, createMigratedTestDb, eventually } from '../helpers/harness.js';
import type { MigratedTestDb } from '../helpers/harness.js';

const log = pino({ level: 'silent' });

function handlers(webhook: JobHandler): JobHandlers {
  const all = Object.fromEntries((Object.keys(JOB_POLICIES) as JobType[])
    .map((type): [JobType, JobHandler] => [type, { run: async () => undefined }]));
  return { ...(all as JobHandlers), 'webhook.deliver': webhook };
}

describe.each(DIALECTS)('stopping workers and reporting jobs (%s)', (dialect) => {
  let testDb: MigratedTestDb;
  let db: Db;
  const queue = new JobQueue();

  beforeAll(async () => {
    testDb = await createMigratedTestDb(dialect, 'shutdown');
    db = testDb.db;
  });

  afterAll(async () => {
    await testDb.close();
  });

  const jobRow = (id: number) => db.kysely.selectFrom('jobs')
    .select(['status', 'attempts', 'locked_by']).where('id', '=', id).executeTakeFirstOrThrow();

  it('hands back, within a bounded time, a job whose handler ignores its signal', async () => {
    const id = await queue.enqueue(db.kysely, 'webhook.deliver', { deliveryId: 1 });
    let started = false;
    const ended: JobOutcome[] = [];
    const pool = new WorkerPool({
      db, queue, log, pool: 'webhooks', concurrency: 1, pollMs: 20, leaseMs: 10_000,
      handlers: handlers({ run: async () => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 30_000).unref());
      } }),
      onJobEnd: (_type, outcome) => ended.push(outcome),
    });
    pool.start();
    await eventually(async () => (started ? true : undefined), 5000, 'the job to start');

    const t0 = Date.now();
    await pool.stop(300);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await jobRow(id)).toEqual({ status: 'queued', attempts: 0, locked_by: null });
    await db.kysely.deleteFrom('jobs').execute();
  });

  it('tells how each attempt ended, by type', async () => {
    const ids = [];
    for (const deliveryId of [1, 2, 3]) {
      ids.push(await queue.enqueue(db.kysely, 'webhook.deliver', { deliveryId }));
    }
    const ended: string[] = [];
    const pool = new WorkerPool({
      db, queue, log, pool: 'webhooks', concurrency: 1, pollMs: 20, leaseMs: 10_000,
      handlers: handlers({ run: async (job) => {
        const { deliveryId } = JSON.parse(job.payload) as { deliveryId: number };
        if (deliveryId === 2) throw new Error('try later');
        if (deliveryId === 3) throw new AppError('bad_request', 'never');
      } }),
      onJobEnd: (type, outcome, ms) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        ended.push(`${type} ${outcome}`);
      },
    });
    pool.start();
    await eventually(async () => (ended.length >= 3 ? true : undefined), 5000, 'three ends');
    await pool.stop(1000);
    expect(ended.sort()).toEqual(['webhook.deliver done', 'webhook.deliver failed',
      'webhook.deliver retry']);
    await db.kysely.deleteFrom('jobs').execute();
  });

  it('counts due, scheduled and running jobs and the oldest due time per type', async () => {
    const now = Date.now();
    const at = (delayMs: number) => new JobQueue(() => now - 5000)
      .enqueue(db.kysely, 'webhook.deliver', { deliveryId: 9 }, { delayMs });
    await at(0);
    await at(2000);
    await at(60_000);
    await new JobQueue(() => now).enqueue(db.kysely, 'recording.process', { recordingId: 1 });
    const running = await new JobQueue(() => now)
      .enqueue(db.kysely, 'recording.process', { recordingId: 2 });
    await db.kysely.updateTable('jobs').set({ status: 'running' }).where('id', '=', running)
      .execute();

    const stats = await queueStats(db.kysely, now);
    const sorted = [...stats].sort((a, b) => `${a.type}${a.state}`.localeCompare(
      `${b.type}${b.state}`));
    expect(sorted).toEqual([
      { type: 'recording.process', state: 'due', count: 1, oldestDueAt: now },
      { type: 'recording.process', state: 'running', count: 1, oldestDueAt: null },
      { type: 'webhook.deliver', state: 'due', count: 2, oldestDueAt: now - 5000 },
      { type: 'webhook.deliver', state: 'scheduled', count: 1, oldestDueAt: null },
    ]);
    await db.kysely.deleteFrom('jobs').execute();
  });
});

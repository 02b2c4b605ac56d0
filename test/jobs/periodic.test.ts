import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PeriodicScheduler } from '../../src/jobs/periodic.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { pruneFinished } from '../../src/repositories/maintenance.js';
import { DIALECTS, createMigratedTestDb } from '../helpers/harness.js';
import type { MigratedTestDb } from '../helpers/harness.js';

const log = pino({ level: 'silent' });

describe.each(DIALECTS)('periodic tasks and pruning (%s)', (dialect) => {
  let testDb: MigratedTestDb;

  beforeAll(async () => {
    testDb = await createMigratedTestDb(dialect, 'periodic');
  });

  afterAll(async () => {
    await testDb.close();
  });

  it('enqueues a task once per period however many processes tick', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const tasks = [{ type: 'maintenance.prune' as const, everyMs: 60_000, payload: {} }];
    const schedulers = [1, 2, 3].map(() =>
      new PeriodicScheduler(testDb.db, new JobQueue(clock), log, tasks, clock));
    const count = async () => (await testDb.db.kysely.selectFrom('jobs').select('id')
      .where('type', '=', 'maintenance.prune').execute()).length;

    await Promise.all(schedulers.map((s) => s.tick()));
    expect(await count()).toBe(1);
    now += 30_000;
    await Promise.all(schedulers.map((s) => s.tick()));
    expect(await count()).toBe(1);
    now += 30_000;
    await Promise.all(schedulers.map((s) => s.tick()));
    expect(await count()).toBe(2);
  });

  it('prunes finished deliveries and jobs older than the cut-off, nothing pending', async () => {
    const db = testDb.db.kysely;
    const row = (created: number, status: 'pending' | 'delivered') => ({
      account_id: 1, webhook_id: 1, recording_id: null, event: 'video_recorded', body: '{}',
      message_id: `m${created}${status}`, status, attempts: 1, created_at: created,
    });
    await db.insertInto('webhook_deliveries')
      .values([row(10, 'delivered'), row(10, 'pending'), row(5000, 'delivered')]).execute();
    await db.deleteFrom('jobs').execute();
    const job = (updated: number, status: 'done' | 'queued') => ({
      type: 'webhook.deliver', payload: '{}', status, run_at: 0, attempts: 1, max_attempts: 1,
      created_at: 0, updated_at: updated,
    });
    await db.insertInto('jobs').values([job(10, 'done'), job(10, 'queued'), job(5000, 'done')])
      .execute();

    expect(await pruneFinished(db, 1000, 100)).toEqual({ deliveries: 1, jobs: 1 });
    const left = await db.selectFrom('webhook_deliveries').select(['created_at', 'status'])
      .orderBy('id').execute();
    expect(left).toEqual([{ created_at: 10, status: 'pending' },
      { created_at: 5000, status: 'delivered' }]);
    const jobs = await db.selectFrom('jobs').select(['updated_at', 'status']).orderBy('id')
      .execute();
    expect(jobs).toEqual([{ updated_at: 10, status: 'queued' }, { updated_at: 5000, status: 'done' }]);
  });
});

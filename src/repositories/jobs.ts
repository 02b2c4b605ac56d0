import { sql } from 'kysely';
import type { Kysely, SelectQueryBuilder } from 'kysely';

import type { DialectName } from '../db/connect.js';
import type { Database, Job } from '../db/schema.js';

type Exec = Kysely<Database>;

export interface NewJob {
  type: string;
  payload: unknown;
  runAt: number;
  maxAttempts: number;
  recordingId?: number | null;
  groupKey?: string | null;
}

export async function insertJob(db: Exec, job: NewJob, now: number): Promise<number> {
  const row = await db.insertInto('jobs').values({
    type: job.type,
    payload: JSON.stringify(job.payload),
    status: 'queued',
    run_at: job.runAt,
    attempts: 0,
    max_attempts: job.maxAttempts,
    recording_id: job.recordingId ?? null,
    group_key: job.groupKey ?? null,
    created_at: now,
    updated_at: now,
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Claims the next due job of the given types: a queued one whose time has come, else one
 * whose lease ran out (its worker died). Each case is its own query so that both use the
 * (status, type, run_at) index instead of scanning the table. On PostgreSQL, SKIP LOCKED lets
 * many workers claim side by side; SQLite has a single writer, so the UPDATE is atomic.
 */
export async function claimJob(
  db: Exec,
  dialect: DialectName,
  types: readonly string[],
  workerId: string,
  now: number,
  leaseMs: number,
  groupLimit = Number.MAX_SAFE_INTEGER,
): Promise<Job | undefined> {
  // Groups already running `groupLimit` jobs wait, so that one slow group (a dead webhook
  // receiver) cannot take every slot of the pool.
  const busyGroups = db.selectFrom('jobs').select('group_key')
    .where('status', '=', 'running').where('locked_until', '>=', now)
    .where('group_key', 'is not', null)
    .groupBy('group_key').having((eb) => eb.fn.countAll(), '>=', groupLimit);
  // With one type, `=` lets the index give rows already in (run_at, id) order, so that the
  // first match is the answer instead of a sort over every due job.
  const ofType = <Q extends SelectQueryBuilder<Database, 'jobs', { id: number }>>(q: Q) =>
    types.length === 1 ? q.where('type', '=', types[0] ?? '') : q.where('type', 'in', types);
  const candidates = [
    ofType(db.selectFrom('jobs').select('id').where('status', '=', 'queued'))
      .where('run_at', '<=', now),
    ofType(db.selectFrom('jobs').select('id').where('status', '=', 'running'))
      .where('locked_until', '<', now),
  ];
  for (const candidate of candidates) {
    let next = candidate
      .where((eb) => eb.or([eb('group_key', 'is', null), eb('group_key', 'not in', busyGroups)]))
      .orderBy('run_at').orderBy('id').limit(1);
    if (dialect === 'postgres') next = next.forUpdate().skipLocked();
    const job = await db.updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        locked_by: workerId,
        locked_until: now + leaseMs,
        attempts: eb('attempts', '+', 1),
        updated_at: now,
      }))
      .where('id', '=', (eb) => eb.selectFrom(next.as('due')).select('due.id'))
      .returningAll()
      .executeTakeFirst();
    if (job !== undefined) return job;
  }
  return undefined;
}

/** Extends a running job's lease; false when another worker has taken the job over. */
export async function renewLease(
  db: Exec,
  id: number,
  workerId: string,
  until: number,
): Promise<boolean> {
  const result = await db.updateTable('jobs').set({ locked_until: until })
    .where('id', '=', id).where('locked_by', '=', workerId).where('status', '=', 'running')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function finishJob(
  db: Exec,
  id: number,
  workerId: string,
  now: number,
): Promise<boolean> {
  const result = await db.updateTable('jobs')
    .set({ status: 'done', locked_by: null, locked_until: null, updated_at: now })
    .where('id', '=', id).where('locked_by', '=', workerId).where('status', '=', 'running')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Puts a failed job back in the queue for `retryAt`, or fails it for good when null. */
export async function failJob(
  db: Exec,
  id: number,
  workerId: string,
  error: string,
  retryAt: number | null,
  now: number,
): Promise<void> {
  await db.updateTable('jobs')
    .set({
      status: retryAt === null ? 'failed' : 'queued',
      run_at: retryAt ?? now,
      last_error: error.slice(0, 2000),
      locked_by: null,
      locked_until: null,
      updated_at: now,
    })
    .where('id', '=', id).where('locked_by', '=', workerId).execute();
}

/** Returns a claimed job to the queue untouched, for a worker that is shutting down. */
export async function releaseJob(db: Exec, id: number, workerId: string, now: number) {
  await db.updateTable('jobs')
    .set((eb) => ({
      status: 'queued',
      locked_by: null,
      locked_until: null,
      attempts: eb('attempts', '-', 1),
      updated_at: now,
    }))
    .where('id', '=', id).where('locked_by', '=', workerId).where('status', '=', 'running')
    .execute();
}

export async function cancelRecordingJobs(db: Exec, recordingId: number, now: number) {
  await db.updateTable('jobs').set({ status: 'cancelled', updated_at: now })
    .where('recording_id', '=', recordingId).where('status', '=', 'queued').execute();
}

export async function nextDueAt(db: Exec, types: readonly string[]): Promise<number | null> {
  const row = await db.selectFrom('jobs').select((eb) => eb.fn.min('run_at').as('at'))
    .where('type', 'in', types).where('status', '=', 'queued').executeTakeFirst();
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

export interface QueueStat {
  type: string;
  /** `due`: waiting for a worker now; `scheduled`: a retry or delay not yet due. */
  state: 'due' | 'scheduled' | 'running';
  count: number;
  /** For due jobs, the earliest time one of them became due. */
  oldestDueAt: number | null;
}

/** Jobs waiting or running, by type: the queue depth that the metrics endpoint reports. */
export async function queueStats(db: Exec, now: number): Promise<QueueStat[]> {
  const due = await db.selectFrom('jobs')
    .select((eb) => ['type', eb.fn.countAll().as('n'), eb.fn.min('run_at').as('oldest')])
    .where('status', '=', 'queued').where('run_at', '<=', now).groupBy('type').execute();
  const scheduled = await db.selectFrom('jobs')
    .select((eb) => ['type', eb.fn.countAll().as('n')])
    .where('status', '=', 'queued').where('run_at', '>', now).groupBy('type').execute();
  const running = await db.selectFrom('jobs')
    .select((eb) => ['type', eb.fn.countAll().as('n')])
    .where('status', '=', 'running').groupBy('type').execute();
  return [
    ...due.map((r) => ({ type: r.type, state: 'due' as const, count: Number(r.n),
      oldestDueAt: r.oldest === null ? null : Number(r.oldest) })),
    ...scheduled.map((r) => ({ type: r.type, state: 'scheduled' as const, count: Number(r.n),
      oldestDueAt: null })),
    ...running.map((r) => ({ type: r.type, state: 'running' as const, count: Number(r.n),
      oldestDueAt: null })),
  ];
}

/** Tells every listening process that jobs were enqueued (PostgreSQL only). */
export async function announceJobs(db: Exec, channel: string): Promise<void> {
  await sql`select pg_notify(${channel}, '')`.execute(db);
}

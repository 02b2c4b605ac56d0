import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import type { Logger } from 'pino';

import type { Db } from '../db/connect.js';
import type { Job } from '../db/schema.js';
import { isRetryable } from '../lib/errors.js';
import { claimJob, failJob, finishJob, releaseJob, renewLease } from '../repositories/jobs.js';
import { nextRetryDelayMs } from '../webhooks/schedule.js';
import { JOB_POLICIES, RetryLater, typesOfPool } from './policies.js';
import type { JobType, PoolName } from './policies.js';
import type { JobQueue } from './queue.js';

export interface JobHandler {
  run(job: Job, signal: AbortSignal): Promise<void>;
  /** Called once when the job has failed for good, to leave the reason where users see it. */
  giveUp?(job: Job, error: Error): Promise<void>;
  /** Called when a failed attempt is scheduled again, with the time of the next one. */
  retrying?(job: Job, error: Error, nextAttemptAt: number): Promise<void>;
}

export type JobHandlers = Record<JobType, JobHandler>;

export interface WorkerPoolOptions {
  db: Db;
  queue: JobQueue;
  log: Logger;
  pool: PoolName;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  handlers: JobHandlers;
  clock?: () => number;
  /** Multiplies every retry delay; below 1 it compresses the schedule. */
  retryScale?: number;
  /** At most this many jobs of one group run at once, across every process. */
  groupLimit?: number;
  /** Told how each attempt ended and how long it ran, for metrics. */
  onJobEnd?: (type: JobType, outcome: JobOutcome, ms: number) => void;
}

/** How an attempt ended: finished, put back for a retry, failed for good, or released. */
export type JobOutcome = 'done' | 'retry' | 'failed' | 'released';

/** How long jobs get, once aborted at the end of a shutdown's grace period, to stop. */
const ABORT_WAIT_MS = 2000;

interface Running {
  promise: Promise<void>;
  abort: AbortController;
  job: Job;
}

/**
 * Claims jobs of one pool and runs up to `concurrency` at once. Pools are separate so that a
 * slow webhook receiver never holds back a conversion, nor a long conversion a webhook.
 */
export class WorkerPool {
  readonly workerId: string;
  readonly #o: WorkerPoolOptions;
  readonly #types: JobType[];
  readonly #running = new Set<Running>();
  readonly #clock: () => number;
  #accepting = false;
  #filling = false;
  #refill = false;
  #claiming: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: WorkerPoolOptions) {
    this.#o = options;
    this.#types = typesOfPool(options.pool);
    this.#clock = options.clock ?? Date.now;
    this.workerId = `${hostname()}:${process.pid}:${options.pool}:${randomBytes(3).toString('hex')}`;
  }

  get active(): number {
    return this.#running.size;
  }

  start(): void {
    if (this.#accepting) return;
    this.#accepting = true;
    this.#unsubscribe = this.#o.queue.onJob(() => this.#kick());
    this.#timer = setInterval(() => this.#kick(), this.#o.pollMs);
    this.#timer.unref();
    this.#kick();
  }

  /** Stops claiming; running jobs get `graceMs` to finish, then are aborted and released. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#accepting = false;
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    // A claim on its way either launches its job, so it is waited for below, or releases it.
    await this.#claiming;
    const all = Promise.all([...this.#running].map((r) => r.promise));
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
    ]);
    if (!timedOut) return;
    const left = [...this.#running];
    for (const r of left) r.abort.abort(new Error('worker shutting down'));
    // A handler that does not heed its signal is not waited for long: its job is released
    // anyway, and should the handler still finish, the finish is refused with the lease gone.
    await Promise.race([
      Promise.allSettled(left.map((r) => r.promise)),
      new Promise((resolve) => setTimeout(resolve, ABORT_WAIT_MS).unref()),
    ]);
    for (const r of left) {
      await releaseJob(this.#o.db.kysely, r.job.id, this.workerId, this.#clock());
    }
  }

  #kick(): void {
    if (this.#filling) {
      this.#refill = true;
      return;
    }
    this.#filling = true;
    this.#claiming = this.#fill()
      .catch((err: unknown) => this.#o.log.error({ err, pool: this.#o.pool }, 'job claim failed'))
      .finally(() => {
        this.#filling = false;
        if (this.#refill) {
          this.#refill = false;
          this.#kick();
        }
      });
  }

  async #fill(): Promise<void> {
    while (this.#accepting && this.#running.size < this.#o.concurrency) {
      const now = this.#clock();
      const { db } = this.#o;
      const job = await claimJob(db.kysely, db.dialect, this.#types, this.workerId, now,
        this.#o.leaseMs, this.#o.groupLimit);
      if (job === undefined) return;
      if (!this.#accepting) {
        // stop() came while this claim was on its way: hand the job straight back.
        await releaseJob(db.kysely, job.id, this.workerId, this.#clock());
        return;
      }
      this.#launch(job);
    }
  }

  #launch(job: Job): void {
    const abort = new AbortController();
    const entry: Running = { job, abort, promise: Promise.resolve() };
    entry.promise = this.#execute(job, abort).catch((err: unknown) => {
      // Reached only when the database itself failed; the lease brings the job back.
      this.#o.log.error({ err, jobId: job.id }, 'job bookkeeping failed');
    }).finally(() => {
      this.#running.delete(entry);
      if (this.#accepting) this.#kick();
    });
    this.#running.add(entry);
  }

  async #execute(job: Job, abort: AbortController): Promise<void> {
    const { db, log, leaseMs } = this.#o;
    const type = job.type as JobType;
    const handler = this.#o.handlers[type];
    const jobLog = log.child({ jobId: job.id, job: type, attempt: job.attempts });
    const heartbeat = setInterval(() => {
      renewLease(db.kysely, job.id, this.workerId, this.#clock() + leaseMs)
        .then((held) => {
          if (!held) abort.abort(new Error('lease lost to another worker'));
        })
        .catch((err: unknown) => jobLog.warn({ err }, 'lease renewal failed'));
    }, Math.max(100, Math.floor(leaseMs / 3)));
    heartbeat.unref();

    const started = this.#clock();
    try {
      await handler.run(job, abort.signal);
      await finishJob(db.kysely, job.id, this.workerId, this.#clock());
      jobLog.debug({ ms: this.#clock() - started }, 'job done');
      this.#o.onJobEnd?.(type, 'done', this.#clock() - started);
    } catch (caught) {
      const err = caught instanceof Error ? caught : new Error(String(caught));
      if (abort.signal.aborted && !this.#accepting) {
        this.#o.onJobEnd?.(type, 'released', this.#clock() - started);
        return;
      }
      const outcome = await this.#failed(job, handler, err, jobLog).catch((hookErr: unknown) => {
        jobLog.error({ err: hookErr }, 'recording a job failure failed');
        return 'retry' as const;
      });
      this.#o.onJobEnd?.(type, outcome, this.#clock() - started);
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #failed(job: Job, handler: JobHandler, err: Error,
    jobLog: Logger): Promise<'retry' | 'failed'> {
    const now = this.#clock();
    const policy = JOB_POLICIES[job.type as JobType];
    const scale = this.#o.retryScale ?? 1;
    let delay = isRetryable(err) && job.attempts < job.max_attempts
      ? nextRetryDelayMs(policy.retryScheduleMs, job.attempts)
      : null;
    if (delay !== null) delay *= scale;
    // A receiver's Retry-After names the time to come back; a day at most.
    if (delay !== null && err instanceof RetryLater) delay = Math.min(err.delayMs, 86_400_000);

    const retryAt = delay === null ? null : now + Math.round(delay);
    await failJob(this.#o.db.kysely, job.id, this.workerId, err.message, retryAt, now);
    if (retryAt !== null) {
      jobLog.warn({ err: err.message, retryInMs: retryAt - now }, 'job failed, will retry');
      if (handler.retrying !== undefined) await handler.retrying(job, err, retryAt);
      return 'retry';
    }
    jobLog.error({ err: err.message }, 'job failed for good');
    if (handler.giveUp !== undefined) await handler.giveUp(job, err);
    return 'failed';
  }
}

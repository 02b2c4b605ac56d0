import type { Logger } from 'pino';

import type { Db } from '../db/connect.js';
import type { JobType } from './policies.js';
import type { JobPayloads, JobQueue } from './queue.js';

export interface PeriodicTask {
  type: JobType;
  everyMs: number;
  payload: JobPayloads[JobType];
}

/**
 * Enqueues each periodic task once per period across every process that shares the
 * database: the process whose UPDATE moves `next_run_at` forward is the one that enqueues.
 */
export class PeriodicScheduler {
  readonly #db: Db;
  readonly #queue: JobQueue;
  readonly #log: Logger;
  readonly #tasks: readonly PeriodicTask[];
  readonly #clock: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, queue: JobQueue, log: Logger, tasks: readonly PeriodicTask[],
    clock: () => number = Date.now) {
    this.#db = db;
    this.#queue = queue;
    this.#log = log;
    this.#tasks = tasks;
    this.#clock = clock;
  }

  start(tickMs = 60_000): void {
    const tick = () => {
      this.tick().catch((err: unknown) => this.#log.error({ err }, 'periodic tick failed'));
    };
    this.#timer = setInterval(tick, tickMs);
    this.#timer.unref();
    tick();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Enqueues the tasks that are due; returns their types. */
  async tick(): Promise<JobType[]> {
    const db = this.#db.kysely;
    const now = this.#clock();
    const started: JobType[] = [];
    for (const task of this.#tasks) {
      await db.insertInto('schedules').values({ name: task.type, next_run_at: now })
        .onConflict((oc) => oc.column('name').doNothing()).execute();
      const claimed = await db.transaction().execute(async (trx) => {
        const result = await trx.updateTable('schedules')
          .set({ next_run_at: now + task.everyMs })
          .where('name', '=', task.type).where('next_run_at', '<=', now).executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        await this.#queue.enqueue(trx, task.type, task.payload);
        return true;
      });
      if (claimed) started.push(task.type);
    }
    if (started.length > 0) this.#queue.notify();
    return started;
  }
}

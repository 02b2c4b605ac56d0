import { EventEmitter } from 'node:events';

import type { Kysely } from 'kysely';

import type { Database } from '../db/schema.js';
import { insertJob } from '../repositories/jobs.js';
import { maxAttempts } from './policies.js';
import type { JobType } from './policies.js';

export interface JobPayloads {
  'recording.process': { recordingId: number };
  'webhook.deliver': { deliveryId: number };
  'maintenance.prune': Record<string, never>;
  'privacy.lifecycle': Record<string, never>;
  'uploads.expire': Record<string, never>;
  'sessions.expire': Record<string, never>;
  'delivery.copy': { recordingId: number; target: 's3' | 'ftp' | 'sftp' | 'dbox';
    credentialsId: number };
}

/**
 * Adds jobs inside the caller's transaction, so a job exists exactly when the state change
 * that needs it was committed. Local workers are woken at once instead of at their next poll.
 */
export class JobQueue {
  readonly #events = new EventEmitter();
  readonly #clock: () => number;
  #announce: (() => void) | undefined;
  #announcing = false;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
    this.#events.setMaxListeners(0);
  }

  async enqueue<T extends JobType>(
    db: Kysely<Database>,
    type: T,
    payload: JobPayloads[T],
    options: { delayMs?: number; recordingId?: number | null; groupKey?: string | null } = {},
  ): Promise<number> {
    const now = this.#clock();
    const id = await insertJob(db, {
      type,
      payload,
      runAt: now + (options.delayMs ?? 0),
      maxAttempts: maxAttempts(type),
      recordingId: options.recordingId ?? null,
      groupKey: options.groupKey ?? null,
    }, now);
    return id;
  }

  /** Call after the transaction that enqueued jobs has committed. */
  notify(): void {
    this.#events.emit('job');
    // Other processes are told once per turn of the event loop, however many jobs came.
    if (this.#announce === undefined || this.#announcing) return;
    this.#announcing = true;
    setImmediate(() => {
      this.#announcing = false;
      this.#announce?.();
    });
  }

  /** Also tells workers in other processes, e.g. through PostgreSQL's NOTIFY. */
  announceWith(announce: () => void): void {
    this.#announce = announce;
  }

  /** Another process enqueued jobs: wake this process's workers. */
  wake(): void {
    this.#events.emit('job');
  }

  onJob(listener: () => void): () => void {
    this.#events.on('job', listener);
    return () => this.#events.off('job', listener);
  }
}

import { DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS } from '../webhooks/schedule.js';

/**
 * Every job type with its pool, attempts and retry schedule. The record is keyed by the
 * union of job types, so adding a type without a policy (or a handler) does not compile.
 */
export type JobType = 'recording.process' | 'webhook.deliver' | 'maintenance.prune'
  | 'privacy.lifecycle' | 'delivery.copy' | 'uploads.expire' | 'sessions.expire';

export type PoolName = 'media' | 'webhooks' | 'maintenance' | 'deliveries';

export interface JobPolicy {
  pool: PoolName;
  /** Delays before each retry; the job fails for good when they run out. */
  retryScheduleMs: readonly number[];
}

export const JOB_POLICIES: Record<JobType, JobPolicy> = {
  'recording.process': { pool: 'media', retryScheduleMs: [10_000, 60_000, 5 * 60_000] },
  'webhook.deliver': { pool: 'webhooks', retryScheduleMs: DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS },
  'maintenance.prune': { pool: 'maintenance', retryScheduleMs: [60_000, 10 * 60_000] },
  'privacy.lifecycle': { pool: 'maintenance', retryScheduleMs: [60_000, 10 * 60_000] },
  'uploads.expire': { pool: 'maintenance', retryScheduleMs: [60_000, 10 * 60_000] },
  'sessions.expire': { pool: 'maintenance', retryScheduleMs: [60_000, 10 * 60_000] },
  'delivery.copy': {
    pool: 'deliveries',
    retryScheduleMs: [60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 6 * 3600_000],
  },
};

export function typesOfPool(pool: PoolName): JobType[] {
  return (Object.keys(JOB_POLICIES) as JobType[]).filter((t) => JOB_POLICIES[t].pool === pool);
}

export function maxAttempts(type: JobType): number {
  return JOB_POLICIES[type].retryScheduleMs.length + 1;
}

/** A handler throws this to ask for a later retry than the schedule gives (Retry-After). */
export class RetryLater extends Error {
  readonly delayMs: number;

  constructor(message: string, delayMs: number) {
    super(message);
    this.name = 'RetryLater';
    this.delayMs = delayMs;
  }
}

import { JOB_POLICIES } from '../jobs/policies.js';
import type { JobType } from '../jobs/policies.js';
import type { JobOutcome } from '../jobs/worker.js';
import type { QueueStat } from '../repositories/jobs.js';
import { Registry } from './registry.js';

/** How a webhook attempt ended. `cancelled` means it was not sent at all. */
export type WebhookOutcome = 'delivered' | 'failed' | 'gone' | 'cancelled';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800];
const QUEUE_STATES = ['due', 'scheduled', 'running'] as const;

export interface MetricsSources {
  /** Reads the queue from the database; every process reports the same shared figures. */
  queue?: () => Promise<QueueStat[]>;
  clock?: () => number;
}

/**
 * The figures one process exposes at /metrics. Counters are this process's own since it
 * started; the queue gauges are read from the database at each scrape.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = this.registry.counter('standpipe_http_requests_total',
    'HTTP requests answered, by route pattern and status', ['method', 'route', 'status']);
  readonly httpDuration = this.registry.histogram('standpipe_http_request_duration_seconds',
    'Time to answer an HTTP request', ['method', 'route'], SECONDS_BUCKETS);
  readonly jobs = this.registry.counter('standpipe_jobs_total',
    'Job attempts finished by this process, by type and outcome', ['type', 'outcome']);
  readonly jobDuration = this.registry.histogram('standpipe_job_duration_seconds',
    'Time a job attempt ran, by type and outcome', ['type', 'outcome'], JOB_BUCKETS);
  readonly webhookDeliveries = this.registry.counter('standpipe_webhook_deliveries_total',
    'Webhook delivery attempts, by outcome', ['outcome']);
  readonly queueDepth = this.registry.gauge('standpipe_jobs_queue_depth',
    'Jobs in the shared queue: due (waiting for a worker), scheduled (a later retry) and ' +
    'running', ['type', 'state']);
  readonly queueAge = this.registry.gauge('standpipe_jobs_queue_oldest_seconds',
    'How long the job that has waited longest since it became due has waited', ['type']);
  readonly rateLimited = this.registry.counter('standpipe_rate_limited_total',
    'Requests refused with 429, by what was limited', ['scope']);
  readonly #memory = this.registry.gauge('process_resident_memory_bytes',
    'Resident memory of this process');
  readonly #started = this.registry.gauge('process_start_time_seconds',
    'When this process started, in seconds since the epoch');

  constructor(sources: MetricsSources = {}) {
    const clock = sources.clock ?? Date.now;
    this.#started.set({}, Math.round(Date.now() / 1000 - process.uptime()));
    this.registry.onCollect(() => this.#memory.set({}, process.memoryUsage().rss));
    const { queue } = sources;
    if (queue !== undefined) {
      this.registry.onCollect(async () => this.#readQueue(await queue(), clock()));
    }
  }

  jobEnded(type: JobType, outcome: JobOutcome, ms: number): void {
    this.jobs.inc({ type, outcome });
    this.jobDuration.observe({ type, outcome }, ms / 1000);
  }

  render(): Promise<string> {
    return this.registry.render();
  }

  #readQueue(stats: QueueStat[], now: number): void {
    // Every known type is reported, so an empty queue shows 0 rather than nothing.
    for (const type of Object.keys(JOB_POLICIES)) {
      for (const state of QUEUE_STATES) this.queueDepth.set({ type, state }, 0);
      this.queueAge.set({ type }, 0);
    }
    for (const s of stats) {
      this.queueDepth.set({ type: s.type, state: s.state }, s.count);
      if (s.oldestDueAt !== null) {
        this.queueAge.set({ type: s.type }, Math.max(0, (now - s.oldestDueAt) / 1000));
      }
    }
  }
}

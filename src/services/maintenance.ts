import type { Context } from '../context.js';
import type { JobHandler } from '../jobs/worker.js';
import { pruneFinished } from '../repositories/maintenance.js';
import { pruneRateLimits } from '../repositories/rate-limits.js';

const BATCH = 1000;
const DAY_MS = 86_400_000;

/** Prunes the delivery log and finished jobs by age, in batches that keep each write short. */
export function pruneHandler(ctx: Context): JobHandler {
  return {
    async run(_job, signal) {
      const before = ctx.clock() - ctx.config.retentionDays * DAY_MS;
      const total = { deliveries: 0, jobs: 0 };
      for (;;) {
        const removed = await pruneFinished(ctx.db.kysely, before, BATCH);
        total.deliveries += removed.deliveries;
        total.jobs += removed.jobs;
        if ((removed.deliveries < BATCH && removed.jobs < BATCH) || signal.aborted) break;
      }
      // A client's row is rewritten by its next request; rows of clients gone quiet go here.
      const rateLimits = await pruneRateLimits(ctx.db.kysely, ctx.clock() - 3600_000);
      ctx.log.info({ ...total, rateLimits }, 'pruned delivery log and finished jobs');
    },
  };
}

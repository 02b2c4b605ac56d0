/**
 * When a failed webhook is tried again. The schedule is data so a deployment (or a test) can
 * pass its own; the default spreads seven retries over a little more than a day, long enough
 * to ride out a receiver's outage over a night.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

/** Jitter keeps retries of many webhooks that failed together from arriving together. */
export const RETRY_JITTER = 0.1;

/**
 * Delay before the next attempt, given how many attempts were made so far (1 after the
 * first failure), or null when the schedule is used up.
 */
export function nextRetryDelayMs(
  schedule: readonly number[],
  attempt: number,
  random: () => number = Math.random,
): number | null {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a whole number of at least 1, got ${attempt}`);
  }

  const base = schedule[attempt - 1];
  if (base === undefined) return null;

  const unit = Math.min(Math.max(random(), 0), 1);
  const factor = 1 + (unit * 2 - 1) * RETRY_JITTER;
  return Math.max(0, Math.round(base * factor));
}

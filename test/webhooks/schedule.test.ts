import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS,
  nextRetryDelayMs,
} from '../../src/webhooks/schedule.js';

const minute = 60_000;
const hour = 60 * minute;

describe('DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS', () => {
  it('is 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS).toEqual([
      5_000,
      5 * minute,
      30 * minute,
      2 * hour,
      5 * hour,
      10 * hour,
      10 * hour,
    ]);
  });
});

describe('nextRetryDelayMs', () => {
  const schedule = DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS;

  it('follows the schedule and is exhausted after its last entry', () => {
    const middle = () => 0.5;
    expect(nextRetryDelayMs(schedule, 1, middle)).toBe(5_000);
    expect(nextRetryDelayMs(schedule, 2, middle)).toBe(5 * minute);
    expect(nextRetryDelayMs(schedule, 7, middle)).toBe(10 * hour);
    expect(nextRetryDelayMs(schedule, 8, middle)).toBeNull();
    expect(nextRetryDelayMs(schedule, 100, middle)).toBeNull();
    expect(nextRetryDelayMs([], 1, middle)).toBeNull();
  });

  it('stays within 10 % either side of the scheduled delay', () => {
    expect(nextRetryDelayMs(schedule, 1, () => 0)).toBe(4_500);
    expect(nextRetryDelayMs(schedule, 1, () => 0.999999)).toBe(5_500);
    expect(nextRetryDelayMs(schedule, 4, () => 0)).toBe(1.8 * hour);

    for (let attempt = 1; attempt <= schedule.length; attempt += 1) {
      const base = schedule[attempt - 1] ?? 0;
      for (let i = 0; i < 200; i += 1) {
        const delay = nextRetryDelayMs(schedule, attempt) ?? -1;
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.9));
        expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.1));
      }
    }
  });

  it('actually spreads delays out', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50; i += 1) seen.add(nextRetryDelayMs(schedule, 3) ?? 0);
    expect(seen.size).toBeGreaterThan(10);
  });

  it('keeps a misbehaving random source inside the bounds', () => {
    expect(nextRetryDelayMs([1000], 1, () => 5)).toBe(1100);
    expect(nextRetryDelayMs([1000], 1, () => -5)).toBe(900);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses attempt %s', (attempt) => {
    expect(() => nextRetryDelayMs(schedule, attempt)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';

import {
  SEED_ACCOUNT, SEED_AMAZON, SEED_DROPBOX, SEED_ENVIRONMENT, SEED_FTP, SEED_VIDEO, SEED_WEBHOOK,
  expectSameShape, shapeProblems,
} from '../helpers/seed-shapes.js';
import type { SeedShape } from '../helpers/seed-shapes.js';

const ALL = [SEED_VIDEO, SEED_ACCOUNT, SEED_ENVIRONMENT, SEED_WEBHOOK, SEED_AMAZON, SEED_FTP,
  SEED_DROPBOX];

describe('the seed shape checker', () => {
  it.each(ALL.map((s) => [s.key, s] as const))('accepts the seed\'s own %s example', (_k, s) => {
    expectSameShape({ ...s.example }, s);
  });

  it('accepts the documented extensions, and only those', () => {
    const video = { ...SEED_VIDEO.example, conversion_status: 'converted', failure_reason: null };
    expect(shapeProblems(video, SEED_VIDEO)).toEqual([]);
    expect(shapeProblems({ ...SEED_WEBHOOK.example, format: 'json' }, SEED_WEBHOOK)).toEqual([]);
    expect(shapeProblems({ ...SEED_AMAZON.example, amz_folder: 'x' }, SEED_AMAZON)).toEqual([]);
    expect(shapeProblems({ ...SEED_AMAZON.example, amz_key: 'k' }, SEED_AMAZON))
      .toEqual(['amz_key: not in the seed and not a known extension']);
    expect(shapeProblems({ ...SEED_WEBHOOK.example, format: 1 }, SEED_WEBHOOK))
      .toEqual(['format: number where the extension is documented as string']);
  });

  it('refuses a missing key, a number for a string, and null where the seed has text', () => {
    const { email: _dropped, ...noEmail } = SEED_ACCOUNT.example;
    expect(shapeProblems(noEmail, SEED_ACCOUNT)).toEqual(['email: missing']);
    expect(shapeProblems({ ...SEED_ACCOUNT.example, api_requests: 13 }, SEED_ACCOUNT))
      .toEqual(['api_requests: number 13 where the seed has a string']);
    expect(shapeProblems({ ...SEED_VIDEO.example, ua: null }, SEED_VIDEO))
      .toEqual(['ua: null where the seed has a string']);
    expect(shapeProblems([], SEED_ACCOUNT)).toEqual(['expected an object, got array']);
  });

  it('takes null where some seed example has null, or leaves the key out', () => {
    const video = { ...SEED_VIDEO.example, orig_width: null, mrt: null, last_retry_time: null };
    expect(shapeProblems(video, SEED_VIDEO)).toEqual([]);
    expect(shapeProblems({ ...SEED_VIDEO.example, date_anonymized: '2020-08-18 17:51:58' },
      SEED_VIDEO)).toEqual([]);
  });

  it('checks that numbers in strings look like numbers', () => {
    const v = SEED_VIDEO.example;
    const cases: [SeedShape, Record<string, unknown>, string][] = [
      [SEED_VIDEO, { ...v, length: '3' }, 'length'],
      [SEED_VIDEO, { ...v, length: '3.0' }, 'length'],
      [SEED_VIDEO, { ...v, id: 'abc' }, 'id'],
      [SEED_VIDEO, { ...v, id: '0' }, 'id'],
      [SEED_VIDEO, { ...v, size: '1e5' }, 'size'],
      [SEED_VIDEO, { ...v, converted: 'true' }, 'converted'],
      [SEED_VIDEO, { ...v, datetime: '2020-08-18T17:51:58Z' }, 'datetime'],
      [SEED_FTP, { ...SEED_FTP.example, ftp_port: '' }, 'ftp_port'],
      [SEED_ACCOUNT, { ...SEED_ACCOUNT.example, api_requests: '13.5' }, 'api_requests'],
    ];
    for (const [shape, value, key] of cases) {
      const problems = shapeProblems(value, shape);
      expect(problems, key).toHaveLength(1);
      expect(problems[0], key).toMatch(new RegExp(`^${key}: `));
    }
  });
});

/**
 * The example objects of the REST API v1 seed (spec/pipe-rest-api-v1.txt), transcribed as
 * data, and a checker that holds a response object to the same keys and JSON types.
 */
import { expect } from 'vitest';

import type { ApiResponse } from './harness.js';

export type SeedValue = string | null;

export interface SeedShape {
  /** The array's key in the response envelope, e.g. `videos`, `amazon_details`. */
  key: string;
  /** One example object from the seed, value for value. */
  example: Readonly<Record<string, SeedValue>>;
  /**
   * Keys that hold a string in this example but are null in, or missing from, another
   * example of the same resource in the seed; a null is accepted there too.
   */
  notAlwaysString: readonly string[];
  /** Keys the server may add, each documented as an extension, and whether null is allowed. */
  extensions: Readonly<Record<string, 'string' | 'string-or-null'>>;
  /** Stricter forms than "looks like a number" for some keys. */
  formats: Readonly<Record<string, RegExp>>;
}

export const FLAG = /^[01]$/;
export const DIGITS = /^[1-9]\d*$/;
export const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** Any number written as a string: "-1", "0", "417346", "3.00". */
export const NUMERIC = /^-?\d+(\.\d+)?$/;

/** Envelope of every answer; the seed's /video/all example is the only one without a code. */
export const SEED_ENVELOPE = {
  status: 'OK',
  status_code: 200,
  message: 'Request successful',
  request_method: 'GET',
} as const;

export const ENVELOPE_KEYS = Object.keys(SEED_ENVELOPE);

/** GET /video/13360 */
export const SEED_VIDEO: SeedShape = {
  key: 'videos',
  example: {
    id: '13360',
    env_id: '1',
    length: '3.00',
    size: '145695',
    width: '640',
    height: '480',
    hasAudio: '1',
    ytubed: '0',
    rotation: '0',
    not_stored: '0',
    retry_interval: '-1',
    has_original: '1',
    has_mp4: '0',
    has_snapshot: '1',
    has_filmstrip: '1',
    anonymized: '0',
    datetime: '2020-08-18 17:51:58',
    last_retry_time: '2020-08-18 17:52:05',
    orig_width: '176',
    orig_height: '176',
    mrt: '120',
    audio_only: '0',
    recovered: '0',
    transcoded: '1',
    date_anonymized: null,
    name: 'vs1458578985192_39',
    original_container: 'flv',
    source: 'DESK',
    payload: 'bc5cq87vt3yv4t94t325af97c9e836e7bd2,1',
    region: 'us1',
    ipv4: '1565594519',
    ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_5) AppleWebKit/537.36 (KHTML, like ' +
      'Gecko) Chrome/45.0.2454.93 Safari/537.36',
    http_referer: 'https://site.com/test/test2.php',
    camera_name: 'Built-in iSight (05ac:8502)',
    microphone_name: 'Default',
    checksum_md5: '311dbcd10a590c79cce3d3ccb8733560',
    checksum_sha1: 'b8fb07eb4b18e891800535278f8493ce045d4f3c',
    converted: '1',
    datetimeAdjusted: '2016-03-23 16:23:19',
    timezone: 'Europe/Bucharest',
    pipeS3Link: 'eu1-addpipe.s3.eu-central-1.amazonaws.com/2123b9efed932689c4081a749a877413/' +
      'vs1458578985192_39.mp4',
    snapshotURL: 'eu1-addpipe.s3.eu-central-1.amazonaws.com/2123b9efed932689c4081a749a877413/' +
      'vs1458578985192_39.jpg',
    ftped: '0',
    s3ed: '0',
    sftped: '0',
    dboxed: '0',
  },
  // The GET /video/all examples have null for the first three; the first of them has no
  // last_retry_time at all (a recording never retried), which the server writes as null.
  notAlwaysString: ['orig_width', 'orig_height', 'mrt', 'last_retry_time'],
  extensions: {
    conversion_status: 'string',
    failure_reason: 'string-or-null',
    original_sha256: 'string-or-null',
  },
  formats: {
    id: DIGITS,
    env_id: DIGITS,
    length: /^\d+\.\d{2}$/,
    size: /^\d+$/,
    width: /^\d+$/,
    height: /^\d+$/,
    rotation: /^(0|90|180|270)$/,
    retry_interval: /^-?\d+$/,
    orig_width: /^\d+$/,
    orig_height: /^\d+$/,
    mrt: /^\d+$/,
    ipv4: /^\d+$/,
    datetime: DATETIME,
    last_retry_time: DATETIME,
    date_anonymized: DATETIME,
    datetimeAdjusted: DATETIME,
    checksum_md5: /^[0-9a-f]{32}$/,
    checksum_sha1: /^[0-9a-f]{40}$/,
    ...flags(['hasAudio', 'ytubed', 'not_stored', 'has_original', 'has_mp4', 'has_snapshot',
      'has_filmstrip', 'anonymized', 'audio_only', 'recovered', 'transcoded', 'converted',
      'ftped', 's3ed', 'sftped', 'dboxed']),
  },
};

/** GET /account */
export const SEED_ACCOUNT: SeedShape = {
  key: 'account_details',
  example: { api_requests: '13', name: 'Gloria Foster', email: 'myAwesome@Email.com' },
  notAlwaysString: [],
  extensions: {},
  formats: { api_requests: /^\d+$/ },
};

/** GET /environment/1537 */
export const SEED_ENVIRONMENT: SeedShape = {
  key: 'environment_details',
  example: {
    id: '1537',
    env_id: '7',
    env_code: 'j2HCiP',
    env_name: 'test-rtc',
    do_not_store: '1',
    send_video_email: '0',
    region: 'auto-us',
  },
  notAlwaysString: [],
  extensions: {
    collect_ip: 'string',
    collect_ua: 'string',
    collect_referer: 'string',
    collect_device_names: 'string',
    lifecycle_days: 'string-or-null',
    filmstrip: 'string',
  },
  formats: { id: DIGITS, env_id: DIGITS,
    ...flags(['do_not_store', 'send_video_email', 'filmstrip']) },
};

/** GET /webhook, first entry */
export const SEED_WEBHOOK: SeedShape = {
  key: 'webhook_details',
  example: {
    id: '3157',
    webhook: 'https://webhook.site/b7495225-4ad8-495e-8140-d74fda5be972',
    webhook_recorded: '1',
    webhook_transcoded: '0',
    webhook_converted: '1',
    webhook_copied_pipe_s3: '1',
    webhook_copied_s3: '0',
    webhook_copied_ftp: '0',
    webhook_copied_dbox: '0',
    env_id: '1',
    active: '1',
  },
  notAlwaysString: [],
  extensions: { format: 'string' },
  formats: {
    id: DIGITS,
    env_id: DIGITS,
    ...flags(['webhook_recorded', 'webhook_transcoded', 'webhook_converted',
      'webhook_copied_pipe_s3', 'webhook_copied_s3', 'webhook_copied_ftp', 'webhook_copied_dbox',
      'active']),
  },
};

/** GET /amazon */
export const SEED_AMAZON: SeedShape = {
  key: 'amazon_details',
  example: {
    id: '69',
    amz_bucket: 'my-pipe-recordings',
    amz_bucket_region: 'us-east-1',
    amz_acl: 'public-read',
    env_id: '1',
  },
  notAlwaysString: [],
  extensions: { amz_folder: 'string' },
  formats: { id: DIGITS, env_id: DIGITS },
};

/** GET /ftp */
export const SEED_FTP: SeedShape = {
  key: 'ftp_details',
  example: {
    id: '69',
    ftp_host: '',
    ftp_port: '21',
    ftp_username: '',
    ftp_dir: '',
    sftp_host: '',
    sftp_port: '22',
    sftp_username: '',
    sftp_dir: '',
    env_id: '1',
  },
  notAlwaysString: [],
  extensions: {},
  formats: { id: DIGITS, env_id: DIGITS, ftp_port: DIGITS, sftp_port: DIGITS },
};

/** GET /dropbox, first entry */
export const SEED_DROPBOX: SeedShape = {
  key: 'dropbox_details',
  example: { id: '5163', dbox_folder: '', env_id: '1' },
  notAlwaysString: [],
  extensions: {},
  formats: { id: DIGITS, env_id: DIGITS },
};

/** Fields the seed's PUT schemes accept but no GET example shows: write-only secrets. */
export const SEED_SECRETS = {
  amazon: ['amz_key', 'amz_secret'],
  ftp: ['ftp_password', 'sftp_password'],
  dropbox: ['dbox_token'],
} as const;

function flags(names: string[]): Record<string, RegExp> {
  return Object.fromEntries(names.map((n) => [n, FLAG]));
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Problems that keep `actual` from having the seed example's shape, as readable lines; an
 * empty list means it matches. Exposed so that a test can look at one field on its own.
 */
export function shapeProblems(actual: unknown, shape: SeedShape): string[] {
  if (jsonType(actual) !== 'object') return [`expected an object, got ${jsonType(actual)}`];
  const obj = actual as Record<string, unknown>;
  const problems: string[] = [];
  const allowed = new Set([...Object.keys(shape.example), ...Object.keys(shape.extensions)]);

  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) problems.push(`${key}: not in the seed and not a known extension`);
  }
  for (const key of Object.keys(shape.example)) {
    if (!(key in obj)) problems.push(`${key}: missing`);
  }

  for (const [key, seedValue] of Object.entries(shape.example)) {
    if (!(key in obj)) continue;
    const value = obj[key];
    const type = jsonType(value);
    const nullable = seedValue === null || shape.notAlwaysString.includes(key);
    if (type === 'null') {
      if (!nullable) problems.push(`${key}: null where the seed has a string`);
      continue;
    }
    if (type !== 'string') {
      problems.push(`${key}: ${type} ${JSON.stringify(value)} where the seed has a string`);
      continue;
    }
    problems.push(...formatProblems(key, value as string, seedValue, shape));
  }

  for (const [key, kind] of Object.entries(shape.extensions)) {
    if (!(key in obj)) continue;
    const type = jsonType(obj[key]);
    if (type === 'string' || (type === 'null' && kind === 'string-or-null')) continue;
    problems.push(`${key}: ${type} where the extension is documented as ${kind}`);
  }
  return problems;
}

function formatProblems(key: string, value: string, seedValue: SeedValue,
  shape: SeedShape): string[] {
  const format = shape.formats[key];
  if (format !== undefined) {
    return format.test(value) ? [] : [`${key}: ${JSON.stringify(value)} does not match ${format}`];
  }
  if (seedValue !== null && NUMERIC.test(seedValue) && !NUMERIC.test(value)) {
    return [`${key}: ${JSON.stringify(value)} is not a number in a string, as the seed has`];
  }
  return [];
}

/** Asserts that `actual` has the seed example's keys (plus listed extensions) and types. */
export function expectSameShape(actual: unknown, shape: SeedShape): void {
  expect(shapeProblems(actual, shape), `shape of ${shape.key} entry`).toEqual([]);
}

/**
 * Asserts Pipe's success envelope: status "OK", status_code equal to the HTTP status, the
 * request's method, and exactly the envelope keys plus the resource's array (and, for
 * videos, `total_videos` as a JSON number). Returns the array, or [] when `key` is null.
 */
export function expectOk(res: ApiResponse, method: string, key: string | null,
  status = 200): Record<string, unknown>[] {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  expect(res.json.status).toBe('OK');
  expect(res.json.status_code).toBe(status);
  expect(typeof res.json.message).toBe('string');
  expect(res.json.request_method).toBe(method);

  const keys = key === null ? [] : key === 'videos' ? ['total_videos', 'videos'] : [key];
  expect(Object.keys(res.json).sort()).toEqual([...ENVELOPE_KEYS, ...keys].sort());
  if (key === null) return [];
  const list = res.json[key];
  expect(Array.isArray(list), `${key} is an array`).toBe(true);
  if (key === 'videos') {
    expect(typeof res.json.total_videos, 'total_videos is a JSON number').toBe('number');
  }
  return list as Record<string, unknown>[];
}

/** Asserts the error envelope and nothing else in the body. Returns the message. */
export function expectError(res: ApiResponse, status: number, method: string): string {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  expect(res.json).toEqual({
    status: 'ERROR',
    status_code: status,
    message: expect.any(String) as unknown,
    request_method: method,
  });
  const message = res.json.message as string;
  expect(message.length).toBeGreaterThan(0);
  return message;
}

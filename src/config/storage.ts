import { readFileSync } from 'node:fs';

type Env = Record<string, string | undefined>;
type IntReader = (name: string, fallback: number, min: number, max: number) => number;

export interface S3StoreConfig {
  /** Empty for AWS itself; an S3-compatible server's base URL otherwise. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export type MediaStoreConfig = { kind: 'local' } | ({ kind: 's3' } & S3StoreConfig);

export interface DeliveryConfig {
  concurrency: number;
  /** A connection or transfer that makes no progress for this long fails the attempt. */
  timeoutMs: number;
  /** Base URL for customers' S3 buckets; empty means AWS's regional endpoints. */
  amazonEndpoint: string;
  dropboxApiUrl: string;
  dropboxContentUrl: string;
  /** Extra certificate authorities (PEM) trusted for FTPS and HTTPS deliveries. */
  extraCa: string | null;
}

const URL_PATTERN = /^https?:\/\/[^/\s?#]+$/;

function baseUrl(env: Env, name: string, fallback: string, problems: string[]): string {
  const value = (env[name] ?? fallback).replace(/\/+$/, '');
  if (value !== '' && !URL_PATTERN.test(value)) {
    problems.push(`${name} must be an http(s) URL without a path, got "${value}"`);
  }
  return value;
}

/** Where stored recordings live: the data directory, or an S3-compatible bucket. */
export function readMediaStoreConfig(env: Env, problems: string[]): MediaStoreConfig {
  const kind = env.STANDPIPE_MEDIA_STORE ?? 'local';
  if (kind === 'local') return { kind };
  if (kind !== 's3') {
    problems.push(`STANDPIPE_MEDIA_STORE must be "local" or "s3", got "${kind}"`);
    return { kind: 'local' };
  }

  const required = (name: string): string => {
    const value = env[name] ?? '';
    if (value === '') problems.push(`${name} is required when STANDPIPE_MEDIA_STORE is s3`);
    return value;
  };
  const endpoint = baseUrl(env, 'STANDPIPE_S3_ENDPOINT', '', problems);
  const bucket = required('STANDPIPE_S3_BUCKET');
  if (bucket !== '' && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    problems.push(`STANDPIPE_S3_BUCKET must be a valid bucket name, got "${bucket}"`);
  }
  const pathStyle = env.STANDPIPE_S3_FORCE_PATH_STYLE;
  return {
    kind,
    endpoint,
    bucket,
    region: env.STANDPIPE_S3_REGION ?? 'us-east-1',
    // Keys are required so that no credential chain goes looking on the machine's network.
    accessKeyId: required('STANDPIPE_S3_ACCESS_KEY_ID'),
    secretAccessKey: required('STANDPIPE_S3_SECRET_ACCESS_KEY'),
    forcePathStyle: pathStyle === undefined ? endpoint !== '' : pathStyle === '1',
  };
}

/** Copies to the customers' own storage. */
export function readDeliveryConfig(env: Env, problems: string[], int: IntReader): DeliveryConfig {
  let extraCa: string | null = null;
  const caFile = env.STANDPIPE_TLS_CA_FILE;
  if (caFile !== undefined && caFile !== '') {
    try {
      extraCa = readFileSync(caFile, 'utf8');
      if (!extraCa.includes('-----BEGIN CERTIFICATE-----')) {
        problems.push(`STANDPIPE_TLS_CA_FILE ${caFile} holds no PEM certificate`);
      }
    } catch (err) {
      problems.push(`STANDPIPE_TLS_CA_FILE cannot be read: ${(err as Error).message}`);
    }
  }
  return {
    concurrency: int('STANDPIPE_DELIVERY_CONCURRENCY', 4, 1, 256),
    timeoutMs: int('STANDPIPE_DELIVERY_TIMEOUT_MS', 60_000, 100, 3600_000),
    amazonEndpoint: baseUrl(env, 'STANDPIPE_AMAZON_ENDPOINT', '', problems),
    dropboxApiUrl: baseUrl(env, 'STANDPIPE_DROPBOX_API_URL', 'https://api.dropboxapi.com',
      problems),
    dropboxContentUrl: baseUrl(env, 'STANDPIPE_DROPBOX_CONTENT_URL',
      'https://content.dropboxapi.com', problems),
    extraCa,
  };
}

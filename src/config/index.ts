import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

import { makeDirectories } from '../lib/directories.js';
import { parseAllowList } from '../lib/outbound.js';
import type { AllowList } from '../lib/outbound.js';
import { readDeliveryConfig, readMediaStoreConfig } from './storage.js';
import type { DeliveryConfig, MediaStoreConfig } from './storage.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  publicUrl: string;
  /** Whether publicUrl was derived from host and port, and so follows the port bound. */
  publicUrlAuto: boolean;
  secretKey: Buffer;
  outboundAllow: AllowList;
  maxUploadBytes: number;
  maxPayloadChars: number;
  ffmpegTimeoutMs: number;
  webhookTimeoutMs: number;
  /** Days that finished webhook deliveries and jobs are kept for the delivery log. */
  retentionDays: number;
  timeZone: string;
  region: string;
  logLevel: string;
  /** Take the client address from X-Forwarded-For: only behind a proxy that sets it. */
  trustProxy: boolean;
  worker: WorkerConfig;
  /** Requests a minute per API key, and uploads per client address; 0 turns it off. */
  rateLimitPerMinute: number;
  /** On SIGTERM, how long running jobs get to finish before they are released. */
  shutdownGraceMs: number;
  /** When set, GET /metrics wants `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /** Where a worker process answers /healthz, /readyz and /metrics; null for nowhere. */
  metricsPort: number | null;
  mediaStore: MediaStoreConfig;
  delivery: DeliveryConfig;
}

export interface WorkerConfig {
  enabled: boolean;
  mediaConcurrency: number;
  webhookConcurrency: number;
  pollMs: number;
  leaseMs: number;
}

/** Settings given on the command line; they win over the environment. */
export interface ConfigFlags {
  host?: string | undefined;
  port?: string | undefined;
  data?: string | undefined;
  database?: string | undefined;
  noWorker?: boolean | undefined;
  /** Conversions at once in this process (STANDPIPE_MEDIA_CONCURRENCY). */
  concurrency?: string | undefined;
}

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads every setting once, checks them all, and reports every bad one together by name,
 * so an operator fixes a configuration in one pass instead of one error per start.
 */
export function loadConfig(flags: ConfigFlags = {}, env: Env = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };

  const host = flags.host ?? env.STANDPIPE_HOST ?? '127.0.0.1';
  const portRaw = flags.port ?? env.STANDPIPE_PORT ?? '8080';
  const port = Number(portRaw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    problems.push(`port (--port or STANDPIPE_PORT) must be 0-65535, got "${portRaw}"`);
  }

  // An empty setting is no setting: it must not put the data in the working directory.
  const dataDir = path.resolve(flags.data ?? (env.STANDPIPE_DATA_DIR || './data'));
  const databaseUrl =
    flags.database ?? env.STANDPIPE_DATABASE_URL ?? path.join(dataDir, 'standpipe.db');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(databaseUrl)?.[1]?.toLowerCase();
  if (scheme !== undefined && !['postgres', 'postgresql', 'sqlite'].includes(scheme)) {
    problems.push(`database (--database or STANDPIPE_DATABASE_URL) must be a SQLite file path, ` +
      `a sqlite: URL or a postgres:// URL, got a ${scheme}: URL`);
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql' && /[/\\]$/.test(databaseUrl)) {
    problems.push('database (--database or STANDPIPE_DATABASE_URL) names a folder; name the ' +
      `SQLite file in it, such as ${path.join(databaseUrl, 'standpipe.db')}`);
  }

  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const publicUrl = (env.STANDPIPE_PUBLIC_URL ?? `http://${shownHost}:${port}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(publicUrl)) {
    problems.push(`STANDPIPE_PUBLIC_URL must be an http(s) URL, got "${publicUrl}"`);
  }

  let outboundAllow = parseAllowList(undefined);
  try {
    outboundAllow = parseAllowList(env.STANDPIPE_OUTBOUND_ALLOW);
  } catch (err) {
    problems.push(`STANDPIPE_OUTBOUND_ALLOW: ${(err as Error).message}`);
  }

  const timeZone = env.STANDPIPE_TIMEZONE ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    problems.push(`STANDPIPE_TIMEZONE must be an IANA time zone, got "${timeZone}"`);
  }

  let secretKey: Buffer = Buffer.alloc(32);
  if (env.STANDPIPE_SECRET_KEY !== undefined) {
    const parsed = parseSecretKey(env.STANDPIPE_SECRET_KEY);
    if (parsed === null) problems.push('STANDPIPE_SECRET_KEY must be 32 bytes as hex or base64');
    else secretKey = parsed;
  }

  let mediaConcurrency = int('STANDPIPE_MEDIA_CONCURRENCY', 1, 1, 64);
  const raw = flags.concurrency;
  if (raw !== undefined) {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= 64) mediaConcurrency = n;
    else problems.push(`--concurrency must be an integer from 1 to 64, got "${raw}"`);
  }
  const metricsPort = (env.STANDPIPE_METRICS_PORT ?? '') === ''
    ? null : int('STANDPIPE_METRICS_PORT', 0, 0, 65535);
  const config: Config = {
    host,
    port,
    dataDir,
    databaseUrl,
    publicUrl,
    publicUrlAuto: env.STANDPIPE_PUBLIC_URL === undefined,
    secretKey,
    outboundAllow,
    maxUploadBytes: int('STANDPIPE_MAX_UPLOAD_BYTES', 2 * 1024 ** 3, 1024, 2 ** 45),
    maxPayloadChars: 500,
    ffmpegTimeoutMs: int('STANDPIPE_FFMPEG_TIMEOUT_MS', 15 * 60_000, 1000, 24 * 3600_000),
    webhookTimeoutMs: int('STANDPIPE_WEBHOOK_TIMEOUT_MS', 15_000, 100, 120_000),
    retentionDays: int('STANDPIPE_LOG_RETENTION_DAYS', 30, 1, 3650),
    timeZone,
    region: env.STANDPIPE_REGION ?? 'local',
    logLevel: env.STANDPIPE_LOG_LEVEL ?? 'info',
    trustProxy: env.STANDPIPE_TRUST_PROXY === '1' || env.STANDPIPE_TRUST_PROXY === 'true',
    worker: {
      enabled: flags.noWorker !== true,
      mediaConcurrency,
      webhookConcurrency: int('STANDPIPE_WEBHOOK_CONCURRENCY', 16, 1, 512),
      pollMs: int('STANDPIPE_JOB_POLL_MS', 500, 10, 60_000),
      leaseMs: int('STANDPIPE_JOB_LEASE_MS', 30_000, 500, 3600_000),
    },
    rateLimitPerMinute: int('STANDPIPE_RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    shutdownGraceMs: int('STANDPIPE_SHUTDOWN_GRACE_MS', 10_000, 0, 3600_000),
    metricsToken: env.STANDPIPE_METRICS_TOKEN === undefined || env.STANDPIPE_METRICS_TOKEN === ''
      ? null : env.STANDPIPE_METRICS_TOKEN,
    metricsPort,
    mediaStore: readMediaStoreConfig(env, problems),
    delivery: readDeliveryConfig(env, problems, int),
  };
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(config.logLevel)) {
    problems.push(`STANDPIPE_LOG_LEVEL must be one of ${levels.join(', ')}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (env.STANDPIPE_SECRET_KEY === undefined) config.secretKey = loadOrCreateSecretKey(dataDir);
  return config;
}

function parseSecretKey(value: string): Buffer | null {
  const text = value.trim();
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  const b64 = Buffer.from(text, 'base64');
  return b64.length === 32 ? b64 : null;
}

/** The key that encrypts stored credentials: created once, readable only by its owner. */
function loadOrCreateSecretKey(dataDir: string): Buffer {
  const file = path.join(dataDir, 'secret.key');
  if (existsSync(file)) {
    const key = parseSecretKey(readFileSync(file, 'utf8'));
    if (key === null) throw new ConfigError([`${file} does not hold a 32-byte key`]);
    return key;
  }
  makeDirectories(dataDir);
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

import path from 'node:path';

import pino from 'pino';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';

import type { Config } from './config/index.js';
import type { Context } from './context.js';
import { openDatabase } from './db/connect.js';
import type { Db } from './db/connect.js';
import { jobsChannel, listen } from './db/listen.js';
import type { Listener } from './db/listen.js';
import { migrate } from './db/migrations.js';
import { buildApp } from './http/app.js';
import { buildProbeApp } from './http/probe-app.js';
import { PeriodicScheduler } from './jobs/periodic.js';
import type { PeriodicTask } from './jobs/periodic.js';
import { JobQueue } from './jobs/queue.js';
import { WorkerPool } from './jobs/worker.js';
import type { JobHandlers } from './jobs/worker.js';
import { makeDirectories } from './lib/directories.js';
import { SecretBox } from './lib/secrets.js';
import { findMediaBinaries } from './media/binaries.js';
import type { MediaBinaries } from './media/binaries.js';
import { Metrics } from './metrics/standpipe.js';
import { announceJobs, queueStats } from './repositories/jobs.js';
import { processRecordingHandler, removeStaleWorkDirs } from './services/processing.js';
import { deliveryHandler } from './services/deliveries.js';
import { removeStaleUploads } from './services/ingest.js';
import { pruneHandler } from './services/maintenance.js';
import { lifecycleHandler } from './services/privacy.js';
import { expireUploadsHandler } from './services/tus.js';
import { expireSessionsHandler } from './services/sessions.js';
import { webhookDeliveryHandler } from './services/webhook-delivery.js';
import { createMediaStore } from './storage/create.js';

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'standpipe' },
    redact: { paths: ['*.password', '*.api_key', '*.token', 'req.headers["x-pipe-auth"]'],
      remove: true },
  });
}

export interface ContextOptions {
  log?: Logger;
  db?: Db;
  clock?: () => number;
  /**
   * ffmpeg and ffprobe, when the caller started looking for them already, or NO_MEDIA_TOOLS
   * for a command that runs no media work.
   */
  media?: Promise<MediaBinaries>;
}

/** Opens the database (migrated), the media store and the tools a process needs. */
export async function createContext(
  config: Config,
  options: ContextOptions = {},
): Promise<Context> {
  const log = options.log ?? createLogger(config);
  // The folders uploads and conversions work in, made now so that a data directory that
  // cannot hold them is refused at start rather than at the first upload.
  for (const folder of [['uploads', 'tus'], ['work']]) {
    makeDirectories(path.join(config.dataDir, ...folder));
  }
  // ffmpeg's version check is a child process: it runs while the database is opened.
  const found = options.media ?? findMediaBinaries();
  found.catch(() => undefined);
  const db = options.db ?? openDatabase(config.databaseUrl);
  const applied = await migrate(db);
  if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
  const media = await found;
  if (media.source !== 'none') {
    log.info({ ffmpeg: media.ffmpeg, ffprobe: media.ffprobe, source: media.source,
      version: media.version }, 'media tools');
  }
  const clock = options.clock ?? Date.now;
  const queue = new JobQueue(clock);
  if (db.dialect === 'postgres') {
    // Workers in other processes learn of new jobs at once instead of at their next poll.
    queue.announceWith(() => {
      announceJobs(db.kysely, jobsChannel(db.schema))
        .catch((err: unknown) => log.warn({ err }, 'jobs not announced'));
    });
  }
  return {
    config,
    db,
    log,
    media,
    clock,
    store: await createMediaStore(config),
    secrets: new SecretBox(config.secretKey),
    queue,
    metrics: new Metrics({ queue: () => queueStats(db.kysely, clock()), clock }),
  };
}

export function jobHandlers(ctx: Context): JobHandlers {
  return {
    'recording.process': processRecordingHandler(ctx),
    'webhook.deliver': webhookDeliveryHandler(ctx),
    'maintenance.prune': pruneHandler(ctx),
    'privacy.lifecycle': lifecycleHandler(ctx),
    'uploads.expire': expireUploadsHandler(ctx),
    'sessions.expire': expireSessionsHandler(ctx),
    'delivery.copy': deliveryHandler(ctx),
  };
}

export function createWorkers(ctx: Context, retryScale?: number): WorkerPool[] {
  const { worker } = ctx.config;
  const handlers = jobHandlers(ctx);
  const common = {
    db: ctx.db, queue: ctx.queue, log: ctx.log, handlers, pollMs: worker.pollMs,
    leaseMs: worker.leaseMs, clock: ctx.clock, ...(retryScale === undefined ? {} : { retryScale }),
    onJobEnd: ctx.metrics.jobEnded.bind(ctx.metrics),
  };
  return [
    new WorkerPool({ ...common, pool: 'media', concurrency: worker.mediaConcurrency }),
    new WorkerPool({ ...common, pool: 'webhooks', concurrency: worker.webhookConcurrency,
      groupLimit: Math.max(1, Math.floor(worker.webhookConcurrency / 4)) }),
    new WorkerPool({ ...common, pool: 'maintenance', concurrency: 1 }),
    new WorkerPool({ ...common, pool: 'deliveries', concurrency: ctx.config.delivery.concurrency }),
  ];
}

/** Work that runs on a timer rather than in answer to a recording. */
export function periodicTasks(): PeriodicTask[] {
  return [
    { type: 'maintenance.prune', everyMs: 6 * 3600_000, payload: {} },
    { type: 'privacy.lifecycle', everyMs: 24 * 3600_000, payload: {} },
    { type: 'uploads.expire', everyMs: 3600_000, payload: {} },
    { type: 'sessions.expire', everyMs: 6 * 3600_000, payload: {} },
  ];
}

export interface Server {
  ctx: Context;
  app: FastifyInstance | null;
  workers: WorkerPool[];
  url: string | null;
  stop(graceMs?: number): Promise<void>;
}

/** Starts what the configuration asks for: the HTTP API, the workers, or both. */
export async function startServer(
  config: Config,
  options: ContextOptions & { http?: boolean; retryScale?: number } = {},
): Promise<Server> {
  const ctx = await createContext(config, options);
  let app: FastifyInstance | null = null;
  let url: string | null = null;
  if (options.http !== false) {
    const stale = await removeStaleUploads(config.dataDir);
    if (stale > 0) ctx.log.info({ removed: stale }, 'removed uploads of stopped processes');
    app = await buildApp(ctx);
    url = await app.listen({ host: config.host, port: config.port });
    if (config.publicUrlAuto && config.port === 0) config.publicUrl = url;
    ctx.log.info({ url, data: config.dataDir, database: ctx.db.description,
      outboundAllow: config.outboundAllow.entries.map((e) => e.source) }, 'standpipe ready');
  } else if (config.metricsPort !== null) {
    app = await buildProbeApp(ctx);
    url = await app.listen({ host: config.host, port: config.metricsPort });
    ctx.log.info({ url }, 'health and metrics listening');
  }
  const workers = config.worker.enabled ? createWorkers(ctx, options.retryScale) : [];
  if (workers.length > 0) {
    const removed = await removeStaleWorkDirs(config.dataDir);
    if (removed > 0) ctx.log.info({ removed }, 'removed work folders of stopped processes');
  }
  let listener: Listener | null = null;
  if (workers.length > 0 && ctx.db.dialect === 'postgres'
    && /^postgres(ql)?:\/\//.test(config.databaseUrl)) {
    listener = listen(config.databaseUrl, jobsChannel(ctx.db.schema), () => ctx.queue.wake(),
      ctx.log);
  }
  for (const pool of workers) pool.start();
  if (workers.length > 0) {
    ctx.log.info({ database: ctx.db.description, media: config.worker.mediaConcurrency,
      webhooks: config.worker.webhookConcurrency }, 'workers started');
  }
  const scheduler = new PeriodicScheduler(ctx.db, ctx.queue, ctx.log, periodicTasks(), ctx.clock);
  if (workers.length > 0) scheduler.start();

  let stopping: Promise<void> | null = null;
  const stop = (graceMs = 10_000) => {
    stopping ??= (async () => {
      scheduler.stop();
      await app?.close();
      await listener?.close();
      await Promise.all(workers.map((pool) => pool.stop(graceMs)));
      await ctx.db.close();
    })();
    return stopping;
  };
  return { ctx, app, workers, url, stop };
}

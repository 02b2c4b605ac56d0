import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Context } from '../context.js';
import type { Account, Environment, Recording } from '../db/schema.js';
import type { JobHandler } from '../jobs/worker.js';
import { notFound } from '../lib/errors.js';
import { findAccountById } from '../repositories/accounts.js';
import { findEnvironment } from '../repositories/environments.js';
import {
  anonymizeRecordings, deliveryBodiesOf, environmentsWithLifecycle, expiredRecordings,
  flushErased, recordingsToAnonymize, setDeliveryBody,
} from '../repositories/privacy.js';
import { findRecording } from '../repositories/recordings.js';
import type { UploadMeta } from './ingest.js';
import { removeRecordings } from './recordings.js';

export const DAY_MS = 86_400_000;

/** Small batches keep each write short, so API requests are never queued behind one. */
const BATCH = 100;
const PAUSE_MS = 20;

/**
 * The upload's metadata with what the environment does not collect taken out. Applied before
 * the recording is written, so a value switched off reaches no row, log line or webhook.
 */
export function collectedMeta(env: Environment, meta: UploadMeta): UploadMeta {
  return {
    ...meta,
    ip: env.collect_ip === 1 ? meta.ip : undefined,
    userAgent: env.collect_ua === 1 ? meta.userAgent : undefined,
    referer: env.collect_referer === 1 ? meta.referer : undefined,
    cameraName: env.collect_device_names === 1 ? meta.cameraName : undefined,
    microphoneName: env.collect_device_names === 1 ? meta.microphoneName : undefined,
  };
}

/**
 * A stand-in for a client address where one must be counted or compared (rate limits): the
 * same address gives the same text in every process that shares the secret key, and the
 * address cannot be read back from it, so the database never holds it.
 */
export function pseudonym(secretKey: Buffer, value: string): string {
  return createHmac('sha256', secretKey).update(`client:${value}`).digest('base64url');
}

/** Webhook `data` fields that carry the recorder's personal data, in every event. */
const PERSONAL_EVENT_FIELDS = ['ip', 'ua', 'httpReferer', 'cam_name', 'mic_name', 'payload'];

/**
 * A stored webhook body with its personal fields emptied. Fields stay present, since
 * receivers parse these bodies strictly; a body that is not an event is returned as it is.
 */
export function scrubEventBody(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (parsed === null || typeof parsed !== 'object') return body;
  const data = (parsed as { data?: unknown }).data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return body;
  const fields = data as Record<string, unknown>;
  for (const name of PERSONAL_EVENT_FIELDS) if (name in fields) fields[name] = '';
  return JSON.stringify(parsed);
}

/** Erases the personal data of these recordings and of the webhook bodies about them. */
async function anonymizeBatch(ctx: Context, account: Account, ids: number[]): Promise<number> {
  const now = ctx.clock();
  return ctx.db.kysely.transaction().execute(async (trx) => {
    const done = await anonymizeRecordings(trx, account.id, ids, now);
    for (const delivery of await deliveryBodiesOf(trx, done)) {
      const scrubbed = scrubEventBody(delivery.body);
      if (scrubbed !== delivery.body) await setDeliveryBody(trx, delivery.id, scrubbed);
    }
    return done.length;
  });
}

/** Anonymizes one recording; one that already is stays as it was, date included. */
export async function anonymizeRecording(
  ctx: Context,
  account: Account,
  id: number,
): Promise<Recording> {
  const db = ctx.db.kysely;
  if ((await findRecording(db, account.id, id)) === undefined) throw notFound('recording');
  if ((await anonymizeBatch(ctx, account, [id])) > 0) {
    await flushErased(ctx.db);
    ctx.log.info({ recordingId: id }, 'recording anonymized');
  }
  const rec = await findRecording(db, account.id, id);
  if (rec === undefined) throw notFound('recording');
  return rec;
}

/** Anonymizes an environment's recordings made before `before`; returns how many. */
export async function anonymizeEnvironment(
  ctx: Context,
  account: Account,
  environmentId: number,
  before: number,
): Promise<number> {
  const env = await findEnvironment(ctx.db.kysely, account.id, environmentId);
  if (env === undefined) throw notFound('environment');
  let total = 0;
  for (;;) {
    const ids = await recordingsToAnonymize(ctx.db.kysely, account.id, env.env_id, before, BATCH);
    if (ids.length === 0) break;
    total += await anonymizeBatch(ctx, account, ids);
    if (ids.length < BATCH) break;
  }
  if (total > 0) await flushErased(ctx.db);
  ctx.log.info({ accountId: account.id, envId: env.env_id, anonymized: total },
    'environment recordings anonymized');
  return total;
}

/**
 * Deletes, for every environment with a lifecycle, the recordings older than its number of
 * days, through the same path as DELETE /video/:id. Runs daily; a run cut short by shutdown
 * leaves the rest for the next one.
 */
export function lifecycleHandler(ctx: Context): JobHandler {
  return {
    async run(_job, signal) {
      const now = ctx.clock();
      let total = 0;
      for (const env of await environmentsWithLifecycle(ctx.db.kysely)) {
        if (signal.aborted) break;
        const account = await findAccountById(ctx.db.kysely, env.account_id);
        if (account === undefined || env.lifecycle_days === null) continue;
        const before = now - env.lifecycle_days * DAY_MS;
        const deleted = await expireEnvironment(ctx, account, env, before, signal);
        total += deleted;
        ctx.log.info({ accountId: account.id, envId: env.env_id, days: env.lifecycle_days,
          deleted }, 'lifecycle deleted recordings');
      }
      ctx.log.info({ deleted: total }, 'lifecycle run finished');
    },
  };
}

async function expireEnvironment(
  ctx: Context,
  account: Account,
  env: Environment,
  before: number,
  signal: AbortSignal,
): Promise<number> {
  let deleted = 0;
  while (!signal.aborted) {
    const batch = await expiredRecordings(ctx.db.kysely, account.id, env.env_id, before, BATCH);
    if (batch.length === 0) break;
    const removed = (await removeRecordings(ctx, account, batch)).length;
    deleted += removed;
    ctx.log.debug({ accountId: account.id, envId: env.env_id, removed }, 'lifecycle batch');
    if (batch.length < BATCH) break;
    await sleep(PAUSE_MS, undefined, { signal }).catch(() => undefined);
  }
  return deleted;
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RecordingStatus } from '../../src/db/schema.js';
import { PeriodicScheduler } from '../../src/jobs/periodic.js';
import { findAccountByHash } from '../../src/repositories/accounts.js';
import { insertRecording } from '../../src/repositories/recordings.js';
import { periodicTasks } from '../../src/runtime.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import { mediaKeys } from '../../src/services/recording-view.js';
import { DIALECTS, eventually } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { expectOk } from '../helpers/seed-shapes.js';
import {
  DAY, HOUR, addWebhook, filesUnder, firstVideo, identity, makeClip, settled,
  startPrivacyServer, steppedClock, uploadAs,
} from './support.js';
import type { LogCapture, SteppedClock } from './support.js';

const START = Date.UTC(2031, 2, 1, 9, 0, 0);
const SIMULATED_DAYS = 40;

/** One recording as the test expects the lifecycle to treat it. */
interface Row {
  id: number;
  name: string;
  accountId: number;
  envId: number;
  created: number;
  status: RecordingStatus;
  /** Key of the environment in `lifecycles`. */
  env: string;
}

/** A deterministic spread of ages and statuses, the same on every run. */
function* spread(count: number, seed: number): Generator<{ hoursAgo: number;
  status: RecordingStatus }> {
  let x = seed;
  for (let i = 0; i < count; i += 1) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const status: RecordingStatus = x % 9 === 0 ? 'failed' : x % 7 === 0 ? 'recorded'
      : 'converted';
    yield { hoursAgo: x % (60 * 24), status };
  }
}

describe.each(DIALECTS)('lifecycle on a compressed clock (%s)', (dialect) => {
  let srv: TestServer;
  let logs: LogCapture;
  let receiver: Receiver;
  let clock: SteppedClock;
  let a: NewAccountResult;
  let b: NewAccountResult;
  let clipDir: string;
  const rows: Row[] = [];
  /** Days of each environment's lifecycle; null keeps recordings. */
  const lifecycles = new Map<string, number | null>();
  const accountHashes = new Map<number, string>();
  let accountB = 0;

  const setLifecycle = async (key: string, account: NewAccountResult, envRowId: number,
    days: number | null) => {
    const res = await srv.api(account.api_key, 'PUT', `/environment/${envRowId}`,
      { lifecycle_days: days === null ? '' : String(days) });
    expectOk(res, 'PUT', 'environment_details');
    lifecycles.set(key, days);
  };

  /** Whether the model says a row is still there once the run of `at` has happened. */
  const survives = (row: Row, at: number) => {
    const days = lifecycles.get(row.env) ?? null;
    return row.status === 'failed' || days === null || row.created >= at - days * DAY;
  };

  const liveIds = async () => {
    const live = await srv.server.ctx.db.kysely.selectFrom('recordings').select('id')
      .where('deleted_at', 'is', null).orderBy('id').execute();
    return live.map((r) => r.id);
  };

  const expectedFiles = (at: number, real: Set<string>) => rows
    .filter((r) => survives(r, at))
    .flatMap((r) => {
      const hash = accountHashes.get(r.accountId) ?? '';
      if (real.has(r.name)) return [];
      return Object.values(mediaKeys(hash, { name: r.name, original_ext: 'webm' }));
    });

  beforeAll(async () => {
    clipDir = await mkdtemp(path.join(tmpdir(), 'standpipe-lifecycle-'));
    const clip = await makeClip(clipDir);
    clock = steppedClock(START);
    receiver = await startReceiver();
    ({ srv, logs } = await startPrivacyServer(dialect, { clock: clock.now }));
    a = await srv.account('Lifecycle A');
    b = await srv.account('Lifecycle B');
    const db = srv.server.ctx.db.kysely;
    for (const acc of [a, b]) {
      const row = await findAccountByHash(db, acc.account_hash);
      accountHashes.set(row?.id ?? 0, acc.account_hash);
    }
    const idOf = (acc: NewAccountResult) =>
      [...accountHashes].find(([, hash]) => hash === acc.account_hash)?.[0] ?? 0;
    accountB = idOf(b);
    // The run enqueued when the server started finds nothing to do; it is over before setup.
    await eventually(async () => (logs.entries('lifecycle run finished').length > 0 ? true
      : undefined), 30_000, 'the first lifecycle run');

    // Environments: A's first keeps 30 days, a second 7, a third everything; B's keeps 30.
    const created = async (name: string) => {
      const res = await srv.api(a.api_key, 'POST', '/environment', { env_name: name });
      return expectOk(res, 'POST', 'environment_details', 201)[0] ?? {};
    };
    const week = await created('Week');
    const forever = await created('Forever');
    const envs = {
      month: { account: a, row: a.environment.id, envId: a.environment.env_id,
        code: a.environment.env_code },
      week: { account: a, row: Number(week.id), envId: Number(week.env_id),
        code: String(week.env_code) },
      forever: { account: a, row: Number(forever.id), envId: Number(forever.env_id),
        code: String(forever.env_code) },
      other: { account: b, row: b.environment.id, envId: b.environment.env_id,
        code: b.environment.env_code },
    };
    await setLifecycle('month', a, envs.month.row, 30);
    await setLifecycle('week', a, envs.week.row, 7);
    await setLifecycle('forever', a, envs.forever.row, null);
    await setLifecycle('other', b, envs.other.row, 30);

    // Rows written directly, made up to 60 days before the start, each with its four files.
    const filler = path.join(clipDir, 'filler.bin');
    await writeFile(filler, 'not a real recording');
    const counts = { month: 250, week: 80, forever: 50, other: 40 };
    let serial = 0;
    for (const [key, count] of Object.entries(counts) as [keyof typeof envs, number][]) {
      const env = envs[key];
      for (const { hoursAgo, status } of spread(count, count + key.length)) {
        serial += 1;
        // Half an hour off the hour, so no recording sits exactly on a daily cut-off.
        const createdAt = START - hoursAgo * HOUR - 30 * 60_000;
        const name = `vs${createdAt}_lc${serial}`;
        const accountId = idOf(env.account);
        const rec = await insertRecording(db, {
          account_id: accountId, env_id: env.envId, name, status, original_ext: 'webm',
          created_at: createdAt, ipv4: '3405803777', ua: `agent ${serial}`, http_referer: '',
          camera_name: '', microphone_name: '', payload: `row ${serial}`, source: 'DESK',
          original_size: 20, region: 'local', has_original: 1,
        });
        for (const fileKey of Object.values(mediaKeys(env.account.account_hash, rec))) {
          await srv.server.ctx.store.put(fileKey, filler);
        }
        rows.push({ id: rec.id, name, accountId, envId: env.envId, created: createdAt, status,
          env: key });
      }
    }

    // Real uploads made at the start: converted ones in three environments, a failed one.
    const upload = async (key: keyof typeof envs, n: number, data: Buffer, file: string) => {
      const env = envs[key];
      const res = await uploadAs(srv, { accountHash: env.account.account_hash,
        envCode: env.code }, data, identity(`lifecycle-${key}-${n}`, n), file);
      expect(res.status, res.text).toBe(201);
      const video = firstVideo(res);
      rows.push({ id: Number(video.id), name: video.name, accountId: idOf(env.account),
        envId: env.envId, created: START, status: 'converted', env: key });
      return video;
    };
    let n = 40;
    for (const key of ['month', 'week', 'forever'] as const) {
      await addWebhook(srv, a.api_key, receiver, envs[key].envId);
      n += 1;
      const video = await upload(key, n, clip, 'clip.mp4');
      await settled(srv, a.api_key, receiver, video);
    }
    const broken = await upload('week', 99, Buffer.alloc(4096, 7), 'broken.webm');
    await eventually(async () => {
      const res = await srv.api(a.api_key, 'GET', `/video/${broken.id}`);
      const v = (res.json.videos as Record<string, unknown>[] | undefined)?.[0];
      return v?.conversion_status === 'failed' ? true : undefined;
    }, 60_000, 'the broken upload failed');
    const last = rows[rows.length - 1];
    if (last !== undefined) last.status = 'failed';
  });

  afterAll(async () => {
    await srv?.close();
    await receiver?.close();
    await rm(clipDir, { recursive: true, force: true });
  });

  it('deletes each day exactly the recordings past their environment\'s days', async () => {
    expect(rows.length).toBeGreaterThan(400);
    const scheduler = new PeriodicScheduler(srv.server.ctx.db, srv.server.ctx.queue,
      pino({ level: 'silent' }), periodicTasks(), clock.now);
    const runs = () => logs.entries('lifecycle run finished').length;
    const realNames = new Set(rows.filter((r) => r.created === START).map((r) => r.name));
    let previous = new Set(rows.map((r) => r.id));
    const before = runs();
    let deletedTotal = 0;

    for (let day = 1; day <= SIMULATED_DAYS; day += 1) {
      clock.advance(DAY);
      const at = clock.now();
      const batchLines = logs.entries('lifecycle batch').length;
      const envLines = logs.entries('lifecycle deleted recordings').length;
      expect(await scheduler.tick()).toContain('privacy.lifecycle');
      await eventually(async () => (runs() === before + day ? true : undefined), 30_000,
        `lifecycle run of day ${day}`);

      const expected = rows.filter((r) => survives(r, at)).map((r) => r.id).sort((x, y) => x - y);
      expect(await liveIds(), `day ${day}`).toEqual(expected);

      // The logs count, per environment, what this run deleted.
      const gone = rows.filter((r) => previous.has(r.id) && !survives(r, at));
      const logged = logs.entries('lifecycle deleted recordings').slice(envLines);
      expect(logged).toHaveLength(3);
      for (const line of logged) {
        const inEnv = gone.filter((r) => r.accountId === line.accountId && r.envId === line.envId);
        expect(line.deleted, `day ${day} env ${String(line.envId)}`).toBe(inEnv.length);
      }
      for (const line of logs.entries('lifecycle batch').slice(batchLines)) {
        expect(line.removed as number).toBeLessThanOrEqual(100);
      }
      if (day === 1) {
        expect(gone.length).toBeGreaterThan(100);
        expect(logs.entries('lifecycle batch').length - batchLines).toBeGreaterThan(2);
      }
      deletedTotal += gone.length;
      previous = new Set(expected);
    }

    const at = clock.now();
    expect(deletedTotal).toBe(rows.filter((r) => !survives(r, at)).length);
    // Failed recordings wait for a person; environments without a lifecycle keep everything.
    const left = rows.filter((r) => survives(r, at));
    expect(left.filter((r) => r.env !== 'forever').every((r) => r.status === 'failed'))
      .toBe(true);
    expect(left.filter((r) => r.env === 'forever')).toHaveLength(51);

    // The media store holds the files of the recordings left, and nothing else.
    const media = path.join(srv.dataDir, 'media');
    const onDisk = (await filesUnder(media)).map((f) => path.relative(media, f));
    const fromInserts = expectedFiles(at, realNames);
    const real = onDisk.filter((f) => [...realNames].some((n) => f.includes(n)));
    expect(onDisk.filter((f) => !real.includes(f)).sort()).toEqual(fromInserts.sort());
    const realLeft = rows.filter((r) => realNames.has(r.name) && survives(r, at));
    expect(realLeft.map((r) => r.env).sort()).toEqual(['forever', 'week']);
    for (const rec of rows.filter((r) => realNames.has(r.name) && !survives(r, at))) {
      expect(real.filter((f) => f.includes(rec.name)), rec.name).toEqual([]);
    }
    expect(real.some((f) => f.endsWith('.mp4'))).toBe(true);
    expect(real.some((f) => f.includes('_raw.webm'))).toBe(true);
  });

  it('lists only what is left, and keeps no personal data of what was deleted', async () => {
    const at = clock.now();
    const res = await srv.api(a.api_key, 'GET', '/video/all');
    const listed = expectOk(res, 'GET', 'videos').map((v) => Number(v.id)).sort((x, y) => x - y);
    const expected = rows.filter((r) => r.accountId !== accountB && survives(r, at))
      .map((r) => r.id).sort((x, y) => x - y);
    expect(listed).toEqual(expected);

    const leftovers = await srv.server.ctx.db.kysely.selectFrom('recordings')
      .select(['id', 'ua', 'payload', 'ipv4']).where('deleted_at', 'is not', null)
      .where((eb) => eb.or([eb('ua', '!=', ''), eb('payload', '!=', ''), eb('ipv4', '!=', '')]))
      .execute();
    expect(leftovers).toEqual([]);
    const deliveries = await srv.server.ctx.db.kysely.selectFrom('webhook_deliveries')
      .innerJoin('recordings', 'recordings.id', 'webhook_deliveries.recording_id')
      .select('webhook_deliveries.id').where('recordings.deleted_at', 'is not', null).execute();
    expect(deliveries).toEqual([]);
  });
});

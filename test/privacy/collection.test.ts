import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import { createUpload, patch } from '../helpers/tus.js';
import type { Receiver } from '../helpers/receiver.js';
import {
  SEED_ENVIRONMENT, expectError, expectOk, expectSameShape,
} from '../helpers/seed-shapes.js';
import {
  addWebhook, bodiesMentioning, firstVideo, identity, ipAsUint, makeClip, placesHolding,
  settled, startPrivacyServer, uploadAs,
} from './support.js';
import type { Identity, LogCapture } from './support.js';

type Switch = 'collect_ip' | 'collect_ua' | 'collect_referer' | 'collect_device_names';

/** What each switch keeps out, as values of one upload, and the API fields that show it. */
const DROPPED: Record<Switch, { values: (who: Identity) => string[]; fields: string[];
  hookFields: string[] }> = {
  collect_ip: { values: (w) => [w.ip, ipAsUint(w.ip)], fields: ['ipv4'], hookFields: ['ip'] },
  collect_ua: { values: (w) => [w.ua], fields: ['ua'], hookFields: ['ua'] },
  collect_referer: { values: (w) => [w.referer], fields: ['http_referer'],
    hookFields: ['httpReferer'] },
  collect_device_names: { values: (w) => [w.camera, w.mic],
    fields: ['camera_name', 'microphone_name'], hookFields: ['cam_name', 'mic_name'] },
};
const SWITCHES = Object.keys(DROPPED) as Switch[];

interface Upload {
  who: Identity;
  video: { id: string; name: string };
  row: Record<string, unknown>;
}

describe.each(DIALECTS)('collection switches (%s)', (dialect) => {
  let srv: TestServer;
  let logs: LogCapture;
  let receiver: Receiver;
  let account: NewAccountResult;
  let clipDir: string;
  let clip: Buffer;
  const uploads = new Map<Switch | 'control', Upload>();
  const targets = new Map<Switch | 'control', { envId: number; envCode: string }>();

  const recordedHook = (name: string): Record<string, unknown> => {
    const req = receiver.requests.find((r) => r.body.includes(name) &&
      (r.json as { event?: string }).event === 'video_recorded');
    return ((req?.json as { data?: Record<string, unknown> } | undefined)?.data) ?? {};
  };

  beforeAll(async () => {
    clipDir = await mkdtemp(path.join(tmpdir(), 'standpipe-privacy-clip-'));
    clip = await makeClip(clipDir);
    receiver = await startReceiver();
    ({ srv, logs } = await startPrivacyServer(dialect));
    account = await srv.account();

    targets.set('control', { envId: account.environment.env_id,
      envCode: account.environment.env_code });
    for (const name of SWITCHES) {
      const res = await srv.api(account.api_key, 'POST', '/environment',
        { env_name: `without ${name}`, [name]: '0' });
      const [env] = expectOk(res, 'POST', 'environment_details', 201);
      targets.set(name, { envId: Number(env?.env_id), envCode: String(env?.env_code) });
    }

    let n = 10;
    for (const [label, target] of targets) {
      await addWebhook(srv, account.api_key, receiver, target.envId);
      n += 1;
      const who = identity(`${label}-${dialect}-${n}`, n);
      const res = await uploadAs(srv, { accountHash: account.account_hash,
        envCode: target.envCode }, clip, who);
      expect(res.status, res.text).toBe(201);
      const video = firstVideo(res);
      const row = await settled(srv, account.api_key, receiver, video);
      uploads.set(label, { who, video, row });
    }
  });

  afterAll(async () => {
    await srv?.close();
    await receiver?.close();
    await rm(clipDir, { recursive: true, force: true });
  });

  it('shows the switches on /environment, all on by default', async () => {
    const res = await srv.api(account.api_key, 'GET', `/environment/${account.environment.id}`);
    const [env] = expectOk(res, 'GET', 'environment_details');
    expectSameShape(env, SEED_ENVIRONMENT);
    expect(env).toMatchObject({ collect_ip: '1', collect_ua: '1', collect_referer: '1',
      collect_device_names: '1', lifecycle_days: null });
  });

  it('the control upload, every switch on, is found where the checks look', () => {
    const { who, video, row } = uploads.get('control') ?? ({} as Upload);
    expect(row).toMatchObject({ ipv4: ipAsUint(who.ip), ua: who.ua, http_referer: who.referer,
      camera_name: who.camera, microphone_name: who.mic, payload: who.payload });
    expect(recordedHook(video.name)).toMatchObject({ ip: who.ip, ua: who.ua,
      httpReferer: who.referer, cam_name: who.camera, mic_name: who.mic });
    return Promise.all([who.ua, ipAsUint(who.ip), who.camera].map(async (value) => {
      expect(await placesHolding(srv, value), value).not.toEqual([]);
    }));
  });

  it('logs at debug level, and never the recorder\'s personal data', () => {
    const text = logs.text();
    expect(text).toContain('"level":20');
    expect(logs.entries('recording received').length).toBe(uploads.size);
    for (const { who } of uploads.values()) {
      for (const value of [who.ip, ipAsUint(who.ip), who.ua, who.referer, who.camera, who.mic]) {
        expect(text).not.toContain(value);
      }
    }
  });

  it.each(SWITCHES)('%s off: the value is in no file, row, log line or webhook', async (name) => {
    const { who, video, row } = uploads.get(name) ?? ({} as Upload);
    const dropped = DROPPED[name];
    for (const value of dropped.values(who)) {
      expect(await placesHolding(srv, value), value).toEqual([]);
      expect(logs.text()).not.toContain(value);
      expect(bodiesMentioning(receiver, value), value).toEqual([]);
    }
    for (const field of dropped.fields) expect(row[field], field).toBe('');
    const hook = recordedHook(video.name);
    for (const field of dropped.hookFields) expect(hook[field], field).toBe('');

    // Only what the switch names is left out; the rest of the upload is kept as sent.
    const kept = SWITCHES.filter((s) => s !== name).flatMap((s) => DROPPED[s].values(who));
    for (const value of [...kept, who.payload]) {
      expect(await placesHolding(srv, value), value).not.toEqual([]);
    }
  });

  it.each(SWITCHES)('%s off: a resumable upload keeps it out too, half-way and done',
    async (name) => {
      const n = 60 + SWITCHES.indexOf(name);
      const who = identity(`tus-${name}-${dialect}-${n}`, n);
      const target = targets.get(name) ?? { envId: 0, envCode: '' };
      const { res, url } = await createUpload(srv.url, clip.length, {
        accountHash: account.account_hash, eid: target.envCode, filename: 'clip.mp4',
        payload: who.payload, cameraName: who.camera, micName: who.mic,
      }, { 'user-agent': who.ua, referer: who.referer, 'x-forwarded-for': who.ip });
      expect(res.status).toBe(201);
      const half = Math.floor(clip.length / 2);
      expect((await patch(url, 0, clip.subarray(0, half))).status).toBe(204);

      // Half-way, the upload's row holds what is collected and nothing that is not.
      const dropped = DROPPED[name].values(who);
      const kept = SWITCHES.filter((s) => s !== name).flatMap((s) => DROPPED[s].values(who))
        .filter((v) => v !== ipAsUint(who.ip));
      for (const value of dropped) expect(await placesHolding(srv, value), value).toEqual([]);
      for (const value of kept) expect(await placesHolding(srv, value), value).not.toEqual([]);

      const done = await patch(url, half, clip.subarray(half));
      expect(done.status).toBe(204);
      const video = { id: done.headers.get('standpipe-video-id') ?? '',
        name: done.headers.get('standpipe-video-name') ?? '' };
      const row = await settled(srv, account.api_key, receiver, video);
      for (const field of DROPPED[name].fields) expect(row[field], field).toBe('');
      for (const value of dropped) {
        expect(await placesHolding(srv, value), value).toEqual([]);
        expect(logs.text()).not.toContain(value);
        expect(bodiesMentioning(receiver, value), value).toEqual([]);
      }
    });

  it('PUT /environment changes the switches and the lifecycle, checking each value', async () => {
    const id = account.environment.id;
    const put = (body: unknown) => srv.api(account.api_key, 'PUT', `/environment/${id}`, body);
    const changed = await put({ collect_ua: '0', collect_ip: 0, lifecycle_days: '30' });
    expect(expectOk(changed, 'PUT', 'environment_details')[0]).toMatchObject({
      collect_ua: '0', collect_ip: '0', collect_referer: '1', lifecycle_days: '30' });
    const numeric = await put({ lifecycle_days: 7 });
    expect(expectOk(numeric, 'PUT', 'environment_details')[0]?.lifecycle_days).toBe('7');
    for (const off of ['', null]) {
      const res = await put({ lifecycle_days: off, collect_ua: '1', collect_ip: '1' });
      expect(expectOk(res, 'PUT', 'environment_details')[0]).toMatchObject({
        lifecycle_days: null, collect_ua: '1', collect_ip: '1' });
    }

    const bad: [Record<string, unknown>, string][] = [
      [{ collect_ip: '2' }, 'collect_ip'], [{ collect_ua: 'yes' }, 'collect_ua'],
      [{ collect_referer: true }, 'collect_referer'], [{ collect_device_names: null },
        'collect_device_names'], [{ lifecycle_days: '0' }, 'lifecycle_days'],
      [{ lifecycle_days: '1.5' }, 'lifecycle_days'], [{ lifecycle_days: -3 }, 'lifecycle_days'],
      [{ lifecycle_days: 'thirty' }, 'lifecycle_days'], [{ lifecycle_days: 40_000 },
        'lifecycle_days'], [{ collect_everything: '1' }, 'collect_everything'],
    ];
    for (const [body, field] of bad) {
      expect(expectError(await put(body), 400, 'PUT'), JSON.stringify(body)).toContain(field);
    }
    const created = await srv.api(account.api_key, 'POST', '/environment',
      { env_name: 'Short-lived', lifecycle_days: '14', collect_device_names: '0' });
    expect(expectOk(created, 'POST', 'environment_details', 201)[0]).toMatchObject({
      env_name: 'Short-lived', lifecycle_days: '14', collect_device_names: '0', collect_ip: '1' });
  });
});

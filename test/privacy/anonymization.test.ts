import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatDateTime } from '../../src/lib/format.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { expectError, expectOk } from '../helpers/seed-shapes.js';
import {
  DAY, HOUR, addWebhook, filesUnder, firstVideo, identity, makeClip,
  placesHolding, settled, startPrivacyServer, steppedClock, uploadAs, valuesOf,
} from './support.js';
import type { Identity, LogCapture, SteppedClock } from './support.js';

const START = Date.UTC(2031, 5, 10, 12, 0, 0);

interface Upload {
  who: Identity;
  video: { id: string; name: string };
}

describe.each(DIALECTS)('anonymization (%s)', (dialect) => {
  let srv: TestServer;
  let logs: LogCapture;
  let receiver: Receiver;
  let clock: SteppedClock;
  let account: NewAccountResult;
  let other: NewAccountResult;
  let hookId: string;
  let clipDir: string;
  const up: Upload[] = [];

  const anonymize = (id: string, key = account.api_key) =>
    srv.api(key, 'POST', `/video/${id}/anonymize`);
  const anonymizeEnv = (body: unknown, id = account.environment.id, key = account.api_key) =>
    srv.api(key, 'POST', `/environment/${id}/anonymize`, body);

  /** Where any of an upload's personal values is still held, value by value. */
  const holding = async (u: Upload) => {
    const found: string[] = [];
    for (const value of valuesOf(u.who)) {
      for (const place of await placesHolding(srv, value)) found.push(`${value} in ${place}`);
    }
    return found;
  };

  const mediaOf = async (u: Upload) =>
    (await filesUnder(path.join(srv.dataDir, 'media'))).filter((f) => f.includes(u.video.name));

  beforeAll(async () => {
    clipDir = await mkdtemp(path.join(tmpdir(), 'standpipe-anon-'));
    const clip = await makeClip(clipDir);
    clock = steppedClock(START);
    receiver = await startReceiver();
    ({ srv, logs } = await startPrivacyServer(dialect, { clock: clock.now }));
    account = await srv.account();
    other = await srv.account();
    hookId = await addWebhook(srv, account.api_key, receiver, account.environment.env_id);

    // Two recordings at the start, a third two days later.
    for (const [n, wait] of [[21, 0], [22, 0], [23, 2 * DAY]] as const) {
      clock.advance(wait);
      const who = identity(`anon-${dialect}-${n}`, n);
      const res = await uploadAs(srv, { accountHash: account.account_hash,
        envCode: account.environment.env_code }, clip, who);
      expect(res.status, res.text).toBe(201);
      const video = firstVideo(res);
      await settled(srv, account.api_key, receiver, video);
      up.push({ who, video });
    }
  });

  afterAll(async () => {
    await srv?.close();
    await receiver?.close();
    await rm(clipDir, { recursive: true, force: true });
  });

  it('finds every value of every upload where the checks look, before anything', async () => {
    for (const u of up) {
      for (const value of valuesOf(u.who)) {
        expect(await placesHolding(srv, value), value).not.toEqual([]);
      }
    }
  });

  it('POST /video/:id/anonymize erases the personal data and keeps the media', async () => {
    const [first, second] = up as [Upload, Upload];
    const filesBefore = await mediaOf(first);
    expect(filesBefore.length).toBeGreaterThanOrEqual(3);
    clock.advance(HOUR);
    const res = await anonymize(first.video.id);
    const [video] = expectOk(res, 'POST', 'videos');
    expect(video).toMatchObject({
      id: first.video.id, anonymized: '1', date_anonymized: formatDateTime(clock.now()),
      ipv4: '', ua: '', http_referer: '', camera_name: '', microphone_name: '', payload: '',
      converted: '1', has_mp4: '1',
    });

    expect(await holding(first)).toEqual([]);
    expect(await holding(second)).not.toEqual([]);
    expect(await mediaOf(first)).toEqual(filesBefore);
    const mp4 = await fetch(`${srv.url}/media/${account.account_hash}/${first.video.name}.mp4`);
    expect(mp4.status).toBe(200);
    expect((await mp4.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    for (const value of valuesOf(first.who)) expect(logs.text()).not.toContain(value);
    expect(logs.entries('recording anonymized').map((e) => e.recordingId))
      .toEqual([Number(first.video.id)]);
  });

  it('keeps the first date when asked again, and the listing shows the same', async () => {
    const [first] = up as [Upload];
    const before = await srv.api(account.api_key, 'GET', `/video/${first.video.id}`);
    const date = expectOk(before, 'GET', 'videos')[0]?.date_anonymized;
    clock.advance(DAY);
    const again = expectOk(await anonymize(first.video.id), 'POST', 'videos')[0];
    expect(again?.date_anonymized).toBe(date);
    const listed = expectOk(await srv.api(account.api_key, 'GET', '/video/all'), 'GET', 'videos')
      .find((v) => v.id === first.video.id);
    expect(listed).toMatchObject({ anonymized: '1', date_anonymized: date, ua: '' });
  });

  it('a webhook sent again after anonymization carries the emptied fields', async () => {
    const [first] = up as [Upload];
    const log = await srv.api(account.api_key, 'GET', `/webhook/${hookId}/deliveries?limit=500`);
    expect(log.status, log.text).toBe(200);
    const recorded = (log.json.deliveries as Record<string, unknown>[])
      .find((d) => d.recording_id === first.video.id && d.event === 'video_recorded');
    expect(recorded).toBeDefined();
    const count = receiver.requests.length;
    const res = await srv.api(account.api_key, 'POST',
      `/webhook/${hookId}/deliveries/${String(recorded?.id)}/redeliver`);
    expect(res.status, res.text).toBe(202);
    const sent = await receiver.waitFor(count + 1, 10_000);
    const data = (sent.json as { data: Record<string, unknown> }).data;
    expect(data).toMatchObject({ videoName: first.video.name, ip: '', ua: '', httpReferer: '',
      cam_name: '', mic_name: '', payload: '' });
    for (const value of valuesOf(first.who)) expect(sent.body).not.toContain(value);
  });

  it('POST /environment/:id/anonymize takes the recordings made before a date', async () => {
    const [, second, third] = up as [Upload, Upload, Upload];
    // A Pipe datetime between the second upload and the third.
    const between = formatDateTime(START + DAY);
    const res = await anonymizeEnv({ before: between });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ status: 'OK', status_code: 200, request_method: 'POST',
      total_videos: 1 });
    expect(res.json.message).toBe('1 recordings anonymized');
    expect(await holding(second)).toEqual([]);
    expect(await holding(third)).not.toEqual([]);
    const line = logs.entries('environment recordings anonymized').at(-1);
    expect(line).toMatchObject({ anonymized: 1, envId: account.environment.env_id });

    const iso = new Date(START + 3 * DAY).toISOString();
    const rest = await anonymizeEnv({ before: iso });
    expect(rest.json.total_videos).toBe(1);
    expect(await holding(third)).toEqual([]);
    expect((await anonymizeEnv({ before: iso.slice(0, 10) })).json.total_videos).toBe(0);

    for (const u of up) {
      expect(await mediaOf(u)).not.toEqual([]);
      for (const value of valuesOf(u.who)) {
        expect(logs.text()).not.toContain(value);
      }
    }
  });

  it('refuses a bad date by name, and another account\'s ids as missing ones', async () => {
    for (const before of [undefined, '', 'yesterday', '2031-02-31', '2031-06-10 25:00:00',
      '10/06/2031', 1_900_000_000]) {
      const body = before === undefined ? {} : { before };
      expect(expectError(await anonymizeEnv(body), 400, 'POST'), JSON.stringify(body))
        .toContain('before');
    }
    expect(expectError(await anonymizeEnv({ before: '2031-01-01', after: '1' }), 400, 'POST'))
      .toContain('after');
    const foreignEnv = await anonymizeEnv({ before: '2031-01-01' }, other.environment.id);
    const missingEnv = await anonymizeEnv({ before: '2031-01-01' }, 987654321);
    expectError(foreignEnv, 404, 'POST');
    expect(foreignEnv.text).toBe(missingEnv.text);

    const [first] = up as [Upload];
    const foreign = await anonymize(first.video.id, other.api_key);
    const missing = await anonymize('987654321', other.api_key);
    expectError(foreign, 404, 'POST');
    expect(foreign.text).toBe(missing.text);
    const wrongMethod = await srv.api(account.api_key, 'GET',
      `/video/${first.video.id}/anonymize`);
    expectError(wrongMethod, 405, 'GET');
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { mediaKeys } from '../../src/services/recording-view.js';
import { DIALECTS, eventually } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { expectError, expectOk } from '../helpers/seed-shapes.js';
import { createUpload, patch, tus } from '../helpers/tus.js';
import {
  HOUR, addWebhook, bodiesMentioning, lingeringFfmpeg, filesUnder, firstVideo, identity,
  makeClip, placesHolding, settled, startPrivacyServer, steppedClock, uploadAs, valuesOf,
} from './support.js';
import type { Identity, LogCapture, SteppedClock } from './support.js';

const START = Date.UTC(2031, 8, 1, 8, 0, 0);

interface Upload {
  who: Identity;
  video: { id: string; name: string };
}

describe.each(DIALECTS)('deletion (%s)', (dialect) => {
  let srv: TestServer;
  let logs: LogCapture;
  let receiver: Receiver;
  let clock: SteppedClock;
  let account: NewAccountResult;
  let hookId: string;
  let dir: string;
  let clip: Buffer;
  let kept: Upload;
  let deleted: Upload;

  const db = () => srv.server.ctx.db.kysely;
  const mediaOf = async (name: string) =>
    (await filesUnder(path.join(srv.dataDir, 'media'))).filter((f) => f.includes(name));
  const transientFiles = async () => [
    ...await filesUnder(path.join(srv.dataDir, 'uploads')),
    ...await filesUnder(path.join(srv.dataDir, 'work')),
  ];
  const holding = async (u: Upload) => {
    const found: string[] = [];
    for (const value of valuesOf(u.who)) {
      for (const place of await placesHolding(srv, value)) found.push(`${value} in ${place}`);
    }
    return found;
  };
  const upload = async (n: number) => {
    const who = identity(`delete-${dialect}-${n}`, n);
    const res = await uploadAs(srv, { accountHash: account.account_hash,
      envCode: account.environment.env_code }, clip, who);
    expect(res.status, res.text).toBe(201);
    return { who, video: firstVideo(res) };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-delete-'));
    clip = await makeClip(dir);
    clock = steppedClock(START);
    receiver = await startReceiver();
    // The media tools are found through the process environment, once per server.
    Object.assign(process.env, await lingeringFfmpeg(dir, 700));
    ({ srv, logs } = await startPrivacyServer(dialect, { clock: clock.now }));
    expect(srv.server.ctx.media.ffmpeg).toContain('lingering-ffmpeg');
    account = await srv.account();
    hookId = await addWebhook(srv, account.api_key, receiver, account.environment.env_id);

    kept = await upload(31);
    deleted = await upload(32);
    // The receiver asks for the stored-copy event about the recording to be deleted to come
    // back in an hour, so a delivery about it is still pending when it is deleted.
    receiver.setDefault((req) => (req.body.includes(deleted.video.name) &&
      req.body.includes('video_copied_pipe_s3')
      ? { status: 503, headers: { 'retry-after': '3600' } } : { status: 200 }));
    await settled(srv, account.api_key, receiver, kept.video);
    await settled(srv, account.api_key, receiver, deleted.video);

    // Filmstrips are not made here; one is put in place to see that it goes too.
    const filler = path.join(dir, 'filmstrip.jpg');
    await writeFile(filler, 'filmstrip');
    for (const u of [kept, deleted]) {
      const keys = mediaKeys(account.account_hash, { name: u.video.name, original_ext: 'mp4' });
      await srv.server.ctx.store.put(keys.filmstrip, filler);
    }
  });

  afterAll(async () => {
    delete process.env.STANDPIPE_FFMPEG;
    delete process.env.STANDPIPE_FFPROBE;
    await srv?.close();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds every file and value of both recordings before the DELETE', async () => {
    for (const u of [kept, deleted]) {
      const names = (await mediaOf(u.video.name)).map((f) => path.basename(f)).sort();
      expect(names).toEqual([`${u.video.name}.jpg`, `${u.video.name}.mp4`,
        `${u.video.name}_filmstrip.jpg`, `${u.video.name}_raw.mp4`]);
      for (const value of valuesOf(u.who)) {
        expect(await placesHolding(srv, value), value).not.toEqual([]);
      }
    }
    const pending = await db().selectFrom('webhook_deliveries').select('id')
      .where('recording_id', '=', Number(deleted.video.id)).where('status', '=', 'pending')
      .execute();
    expect(pending).toHaveLength(1);
  });

  it('DELETE /video/:id removes every file and every value of the recording', async () => {
    const res = await srv.api(account.api_key, 'DELETE', `/video/${deleted.video.id}`);
    expectOk(res, 'DELETE', null);

    expect(await mediaOf(deleted.video.name)).toEqual([]);
    expect(await mediaOf(kept.video.name)).toHaveLength(4);
    expect(await transientFiles()).toEqual([]);
    expect(await holding(deleted)).toEqual([]);
    expect(await holding(kept)).not.toEqual([]);
    for (const value of valuesOf(deleted.who)) expect(logs.text()).not.toContain(value);
    expect(logs.entries('recording deleted').map((e) => e.recordingId))
      .toEqual([Number(deleted.video.id)]);
  });

  it('answers 404 for it, lists it nowhere, and keeps no delivery about it', async () => {
    expectError(await srv.api(account.api_key, 'GET', `/video/${deleted.video.id}`), 404, 'GET');
    const all = expectOk(await srv.api(account.api_key, 'GET', '/video/all'), 'GET', 'videos');
    expect(all.map((v) => v.id)).toEqual([kept.video.id]);
    const log = await srv.api(account.api_key, 'GET', `/webhook/${hookId}/deliveries?limit=500`);
    const deliveries = log.json.deliveries as Record<string, unknown>[];
    expect(deliveries.some((d) => d.recording_id === kept.video.id)).toBe(true);
    expect(deliveries.filter((d) => d.recording_id === deleted.video.id)).toEqual([]);
    const queued = await db().selectFrom('jobs').select('id')
      .where('recording_id', '=', Number(deleted.video.id)).where('status', '=', 'queued')
      .execute();
    expect(queued).toEqual([]);
  });

  it('sends no webhook about it afterwards, even when a retry was due', async () => {
    const before = bodiesMentioning(receiver, deleted.video.name).length;
    const total = receiver.requests.length;
    clock.advance(2 * HOUR);
    srv.server.ctx.queue.notify();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(bodiesMentioning(receiver, deleted.video.name)).toHaveLength(before);
    expect(receiver.requests).toHaveLength(total);
  });

  it('a recording made by a resumable upload leaves nothing in the upload area', async () => {
    const who = identity(`delete-tus-${dialect}`, 34);
    const { url } = await createUpload(srv.url, clip.length, {
      accountHash: account.account_hash, eid: account.environment.env_code,
      filename: 'clip.mp4', payload: who.payload, cameraName: who.camera, micName: who.mic,
    }, { 'user-agent': who.ua, referer: who.referer, 'x-forwarded-for': who.ip });
    const done = await patch(url, 0, clip);
    expect(done.status).toBe(204);
    const upload: Upload = { who, video: { id: done.headers.get('standpipe-video-id') ?? '',
      name: done.headers.get('standpipe-video-name') ?? '' } };
    await settled(srv, account.api_key, receiver, upload.video);
    expect((await tus(url, 'HEAD')).headers.get('standpipe-video-id')).toBe(upload.video.id);

    expectOk(await srv.api(account.api_key, 'DELETE', `/video/${upload.video.id}`), 'DELETE',
      null);
    expect((await tus(url, 'HEAD')).status).toBe(404);
    const rows = await db().selectFrom('uploads').select('id')
      .where('recording_id', '=', Number(upload.video.id)).execute();
    expect(rows).toEqual([]);
    expect(await transientFiles()).toEqual([]);
    expect(await mediaOf(upload.video.name)).toEqual([]);
    expect(await holding(upload)).toEqual([]);
  });

  it('a DELETE during the conversion leaves none of the outputs behind', async () => {
    const racing = await upload(33);
    const id = Number(racing.video.id);
    const processing = () => db().selectFrom('jobs').select(['id', 'status'])
      .where('recording_id', '=', id).where('type', '=', 'recording.process')
      .executeTakeFirst();
    // The snapshot is the conversion's last step: once ffmpeg has written it, the outputs
    // are complete and about to be stored.
    await eventually(async () => ((await transientFiles()).some((f) => f.endsWith('.jpg.part'))
      ? true : undefined), 20_000, 'the snapshot written');
    expect((await processing())?.status).toBe('running');
    const res = await srv.api(account.api_key, 'DELETE', `/video/${racing.video.id}`);
    expectOk(res, 'DELETE', null);

    await eventually(async () => ((await processing())?.status === 'running' ? undefined : true),
      30_000, 'the conversion ended');
    expect(await mediaOf(racing.video.name)).toEqual([]);
    expect(await transientFiles()).toEqual([]);
    expect(await holding(racing)).toEqual([]);
    // Only the event of its upload, sent before the DELETE, ever mentioned it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const events = receiver.requests.filter((r) => r.body.includes(racing.video.name))
      .map((r) => (r.json as { event?: string }).event);
    expect(events.filter((e) => e !== 'video_recorded')).toEqual([]);
  });
});

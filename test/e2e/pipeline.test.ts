import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { insertWebhook } from '../../src/repositories/webhooks.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver, RecordedRequest } from '../helpers/receiver.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';

/** Written from Pipe's description, independently of the server's own signing code. */
function expectedPipeSignature(key: string, url: string, jsonText: string): string {
  return createHmac('sha1', key).update(url + jsonText).digest('base64');
}

function standardSignature(secret: string, req: RecordedRequest): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const content = `${String(req.headers['webhook-id'])}.` +
    `${String(req.headers['webhook-timestamp'])}.${req.body}`;
  return `v1,${createHmac('sha256', key).update(content).digest('base64')}`;
}

const TYPES: Record<string, Record<string, string>> = {
  video_recorded: {
    videoName: 'string', audioCodec: 'string', videoCodec: 'string', type: 'string',
    id: 'number', dateTime: 'string', timeZone: 'string', payload: 'string',
    httpReferer: 'string', cam_name: 'string', mic_name: 'string', ip: 'string', ua: 'string',
  },
  video_converted: {
    videoName: 'string', duration: 'number', audioCodec: 'string', videoCodec: 'string',
    type: 'string', size: 'number', width: 'string', height: 'string', orientation: 'string',
    id: 'number', dateTime: 'string', timeZone: 'string', payload: 'string',
  },
  video_copied_pipe_s3: {
    storedStatus: 'string', videoName: 'string', size: 'number', checksum_md5: 'string',
    checksum_sha1: 'string', id: 'number', url: 'string', rawRecordingUrl: 'string',
    snapshotUrl: 'string', filmstripUrl: 'string', cdn: 'object', bucket: 'string',
    region: 'string', payload: 'string',
  },
};

describe.each(DIALECTS)('a recording from upload to webhooks (%s)', (dialect) => {
  let t: TestServer;
  let jsonHook: Receiver;
  let formHook: Receiver;

  beforeAll(async () => {
    t = await startTestServer(dialect);
    jsonHook = await startReceiver();
    formHook = await startReceiver();
  });

  afterAll(async () => {
    await t.close();
    await jsonHook.close();
    await formHook.close();
  });

  it('converts a Chromium WebM and sends three signed events in order, JSON and form', async () => {
    const acct = await t.account();
    // Quote and percent characters: the signature covers the URL exactly as stored.
    const jsonUrl = jsonHook.url("/hooks/pipe?x=%20a&q='b'");
    const formUrl = formHook.url('/form-hook');
    const secrets: Record<string, string> = {};
    for (const [url, format] of [[jsonUrl, 'json'], [formUrl, 'form']] as const) {
      const res = await t.api(acct.api_key, 'POST', '/webhook', {
        webhook: url, env_id: '1', format,
        webhook_recorded: '1', webhook_converted: '1', webhook_copied_pipe_s3: '1',
      });
      expect(res.status).toBe(201);
      const details = res.json.webhook_details as { webhook_secret: string }[];
      secrets[format] = details[0]?.webhook_secret ?? '';
    }

    const payload = '{"user":42,"note":"héllo & goodbye"}';
    const up = await uploadFile(t.url, {
      accountHash: acct.account_hash, eid: acct.environment.env_code, payload,
      cameraName: 'FakeCam 3000', micName: 'Fake Mic',
    }, { name: 'clip.webm', data: await readFile(CHROMIUM_WEBM) }, {
      'user-agent': 'Mozilla/5.0 test', referer: 'https://shop.example/checkout',
    });
    expect(up.status).toBe(201);
    const video = (up.json.videos as Record<string, string>[])[0];
    const id = Number(video?.id);

    const jsonReqs = await Promise.all([1, 2, 3].map((n) => jsonHook.waitFor(n, 30_000)));
    const formReqs = await Promise.all([1, 2, 3].map((n) => formHook.waitFor(n, 30_000)));

    for (const [reqs, format] of [[jsonReqs, 'json'], [formReqs, 'form']] as const) {
      const url = format === 'json' ? jsonUrl : formUrl;
      const events = reqs.map((r) => (r.json as { event: string }).event);
      expect(events).toEqual(['video_recorded', 'video_converted', 'video_copied_pipe_s3']);
      for (const req of reqs) {
        expect(req.method).toBe('POST');
        const jsonText = format === 'json' ? req.body : req.formPayload ?? '';
        if (format === 'json') {
          expect(req.headers['content-type']).toBe('application/json');
        } else {
          expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
          expect(new URLSearchParams(req.body).get('payload')).toBe(jsonText);
        }
        expect(req.headers['x-pipe-signature'])
          .toBe(expectedPipeSignature(acct.webhook_key, url, jsonText));
        expect(req.headers['webhook-signature']).toBe(standardSignature(secrets[format] ?? '', req));

        const body = JSON.parse(jsonText) as { version: string; event: string;
          data: Record<string, unknown> };
        expect(body.version).toBe('1.0');
        const types = TYPES[body.event] ?? {};
        for (const [field, type] of Object.entries(types)) {
          expect(typeof body.data[field], `${body.event}.${field}`).toBe(type);
          expect(body.data[field], `${body.event}.${field}`).not.toBeNull();
        }
        expect(body.data.id).toBe(id);
        expect(body.data.payload).toBe(payload);
      }
    }

    const [recorded, converted, stored] = jsonReqs.map((r) =>
      (r.json as { data: Record<string, unknown> }).data);
    expect(recorded).toMatchObject({ cam_name: 'FakeCam 3000', mic_name: 'Fake Mic',
      ip: '127.0.0.1', ua: 'Mozilla/5.0 test', httpReferer: 'https://shop.example/checkout',
      type: 'webm' });
    expect(converted).toMatchObject({ type: 'mp4', audioCodec: 'AAC', videoCodec: 'H.264',
      orientation: 'landscape' });
    expect(converted?.duration).toBeGreaterThanOrEqual(2);
    expect(converted?.duration).toBeLessThanOrEqual(4);

    // Every URL in the stored event is absolute and serves the file it names.
    const mp4 = await fetch(String(stored?.url));
    expect(mp4.status).toBe(200);
    expect(mp4.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await mp4.arrayBuffer());
    expect(bytes.length).toBe(stored?.size);
    const snap = await fetch(String(stored?.snapshotUrl));
    expect(snap.headers.get('content-type')).toBe('image/jpeg');
    const raw = await fetch(String(stored?.rawRecordingUrl));
    expect(Buffer.from(await raw.arrayBuffer()).equals(await readFile(CHROMIUM_WEBM))).toBe(true);

    const api = await t.api(acct.api_key, 'GET', `/video/${id}`);
    const row = (api.json.videos as Record<string, string | null>[])[0];
    expect(row).toMatchObject({ converted: '1', transcoded: '1', has_mp4: '1',
      has_snapshot: '1', has_original: '1', hasAudio: '1', audio_only: '0',
      original_container: 'webm', camera_name: 'FakeCam 3000', ipv4: '2130706433',
      checksum_md5: stored?.checksum_md5, checksum_sha1: stored?.checksum_sha1,
      size: String(stored?.size) });
    expect(`http://${String(row?.pipeS3Link)}`).toBe(stored?.url);
  });

  it('sends nothing to inactive webhooks or for unsubscribed events', async () => {
    const acct = await t.account();
    const quiet = await startReceiver();
    try {
      await t.api(acct.api_key, 'POST', '/webhook', { webhook: quiet.url('/off'), active: '0' });
      await t.api(acct.api_key, 'POST', '/webhook', {
        webhook: quiet.url('/only-stored'), webhook_recorded: '0', webhook_converted: '0',
        webhook_copied_pipe_s3: '1',
      });
      const up = await uploadFile(t.url, { accountHash: acct.account_hash,
        eid: acct.environment.env_code }, { name: 'a.webm', data: await readFile(CHROMIUM_WEBM) });
      expect(up.status).toBe(201);
      const first = await quiet.waitFor(1, 30_000);
      expect(first.path).toBe('/only-stored');
      expect((first.json as { event: string }).event).toBe('video_copied_pipe_s3');
      await new Promise((r) => setTimeout(r, 500));
      expect(quiet.requests).toHaveLength(1);
    } finally {
      await quiet.close();
    }
  });

  it('retries a failing receiver with the same webhook-id', async () => {
    // The schedule runs a thousand times faster here: 5 s becomes 5 ms.
    const fast = await startTestServer(dialect, { retryScale: 0.001 });
    const acct = await fast.account();
    const flaky = await startReceiver();
    try {
      flaky.reply({ status: 500 });
      flaky.reply({ status: 503, headers: { 'retry-after': '1' } });
      await fast.api(acct.api_key, 'POST', '/webhook', { webhook: flaky.url('/flaky'),
        webhook_converted: '0', webhook_copied_pipe_s3: '0' });
      await uploadFile(fast.url, { accountHash: acct.account_hash,
        eid: acct.environment.env_code }, { name: 'a.webm', data: await readFile(CHROMIUM_WEBM) });
      const third = await flaky.waitFor(3, 20_000);
      // The second failure asked for one second through Retry-After, and got it.
      const gap = third.receivedAt - (flaky.requests[1]?.receivedAt ?? 0);
      expect(gap).toBeGreaterThanOrEqual(900);
      const ids = flaky.requests.map((r) => r.headers['webhook-id']);
      expect(new Set(ids).size).toBe(1);
      expect(third.headers['x-pipe-signature']).toBe(flaky.requests[0]?.headers['x-pipe-signature']);
      const id = await eventually(async () => {
        const row = await fast.server.ctx.db.kysely.selectFrom('webhook_deliveries').selectAll()
          .where('account_id', '=', acct.id).executeTakeFirst();
        return row?.status === 'delivered' ? row : undefined;
      }, 10_000, 'delivery marked delivered');
      expect(id.attempts).toBe(3);
    } finally {
      await flaky.close();
      await fast.close();
    }
  }, 60_000);

  it('refuses to deliver to a loopback receiver the operator did not allow', async () => {
    const guarded = await startTestServer(dialect, { env: { STANDPIPE_OUTBOUND_ALLOW: '' } });
    const target = await startReceiver();
    try {
      const acct = await guarded.account();
      const saved = await guarded.api(acct.api_key, 'POST', '/webhook',
        { webhook: target.url('/x') });
      expect(saved.status).toBe(400);
      expect(String(saved.json.message)).toMatch(/STANDPIPE_OUTBOUND_ALLOW/);
      // A webhook saved while the operator still allowed the address is refused at send time.
      await insertWebhook(guarded.server.ctx.db.kysely, {
        account_id: acct.id, env_id: 1, webhook: target.url('/x'), webhook_recorded: 1,
        webhook_transcoded: 0, webhook_converted: 1, webhook_copied_pipe_s3: 1,
        webhook_copied_s3: 0, webhook_copied_ftp: 0, webhook_copied_dbox: 0, active: 1,
        format: 'json', secret_enc: guarded.server.ctx.secrets.seal('whsec_c2VjcmV0'),
        previous_secret_enc: null, previous_secret_until: null, created_at: Date.now(),
      });
      await uploadFile(guarded.url, { accountHash: acct.account_hash,
        eid: acct.environment.env_code }, { name: 'a.webm', data: await readFile(CHROMIUM_WEBM) });
      const row = await eventually(async () => {
        const r = await guarded.server.ctx.db.kysely.selectFrom('webhook_deliveries')
          .selectAll().where('account_id', '=', acct.id).executeTakeFirst();
        return r !== undefined && r.attempts > 0 ? r : undefined;
      }, 15_000, 'a delivery attempt');
      expect(row.status).not.toBe('delivered');
      expect(String(row.last_error)).toMatch(/127\.0\.0\.1|blocked|not allowed/i);
      expect(target.connections).toBe(0);
    } finally {
      await target.close();
      await guarded.close();
    }
  });
});

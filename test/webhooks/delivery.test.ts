import { createHmac } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { insertRecording } from '../../src/repositories/recordings.js';
import { findAccountById } from '../../src/repositories/accounts.js';
import { emitEvent } from '../../src/services/events.js';
import { DIALECTS, eventually, startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';

type Row = Record<string, string | null>;

const pipeSig = (key: string, url: string, json: string) =>
  createHmac('sha1', key).update(url + json).digest('base64');

const standardSig = (secret: string, id: string, ts: string, body: string) => {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
};

describe.each(DIALECTS)('webhook delivery, log and keys (%s)', (dialect) => {
  let t: TestServer;
  let rx: Receiver;

  beforeAll(async () => {
    t = await startTestServer(dialect, {
      env: { STANDPIPE_WEBHOOK_TIMEOUT_MS: '1000', STANDPIPE_WEBHOOK_CONCURRENCY: '8' },
      retryScale: 0.00005,
    });
    rx = await startReceiver();
  });

  afterAll(async () => {
    await rx.close();
    await t.close();
  });

  async function hook(key: string, url: string, extra: Record<string, string> = {}) {
    const res = await t.api(key, 'POST', '/webhook', { webhook: url, ...extra });
    expect(res.status, res.text).toBe(201);
    return (res.json.webhook_details as Row[])[0] ?? {};
  }

  /** Emits `video_recorded` for a recording row made directly, without any media. */
  async function emit(accountId: number, n = 1) {
    const ctx = t.server.ctx;
    const account = await findAccountById(ctx.db.kysely, accountId);
    if (account === undefined) throw new Error('no account');
    await ctx.db.kysely.transaction().execute(async (trx) => {
      for (let i = 0; i < n; i += 1) {
        const rec = await insertRecording(trx, {
          account_id: accountId, env_id: 1, name: `vs${Date.now()}_${Math.random()}`.slice(0, 30),
          status: 'recorded', original_ext: 'webm', original_container: 'webm',
          created_at: ctx.clock(), ipv4: '', ua: '', http_referer: '', camera_name: '',
          microphone_name: '', payload: `p${i}`, mrt: null, source: 'DESK', original_size: 1,
          region: 'local',
        });
        await emitEvent(ctx, trx, 'video_recorded', rec, account);
      }
    });
    ctx.queue.notify();
  }

  async function log(key: string, webhookId: string) {
    const res = await t.api(key, 'GET', `/webhook/${webhookId}/deliveries`);
    expect(res.status, res.text).toBe(200);
    return res.json.deliveries as Row[];
  }

  it('logs each attempt and redelivers with the same message id', async () => {
    const acct = await t.account();
    const h = await hook(acct.api_key, rx.url('/log'));
    rx.reply({ status: 500, body: 'boom' });
    const before = rx.requests.length;
    await emit(acct.id);
    await rx.waitFor(before + 2, 20_000);
    const rows = await eventually(async () => {
      const r = await log(acct.api_key, h.id ?? '');
      return r[0]?.status === 'delivered' ? r : undefined;
    }, 10_000, 'delivered');
    expect(rows[0]).toMatchObject({ event: 'video_recorded', attempts: '2', http_status: '200',
      error: null, next_attempt: null });
    expect(Number(rows[0]?.duration_ms)).toBeGreaterThanOrEqual(0);

    const again = await t.api(acct.api_key, 'POST',
      `/webhook/${h.id ?? ''}/deliveries/${rows[0]?.id ?? ''}/redeliver`);
    expect(again.status, again.text).toBe(202);
    const third = await rx.waitFor(before + 3, 10_000);
    expect(third.headers['webhook-id']).toBe(rows[0]?.message_id);
    expect(third.body).toBe(rx.requests[before]?.body);

    const other = await t.account();
    const stranger = await t.api(other.api_key, 'GET', `/webhook/${h.id ?? ''}/deliveries`);
    expect(stranger.status).toBe(404);
  });

  it('sends a test event and answers with what the receiver said', async () => {
    const acct = await t.account();
    const h = await hook(acct.api_key, rx.url('/test-event'), { format: 'form' });
    rx.reply({ status: 418 });
    const res = await t.api(acct.api_key, 'POST', `/webhook/${h.id ?? ''}/test`,
      { event: 'video_converted' });
    expect(res.status, res.text).toBe(200);
    const row = (res.json.deliveries as Row[])[0];
    expect(row).toMatchObject({ status: 'failed', http_status: '418', event: 'video_converted' });
    const got = rx.requests[rx.requests.length - 1];
    expect(got?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect((got?.json as { event: string }).event).toBe('video_converted');
    const bad = await t.api(acct.api_key, 'POST', `/webhook/${h.id ?? ''}/test`, { event: 'x' });
    expect(bad.status).toBe(400);
  });

  it('switches a webhook off when the receiver answers 410', async () => {
    const acct = await t.account();
    const h = await hook(acct.api_key, rx.url('/gone'));
    rx.reply({ status: 410 });
    const before = rx.requests.length;
    await emit(acct.id);
    await rx.waitFor(before + 1, 10_000);
    const listed = await eventually(async () => {
      const res = await t.api(acct.api_key, 'GET', '/webhook');
      const mine = (res.json.webhook_details as Row[]).find((w) => w.id === h.id);
      return mine?.active === '0' ? mine : undefined;
    }, 10_000, 'webhook switched off');
    expect(listed.active).toBe('0');
    const rows = await log(acct.api_key, h.id ?? '');
    expect(rows[0]).toMatchObject({ status: 'failed', http_status: '410' });
  });

  it('does not follow a redirect, and gives up on a receiver that hangs', async () => {
    const acct = await t.account();
    const target = await startReceiver();
    try {
      const moved = await hook(acct.api_key, rx.url('/moved'));
      rx.setDefault((req) => (req.path === '/moved'
        ? { redirectTo: target.url('/elsewhere') }
        : req.path === '/hang' ? { hang: true } : { status: 200 }));
      const hanging = await hook(acct.api_key, rx.url('/hang'));
      await emit(acct.id);
      const rowsMoved = await eventually(async () => {
        const r = await log(acct.api_key, moved.id ?? '');
        return r[0]?.status === 'failed' ? r : undefined;
      }, 30_000, 'redirected delivery to give up');
      expect(rowsMoved[0]?.error).toMatch(/redirect/i);
      expect(target.connections).toBe(0);
      const rowsHang = await eventually(async () => {
        const r = await log(acct.api_key, hanging.id ?? '');
        return r[0]?.status === 'failed' ? r : undefined;
      }, 40_000, 'hanging delivery to give up');
      expect(rowsHang[0]?.error).toMatch(/timed out/i);
      expect(rowsHang[0]?.attempts).toBe('8');
    } finally {
      rx.setDefault({ status: 200 });
      await target.close();
    }
  }, 60_000);

  it('a dead receiver holds no other receiver back', async () => {
    const acct = await t.account();
    const dead = await startReceiver();
    const alive = await startReceiver();
    try {
      dead.setDefault({ hang: true });
      await hook(acct.api_key, dead.url('/dead'));
      await hook(acct.api_key, alive.url('/alive'));
      await emit(acct.id, 20);
      // Twenty events for each; the live receiver gets all of its twenty while the dead
      // one still holds connections open.
      await alive.waitFor(20, 15_000);
      expect(alive.requests).toHaveLength(20);
      expect(dead.connections).toBeLessThanOrEqual(20);
    } finally {
      dead.setDefault({ status: 200 });
      await dead.close();
      await alive.close();
    }
  }, 30_000);

  it('keeps the previous key and secret signing through a rotation', async () => {
    const acct = await t.account();
    const h = await hook(acct.api_key, rx.url('/rotate'));
    const oldSecret = h.webhook_secret ?? '';
    const key = await t.api(acct.api_key, 'POST', '/account/webhook-key', { grace_seconds: 3600 });
    expect(key.status, key.text).toBe(200);
    const newKey = (key.json.account_details as Row[])[0]?.webhook_key ?? '';
    const sec = await t.api(acct.api_key, 'POST', `/webhook/${h.id ?? ''}/secret`,
      { grace_seconds: '3600' });
    const newSecret = (sec.json.webhook_details as Row[])[0]?.webhook_secret ?? '';
    expect(newSecret).not.toBe(oldSecret);

    const before = rx.requests.length;
    await emit(acct.id);
    const req = await rx.waitFor(before + 1, 10_000);
    const url = rx.url('/rotate');
    expect(req.headers['x-pipe-signature']).toBe(pipeSig(newKey, url, req.body));
    expect(req.headers['x-pipe-signature-previous'])
      .toBe(pipeSig(acct.webhook_key, url, req.body));
    const id = String(req.headers['webhook-id']);
    const ts = String(req.headers['webhook-timestamp']);
    expect(String(req.headers['webhook-signature']).split(' ')).toEqual([
      standardSig(newSecret, id, ts, req.body), standardSig(oldSecret, id, ts, req.body)]);

    // Without a grace period the old key stops at once.
    await t.api(acct.api_key, 'POST', '/account/webhook-key');
    await emit(acct.id);
    const next = await rx.waitFor(before + 2, 10_000);
    expect(next.headers['x-pipe-signature-previous']).toBeUndefined();
    const bad = await t.api(acct.api_key, 'POST', '/account/webhook-key', { grace_seconds: -1 });
    expect(bad.status).toBe(400);
  });
});

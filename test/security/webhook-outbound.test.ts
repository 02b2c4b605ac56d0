/**
 * Webhooks as a way into the server's own network. With nothing allowed, no spelling of a
 * loopback address reaches a receiver on this machine; redirects are never followed; and a
 * receiver that answers with too much, or never stops, costs the server nothing.
 *
 * Only loopback receivers are used. Every URL below would land on this machine if the guard
 * let it through (0.0.0.0 and :: connect to the local host), and only names from /etc/hosts
 * are used, so no lookup leaves the machine either.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { assertHostAllowed, isBlockedAddress, parseAllowList } from '../../src/lib/outbound.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import { sendWebhook } from '../../src/webhooks/sender.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { loopbackDeliveryEnv, sleep, startSink, tableRows } from './support.js';
import type { Sink } from './support.js';

interface DeliveryRow {
  webhook_id: number;
  attempts: number;
  status: string;
  last_error: string | null;
  last_status_code: number | null;
}

async function deliveries(srv: TestServer): Promise<DeliveryRow[]> {
  return (await tableRows(srv, 'webhook_deliveries')).map((r) => ({
    webhook_id: Number(r.webhook_id),
    attempts: Number(r.attempts),
    status: String(r.status),
    last_error: typeof r.last_error === 'string' ? r.last_error : null,
    last_status_code: r.last_status_code === null ? null : Number(r.last_status_code),
  }));
}

async function addHook(srv: TestServer, acct: NewAccountResult, url: string): Promise<number> {
  const id = await addHookUnlessRefused(srv, acct, url);
  expect(id, url).not.toBeNull();
  return id ?? 0;
}

/** The webhook's id, or null when it was refused on save for naming a blocked host. */
async function addHookUnlessRefused(srv: TestServer, acct: NewAccountResult,
  url: string): Promise<number | null> {
  const res = await srv.api(acct.api_key, 'POST', '/webhook',
    { webhook: url, webhook_recorded: '1', webhook_converted: '0',
      webhook_copied_pipe_s3: '0' });
  if (res.status === 400) {
    expect(String(res.json.message), url).toMatch(/STANDPIPE_OUTBOUND_ALLOW/);
    return null;
  }
  expect(res.status, `${url}: ${res.text}`).toBe(201);
  return Number((res.json.webhook_details as { id: string }[])[0]?.id);
}

/** Uploads some bytes: the recording's video_recorded event goes to every hook of the env. */
async function triggerRecorded(srv: TestServer, acct: NewAccountResult): Promise<void> {
  const res = await uploadFile(srv.url,
    { accountHash: acct.account_hash, eid: acct.environment.env_code },
    { name: 'x.webm', data: Buffer.alloc(2048, 1) });
  expect(res.status, res.text).toBe(201);
}

async function attempted(srv: TestServer, hookIds: number[], what: string) {
  return eventually(async () => {
    const rows = (await deliveries(srv)).filter((d) => hookIds.includes(d.webhook_id));
    return rows.length === hookIds.length && rows.every((d) => d.attempts >= 1)
      ? rows : undefined;
  }, 20_000, what);
}

describe.each(DIALECTS)('webhooks with nothing allowed (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;
  let v4: Receiver;
  let v6: Receiver;

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: true, retryScale: 0.001,
      env: { STANDPIPE_OUTBOUND_ALLOW: '', STANDPIPE_MEDIA_CONCURRENCY: '1' } });
    acct = await srv.account();
    v4 = await startReceiver({ host: '127.0.0.1' });
    v6 = await startReceiver({ host: '::1' });
  });
  afterAll(async () => {
    await v4?.close();
    await v6?.close();
    await srv?.close();
  });

  it('reaches no receiver on this machine through any form of a loopback address', async () => {
    const p = v4.port;
    const q = v6.port;
    const urls = [
      `http://127.0.0.1:${p}/hook`, `http://127.1:${p}/`, `http://127.0.1:${p}/`,
      `http://2130706433:${p}/`, `http://0x7f000001:${p}/`, `http://0x7f.0.0.1:${p}/`,
      `http://0177.0.0.1:${p}/`, `http://127.0.0.1.:${p}/`, `http://0.0.0.0:${p}/`,
      `http://0:${p}/`, `http://[::ffff:127.0.0.1]:${p}/`, `http://[::ffff:7f00:1]:${p}/`,
      `http://[0:0:0:0:0:ffff:127.0.0.1]:${p}/`, `http://[::ffff:0.0.0.0]:${p}/`,
      `http://localhost:${p}/`, `http://LocalHost:${p}/`, `http://runsc:${p}/`,
      `http://vm:${p}/`, `https://127.0.0.1:${p}/`, `https://localhost:${p}/`,
      `http://%31%32%37.0.0.1:${p}/`, `http://127.0.0.1:${p}#@example.org/`,
      `http://[::1]:${q}/`, `http://[::]:${q}/`, `http://[0:0:0:0:0:0:0:1]:${q}/`,
      `http://[0000::1]:${q}/`, `https://[::1]:${q}/`,
    ];
    // Hosts written as addresses are refused when saved; names, when a send resolves them.
    const ids: number[] = [];
    const saved: string[] = [];
    for (const url of urls) {
      const id = await addHookUnlessRefused(srv, acct, url);
      if (id !== null) {
        ids.push(id);
        saved.push(url);
      }
    }
    await triggerRecorded(srv, acct);

    const rows = ids.length === 0 ? [] : await attempted(srv, ids, 'a first attempt at every hook');
    // Let retries come round too: they must not get through either.
    await sleep(1000);
    expect(v4.connections).toBe(0);
    expect(v6.connections).toBe(0);
    for (const row of rows) {
      const url = saved[ids.indexOf(row.webhook_id)];
      expect(row.status, url).not.toBe('delivered');
      expect(row.last_status_code, url).toBeNull();
      expect(row.last_error ?? '', url).toMatch(/refus|not allowed/i);
    }
  }, 40_000);
});

describe.each(DIALECTS)('storage deliveries with nothing allowed (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;
  let sink4: Sink;
  let sink6: Sink;

  beforeAll(async () => {
    sink4 = await startSink('127.0.0.1');
    sink6 = await startSink('::1');
    srv = await startTestServer(dialect, { retryScale: 0.001,
      env: { ...loopbackDeliveryEnv(sink4.port), STANDPIPE_OUTBOUND_ALLOW: '' } });
    acct = await srv.account();
  });
  afterAll(async () => {
    await srv?.close();
    await sink4?.close();
    await sink6?.close();
  });

  it('connects to no FTP or SFTP host on this machine, however it is written', async () => {
    const sets = [
      { ftp_host: '127.0.0.1', ftp_port: sink4.port, sftp_host: 'localhost',
        sftp_port: sink4.port },
      { ftp_host: '0.0.0.0', ftp_port: sink4.port, sftp_host: '[::1]', sftp_port: sink6.port },
      { ftp_host: '[::ffff:127.0.0.1]', ftp_port: sink4.port, sftp_host: 'runsc',
        sftp_port: sink4.port },
    ];
    for (const set of sets) {
      const res = await srv.api(acct.api_key, 'POST', '/ftp',
        { ...set, ftp_username: 'u', ftp_password: 'p', sftp_username: 'u',
          sftp_password: 'p' });
      expect(res.status, res.text).toBe(201);
    }
    const up = await uploadFile(srv.url,
      { accountHash: acct.account_hash, eid: acct.environment.env_code },
      { name: 'clip.webm', data: await readFile(CHROMIUM_WEBM) });
    expect(up.status, up.text).toBe(201);

    const rows = await eventually(async () => {
      const all = await srv.server.ctx.db.kysely.selectFrom('recording_deliveries')
        .selectAll().execute() as unknown as Record<string, unknown>[];
      return all.length === sets.length * 2 &&
        all.every((r) => Number(r.attempts) >= 1 || r.status === 'failed') ? all : undefined;
    }, 60_000, 'an attempt at every storage delivery');
    await sleep(500);
    expect(sink4.connections).toBe(0);
    expect(sink6.connections).toBe(0);
    for (const row of rows) {
      expect(row.status, String(row.target)).not.toBe('delivered');
      expect(String(row.last_error), String(row.target)).toMatch(/loopback|not allowed/i);
    }
  }, 90_000);
});

describe('the outbound guard on private and metadata addresses, without connecting', () => {
  const none = parseAllowList('');
  const loopbackOnly = parseAllowList('127.0.0.1,::1');

  it('refuses every spelling of them as a URL host', () => {
    const urls = ['http://169.254.169.254/latest/meta-data/', 'http://0xa9fea9fe/',
      'http://2852039166/', 'http://169.254.43518/', 'http://0251.0376.0251.0376/',
      'http://[::ffff:169.254.169.254]/', 'http://[::ffff:a9fe:a9fe]/',
      'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://10.0.0.1/',
      'http://172.16.0.1/', 'http://192.168.1.1/', 'http://[fe80::1]/', 'http://[fc00::1]/',
      'http://[64:ff9b::a9fe:a9fe]/', 'http://[2002:a9fe:a9fe::]/', 'http://100.64.0.1/',
      'http://255.255.255.255/', 'http://224.0.0.1/', 'http://[ff02::1]/'];
    for (const url of urls) {
      const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
      expect(() => assertHostAllowed(host, none), url).toThrow(/not allowed/);
      expect(() => assertHostAllowed(host, loopbackOnly), url).toThrow(/not allowed/);
      expect(isBlockedAddress(host, loopbackOnly), url).toBe(true);
    }
  });

  it('refuses them in sendWebhook before any socket is opened', async () => {
    for (const url of ['http://169.254.169.254/x', 'http://0xa9fea9fe/x',
      'http://[::ffff:169.254.169.254]/x', 'http://10.1.2.3:8080/x']) {
      const result = await sendWebhook({ url, jsonText: '{}', format: 'json', headers: {},
        timeoutMs: 1000, allow: loopbackOnly,
        // A lookup would mean a name was resolved: there must be none for a literal.
        resolver: () => {
          throw new Error(`unexpected lookup for ${url}`);
        } });
      expect(result.ok, url).toBe(false);
      expect(result.status, url).toBeNull();
      expect(result.error ?? '', url).toMatch(/not allowed/);
      // Refused before any connection: a connect, even a failing one, takes longer.
      expect(result.durationMs, url).toBeLessThan(50);
    }
  });

  it('refuses a name whose answers mix a public and a metadata address', async () => {
    let looked = 0;
    const result = await sendWebhook({ url: 'http://mixed.invalid/x', jsonText: '{}',
      format: 'json', headers: {}, timeoutMs: 1000, allow: none,
      resolver: (_host, _opts, cb) => {
        looked += 1;
        cb(null, [{ address: '192.0.2.80', family: 4 },
          { address: '169.254.169.254', family: 4 }]);
      } });
    expect(looked).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
    expect(result.status).toBeNull();
    expect(result.error ?? '').toMatch(/not allowed/);
  });
});

describe.each(DIALECTS)('webhook receivers that misbehave (%s)', (dialect) => {
  let srv: TestServer;

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: true, retryScale: 0.001,
      env: { STANDPIPE_OUTBOUND_ALLOW: '127.0.0.1', STANDPIPE_WEBHOOK_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('follows no redirect, to loopback or anywhere', async () => {
    const acct = await srv.account();
    const first = await startReceiver();
    const second = await startReceiver();
    const v6 = await startReceiver({ host: '::1' });
    try {
      const targets = [second.url('/next'), `http://[::1]:${v6.port}/next`,
        `http://localhost:${second.port}/`, `http://0.0.0.0:${second.port}/`];
      let n = 0;
      first.setDefault(() => {
        const target = targets[n % targets.length] ?? '';
        n += 1;
        return { redirectTo: target, status: [301, 302, 303, 307, 308][n % 5] ?? 302 };
      });
      const ids = [await addHook(srv, acct, first.url('/a')),
        await addHook(srv, acct, first.url('/b')), await addHook(srv, acct, first.url('/c')),
        await addHook(srv, acct, first.url('/d'))];
      await triggerRecorded(srv, acct);
      const rows = await attempted(srv, ids, 'the redirected deliveries');
      await sleep(500);
      expect(first.requests.length).toBeGreaterThanOrEqual(4);
      expect(second.connections).toBe(0);
      expect(v6.connections).toBe(0);
      for (const row of rows) {
        expect(row.status).not.toBe('delivered');
        expect(row.last_error ?? '').toMatch(/redirect.*not followed/);
      }
    } finally {
      await first.close();
      await second.close();
      await v6.close();
    }
  }, 30_000);

  it('reads little of a huge answer and stops an endless one, staying responsive', async () => {
    const acct = await srv.account();
    let endlessBytes = 0;
    let endlessClosed = false;
    const endless: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const timer = setInterval(() => {
        if (!res.destroyed) {
          res.write(chunk);
          endlessBytes += chunk.length;
        }
      }, 5);
      res.on('close', () => {
        endlessClosed = true;
        clearInterval(timer);
      });
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    const endlessPort = (endless.address() as AddressInfo).port;
    const huge = await startReceiver();
    huge.setDefault({ status: 200, body: 'z'.repeat(8 * 1024 * 1024) });
    const stalled = await startReceiver();
    stalled.setDefault({ status: 200, hangBody: true, body: 'partial' });
    const silent = await startReceiver();
    silent.setDefault({ hang: true });
    try {
      const ids = [
        await addHook(srv, acct, `http://127.0.0.1:${endlessPort}/`),
        await addHook(srv, acct, huge.url('/')),
        await addHook(srv, acct, stalled.url('/')),
        await addHook(srv, acct, silent.url('/')),
      ];
      const started = Date.now();
      await triggerRecorded(srv, acct);
      // While the slow receivers hold their deliveries, the API answers at once.
      for (let i = 0; i < 5; i += 1) {
        const t = Date.now();
        expect((await srv.api(acct.api_key, 'GET', '/account')).status).toBe(200);
        expect(Date.now() - t).toBeLessThan(500);
        await sleep(100);
      }
      const rows = await attempted(srv, ids, 'an attempt at every misbehaving receiver');
      expect(Date.now() - started).toBeLessThan(10_000);
      const byId = new Map(rows.map((r) => [r.webhook_id, r]));
      // A 2xx status line is an answer: the body does not matter, however big or endless.
      expect(byId.get(ids[0] ?? 0)?.status).toBe('delivered');
      expect(byId.get(ids[1] ?? 0)?.status).toBe('delivered');
      expect(byId.get(ids[2] ?? 0)?.status).toBe('delivered');
      // No answer at all is a failure, after the time-out, to be tried again later.
      expect(byId.get(ids[3] ?? 0)?.status).not.toBe('delivered');
      expect(byId.get(ids[3] ?? 0)?.last_error ?? '').toMatch(/timed out/);

      await eventually(async () => (endlessClosed ? true : undefined), 5000,
        'the endless answer to be cut off');
      const sentAtClose = endlessBytes;
      await sleep(300);
      expect(endlessBytes - sentAtClose).toBe(0);
      // Well under what a second of streaming would have pushed through.
      expect(sentAtClose).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await new Promise<void>((resolve) => {
        endless.close(() => resolve());
        endless.closeAllConnections();
      });
      await huge.close();
      await stalled.close();
      await silent.close();
    }
  }, 40_000);

  // The stored URL text is what X-Pipe-Signature covers and what the customer sees, but a
  // backslash is read as "/" by the URL parser: validateWebhookUrl (src/lib/outbound.ts)
  // takes "http://host\@other/" and the request goes to host, path "/@other/", not to the
  // URL as written (which other parsers read as user "host\" at "other").
  it('takes no webhook URL whose text differs from where the request goes', async () => {
    const acct = await srv.account();
    const receiver = await startReceiver();
    try {
      const url = `http://127.0.0.1:${receiver.port}\\@localhost/`;
      const res = await srv.api(acct.api_key, 'POST', '/webhook', { webhook: url });
      if (res.status === 201) {
        await triggerRecorded(srv, acct);
        const req = await receiver.waitFor(1, 10_000);
        expect(`http://127.0.0.1:${receiver.port}${req.path}`).toBe(url);
      }
      expect(res.status, res.text).toBe(400);
    } finally {
      await receiver.close();
    }
  }, 20_000);
});

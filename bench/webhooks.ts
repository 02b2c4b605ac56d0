/**
 * Sends 10,000 webhook events through the job queue to a local receiver and prints events
 * per second and the p50/p99 time from event to delivery; then again with a receiver that
 * never answers beside the healthy ones, whose p99 must stay under one second.
 *
 *   npx tsx bench/webhooks.ts [events]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { findAccountById } from '../src/repositories/accounts.js';
import { insertRecording } from '../src/repositories/recordings.js';
import { emitEvent } from '../src/services/events.js';
import { startTestServer } from '../test/helpers/harness.js';
import type { TestServer } from '../test/helpers/harness.js';
import { report, verdict } from './report.js';
import type { BenchRow } from './report.js';

const EVENTS = Number(process.argv[2] ?? 10_000);
const STEADY_RATE = Number(process.argv[3] ?? 100);

interface Sink {
  url: string;
  latencies: number[];
  close(): Promise<void>;
}

/** A receiver that answers 200 at once and notes how long each event took to arrive. */
async function sink(hang = false): Promise<Sink> {
  const latencies: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (hang) return;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        data: { payload: string } };
      latencies.push(Date.now() - Number(body.data.payload));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    latencies,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Emits `count` events, `perSecond` a second (as fast as possible when 0); each carries its
 * emit time as its payload.
 */
async function emitEvents(t: TestServer, accountId: number, count: number,
  perSecond: number): Promise<void> {
  const ctx = t.server.ctx;
  const account = await findAccountById(ctx.db.kysely, accountId);
  if (account === undefined) throw new Error('account missing');
  const batch = 50;
  for (let done = 0; done < count; done += batch) {
    await ctx.db.kysely.transaction().execute(async (trx) => {
      for (let i = 0; i < batch && done + i < count; i += 1) {
        const rec = await insertRecording(trx, {
          account_id: accountId, env_id: 1, name: `vs${done + i}_${accountId}_${Date.now()}`,
          status: 'recorded', original_ext: 'webm', original_container: 'webm',
          created_at: Date.now(), ipv4: '', ua: '', http_referer: '', camera_name: '',
          microphone_name: '', payload: String(Date.now()), mrt: null, source: 'DESK',
          original_size: 1, region: 'local',
        });
        await emitEvent(ctx, trx, 'video_recorded', rec, account);
      }
    });
    ctx.queue.notify();
    const pause = perSecond > 0 ? (batch / perSecond) * 1000 : 0;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

async function run(label: string, withDeadReceiver: boolean, perSecond: number,
  count: number): Promise<BenchRow> {
  const t = await startTestServer('sqlite', {
    env: { STANDPIPE_WEBHOOK_TIMEOUT_MS: '15000', STANDPIPE_JOB_POLL_MS: '200' },
  });
  const healthy = await sink();
  const dead = await sink(true);
  try {
    const acct = await t.account();
    await t.api(acct.api_key, 'POST', '/webhook', { webhook: healthy.url });
    if (withDeadReceiver) await t.api(acct.api_key, 'POST', '/webhook', { webhook: dead.url });
    const started = Date.now();
    await emitEvents(t, acct.id, count, perSecond);
    while (healthy.latencies.length < count) await new Promise((r) => setTimeout(r, 50));
    const seconds = (Date.now() - started) / 1000;
    const p99 = percentile(healthy.latencies, 99);
    return {
      what: `webhook events, ${count} ${perSecond > 0 ? `at ${perSecond}/s` : 'in a burst'}, ` +
        label,
      standpipe: `${(count / seconds).toFixed(0)} delivered/s; p50 ` +
        `${percentile(healthy.latencies, 50)} ms, p99 ${p99} ms`,
      reference: '-',
      ratio: '-',
      target: withDeadReceiver ? 'p99 < 1000 ms' : '-',
      verdict: withDeadReceiver ? verdict(p99 < 1000) : '-',
    };
  } finally {
    await healthy.close();
    await dead.close();
    await t.close();
  }
}

// The burst shows the most the queue delivers; the steady runs show the time from event
// to delivery at a load it keeps up with, with and without a receiver that never answers.
const rows = [
  await run('one healthy receiver', false, 0, EVENTS),
  await run('one healthy receiver', false, STEADY_RATE, EVENTS / 4),
  await run('beside a receiver that never answers', true, STEADY_RATE, EVENTS / 4),
];
await report(import.meta.url, 'webhook events through the job queue on SQLite; the time ' +
  'from event to delivery as the healthy receiver saw it', rows);

/**
 * API figures, each beside its reference in the same run:
 * - GET /video/:id requests per second against a bare Fastify route serving the same JSON;
 * - GET /video/all over 100,000 recordings against reading and serializing the same rows
 *   in-process, with the time to first byte and the server's peak RSS;
 * - `standpipe serve` start-up time on an existing data directory, and idle RSS.
 *
 *   npm run build && npx tsx bench/api.ts [recordings]
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import autocannon from 'autocannon';
import BetterSqlite3 from 'better-sqlite3';

import type { Account, Recording } from '../src/db/schema.js';
import { toPipeVideo } from '../src/services/recording-view.js';
import { ceilTo, percent, report, verdict } from './report.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./reference-server.mjs', import.meta.url));
const RECORDINGS = Number(process.argv[2] ?? 100_000);
const ROUNDS = 3;

function start(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function waitReady(url: string, timeoutMs = 20_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function rps(url: string, seconds: number): Promise<number> {
  const result = await autocannon({ url, connections: 50, duration: seconds, headers: {
    'x-pipe-auth': process.env.BENCH_KEY ?? '' } });
  return result.requests.average;
}

/**
 * Requests per second of each server: both warmed up first (the JIT, caches), then measured
 * in turns so that a load spike elsewhere on the machine falls on both; the median of each.
 */
async function rpsSideBySide(reference: string, standpipe: string): Promise<[number, number]> {
  await rps(reference, 2);
  await rps(standpipe, 2);
  const ref: number[] = [];
  const sp: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    ref.push(await rps(reference, 4));
    sp.push(await rps(standpipe, 4));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return [median(ref), median(sp)];
}

/** Time to first byte and to the last, reading and discarding the body. */
async function timeBody(url: string, key: string): Promise<{ firstMs: number; totalMs: number;
  bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let firstMs = 0;
    let bytes = 0;
    request(url, { headers: { 'x-pipe-auth': key } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstMs = performance.now() - t0;
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ firstMs, totalMs: performance.now() - t0, bytes }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

/** Copies one real recording row until the account holds `count` of them. */
function fillRecordings(dbFile: string, count: number): void {
  const db = new BetterSqlite3(dbFile);
  const row = db.prepare('select * from recordings order by id limit 1').get() as Record<
    string, unknown>;
  const columns = Object.keys(row).filter((c) => c !== 'id');
  const insert = db.prepare(`insert into recordings (${columns.join(',')}) values ` +
    `(${columns.map((c) => `@${c}`).join(',')})`);
  db.transaction(() => {
    for (let i = 1; i < count; i += 1) insert.run({ ...row, name: `${String(row.name)}_${i}` });
  })();
  db.close();
}

/** The reference for the list: the same rows read and serialized in this process. */
function referenceList(dbFile: string, account: Account): number {
  const t0 = performance.now();
  const db = new BetterSqlite3(dbFile, { readonly: true });
  const rows = db.prepare('select * from recordings where account_id = ? and deleted_at is null ' +
    'order by id').all(account.id) as Recording[];
  const view = { publicUrl: 'http://127.0.0.1', timeZone: 'UTC' };
  const text = JSON.stringify({ status: 'OK', videos: rows.map((r) => toPipeVideo(r, account,
    view)) });
  db.close();
  if (text.length === 0) throw new Error('empty');
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'standpipe-bench-api-'));
  const port = 18000 + Math.floor(Math.random() * 1000);
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, STANDPIPE_DATA_DIR: dir, STANDPIPE_PORT: String(port),
    STANDPIPE_LOG_LEVEL: 'warn', STANDPIPE_RATE_LIMIT_PER_MINUTE: '0' };
  const created = await run(process.execPath, [CLI, 'account', 'create', '--name', 'Bench',
    '--email', 'bench@example.com'], { env });
  const acct = JSON.parse(created.stdout) as { api_key: string; account_hash: string;
    env_code: string; id: number };
  process.env.BENCH_KEY = acct.api_key;

  let server = start([CLI, 'serve'], env);
  await waitReady(url);
  const clip = path.join(dir, 'clip.webm');
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=d=2', '-f', 'lavfi', '-i',
    'sine=d=2', clip]);
  const ingested = await run(process.execPath, [CLI, 'ingest', clip, '--account-hash',
    acct.account_hash, '--env-code', acct.env_code, '--port', String(port)], { env });
  const id = ingested.stdout.trim();
  for (;;) {
    const res = await fetch(`${url}/video/${id}`, { headers: { 'x-pipe-auth': acct.api_key } });
    const body = (await res.json()) as { videos: { converted: string }[] };
    if (body.videos[0]?.converted === '1') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const one = await (await fetch(`${url}/video/${id}`,
    { headers: { 'x-pipe-auth': acct.api_key } })).text();

  const reference = start([REFERENCE], { ...process.env, BODY: one });
  const refUrl = await new Promise<string>((resolve) => {
    reference.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
  const [refRps, spRps] = await rpsSideBySide(`${refUrl}/video/${id}`, `${url}/video/${id}`);
  reference.kill();

  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  fillRecordings(path.join(dir, 'standpipe.db'), RECORDINGS);

  server = start([CLI, 'serve'], env);
  const readyMs = await waitReady(url);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = await rssMb(server.pid ?? 0, 'VmRSS');

  const db = new BetterSqlite3(path.join(dir, 'standpipe.db'), { readonly: true });
  const account = db.prepare('select * from accounts where id = ?').get(acct.id) as Account;
  db.close();
  const refListMs = referenceList(path.join(dir, 'standpipe.db'), account);
  const list = await timeBody(`${url}/video/all`, acct.api_key);
  const peakRss = await rssMb(server.pid ?? 0, 'VmHWM');
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(dir, { recursive: true, force: true });

  const mib = (list.bytes / 1048576).toFixed(0);
  const count = RECORDINGS.toLocaleString('en-US');
  await report(import.meta.url, `${count} recordings in one account; loopback; ` +
    `autocannon with 50 connections, both warmed up 2 s, then ${ROUNDS} turns of 4 s each, ` +
    'medians', [
    { what: 'GET /video/:id req/s', standpipe: spRps.toFixed(0),
      reference: `${refRps.toFixed(0)} (bare Fastify route, same JSON from memory)`,
      ratio: percent(spRps / refRps), target: '>= 60%', verdict: verdict(spRps >= refRps * 0.6) },
    { what: `GET /video/all, ${count} recordings, whole body ms`,
      standpipe: `${list.totalMs.toFixed(0)} (${mib} MiB)`,
      reference: `${refListMs.toFixed(0)} (same rows read and serialized in-process)`,
      ratio: `${ceilTo(list.totalMs / refListMs, 2)}x`, target: '<= 1.5x',
      verdict: verdict(list.totalMs <= refListMs * 1.5) },
    { what: 'GET /video/all first byte ms', standpipe: ceilTo(list.firstMs), reference: '-',
      ratio: '-', target: '< 200', verdict: verdict(list.firstMs < 200) },
    { what: 'serve peak RSS during GET /video/all, MB', standpipe: ceilTo(peakRss),
      reference: '-', ratio: '-', target: '< 250', verdict: verdict(peakRss < 250) },
    { what: 'serve ready on an existing data directory, ms', standpipe: ceilTo(readyMs),
      reference: '-', ratio: '-', target: '< 1000', verdict: verdict(readyMs < 1000) },
    { what: 'serve idle RSS, MB', standpipe: ceilTo(idleRss), reference: '-', ratio: '-',
      target: '< 120', verdict: verdict(idleRss < 120) },
  ]);
}

await main();

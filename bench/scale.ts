/**
 * Clips through separate processes: 50 short browser-like clips uploaded through two
 * `standpipe serve --no-worker` processes and converted by two `standpipe worker` processes
 * on PostgreSQL and an S3 bucket, beside the same clips through one `standpipe serve` on
 * SQLite and its data directory. Prints clips per minute and the p50/p99 time from the start
 * of an upload to its `video_converted` webhook, as the receiver saw it.
 *
 *   npm run build && npx tsx bench/scale.ts [clips]
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import pg from 'pg';
import S3rver from 's3rver';

import { locateMediaBinaries } from '../src/media/binaries.js';
import { PG_URL } from '../test/helpers/harness.js';
import { report } from './report.js';
import type { BenchRow } from './report.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const CLIPS = Number(process.argv[2] ?? 50);
/** Uploads in flight at once, as from that many browsers. */
const UPLOADS_IN_FLIGHT = 8;
/** s3rver takes this key pair and checks signatures made with it. */
const S3_KEY = 'S3RVER';

interface Setup {
  label: string;
  dialect: 'sqlite' | 'postgres';
  apis: number;
  workers: number;
  /** With no separate worker, the API processes run the jobs too. */
  store: 'local' | 's3';
  concurrency: number;
}

interface Receiver {
  url: string;
  converted: Map<number, number>;
  close(): Promise<void>;
}

interface Row {
  setup: Setup;
  clipsPerMinute: number;
  p50: number;
  p99: number;
  meanJob: number;
}

async function receiver(): Promise<Receiver> {
  const converted = new Map<number, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        event: string; data: { id: number } };
      if (body.event === 'video_converted') converted.set(Number(body.data.id), at);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    converted,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not become ready`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** The sum and count of conversion job durations in one process's /metrics. */
async function jobSeconds(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (what: string) => Number(new RegExp(`^standpipe_job_duration_seconds_${what}` +
    '\\{type="recording.process",outcome="done"\\} (\\S+)$', 'm').exec(text)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}

async function runSetup(setup: Setup, clip: Buffer, dir: string): Promise<Row> {
  const base = await mkdtemp(path.join(dir, `${setup.dialect}-`));
  const hook = await receiver();
  const children: { child: ChildProcess; exited: Promise<unknown> }[] = [];
  let schema: string | null = null;
  const s3 = setup.store === 's3' ? await startS3(path.join(base, 's3')) : null;
  try {
    let databaseUrl = path.join(base, 'standpipe.db');
    if (setup.dialect === 'postgres') {
      schema = `bench_${randomBytes(4).toString('hex')}`;
      await adminQuery(`create schema ${schema}`);
      databaseUrl = `${PG_URL}?schema=${schema}`;
    }
    const common: NodeJS.ProcessEnv = {
      ...process.env,
      // The AWS SDK's notice about future Node versions, once per process, is not news here.
      NODE_NO_WARNINGS: '1',
      STANDPIPE_DATABASE_URL: databaseUrl,
      STANDPIPE_SECRET_KEY: 'be'.repeat(32),
      STANDPIPE_OUTBOUND_ALLOW: '127.0.0.1',
      STANDPIPE_LOG_LEVEL: 'warn',
      STANDPIPE_MEDIA_CONCURRENCY: String(setup.concurrency),
      ...(s3 === null ? {} : {
        STANDPIPE_MEDIA_STORE: 's3', STANDPIPE_S3_ENDPOINT: s3.endpoint,
        STANDPIPE_S3_BUCKET: 'media', STANDPIPE_S3_ACCESS_KEY_ID: S3_KEY,
        STANDPIPE_S3_SECRET_ACCESS_KEY: S3_KEY,
      }),
    };
    // Each process has a data directory of its own, except that one SQLite file and one
    // local media folder can only be shared through a common one.
    const dataDir = async (name: string) => (setup.dialect === 'sqlite' ? base
      : mkdtemp(path.join(base, `${name}-`)));
    const start = async (args: string[], env: NodeJS.ProcessEnv) => {
      const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore',
        'inherit'] });
      children.push({ child, exited: new Promise((resolve) => child.once('exit', resolve)) });
    };

    const apiUrls: string[] = [];
    const probeUrls: string[] = [];
    for (let i = 0; i < setup.apis; i += 1) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      await start(setup.workers === 0 ? ['serve'] : ['serve', '--no-worker'], {
        ...common, STANDPIPE_DATA_DIR: await dataDir(`api${i}`), STANDPIPE_PORT: String(port),
        STANDPIPE_PUBLIC_URL: apiUrls[0] ?? url,
      });
      await waitReady(url);
      apiUrls.push(url);
    }
    for (let i = 0; i < setup.workers; i += 1) {
      const port = await freePort();
      await start(['worker'], { ...common, STANDPIPE_DATA_DIR: await dataDir(`worker${i}`),
        STANDPIPE_METRICS_PORT: String(port), STANDPIPE_PUBLIC_URL: apiUrls[0] ?? '' });
      probeUrls.push(`http://127.0.0.1:${port}`);
    }
    for (const url of probeUrls) await waitReady(url);
    if (setup.workers === 0) probeUrls.push(...apiUrls);

    const created = await run(process.execPath, [CLI, 'account', 'create', '--name', 'Bench',
      '--email', 'bench@example.com'], { env: { ...common, STANDPIPE_DATA_DIR: base } });
    const acct = JSON.parse(created.stdout) as { api_key: string; account_hash: string;
      env_code: string };
    const made = await fetch(`${apiUrls[0] ?? ''}/webhook`, { method: 'POST',
      headers: { 'x-pipe-auth': acct.api_key, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook: hook.url, webhook_recorded: '0',
        webhook_copied_pipe_s3: '0' }) });
    if (made.status !== 201) throw new Error(`webhook: ${made.status} ${await made.text()}`);

    const uploadedAt = new Map<number, number>();
    const started = Date.now();
    let next = 0;
    const uploader = async () => {
      while (next < CLIPS) {
        const n = next;
        next += 1;
        const form = new FormData();
        form.append('accountHash', acct.account_hash);
        form.append('eid', acct.env_code);
        form.append('FileInput', new Blob([new Uint8Array(clip)]), `clip${n}.webm`);
        const at = Date.now();
        const res = await fetch(`${apiUrls[n % apiUrls.length] ?? ''}/upload`,
          { method: 'POST', body: form });
        const body = (await res.json()) as { videos?: { id: string }[] };
        const id = Number(body.videos?.[0]?.id);
        if (res.status !== 201 || Number.isNaN(id)) throw new Error(`upload ${res.status}`);
        uploadedAt.set(id, at);
      }
    };
    await Promise.all(Array.from({ length: UPLOADS_IN_FLIGHT }, uploader));
    while (hook.converted.size < CLIPS) {
      if (Date.now() - started > 30 * 60_000) throw new Error('clips did not all convert');
      await new Promise((r) => setTimeout(r, 50));
    }

    const latencies = [...uploadedAt].map(([id, at]) => ((hook.converted.get(id) ?? NaN) - at));
    const finished = Math.max(...hook.converted.values());
    const jobs = await Promise.all(probeUrls.map(jobSeconds));
    const total = jobs.reduce((a, j) => ({ sum: a.sum + j.sum, count: a.count + j.count }),
      { sum: 0, count: 0 });
    return {
      setup,
      clipsPerMinute: (CLIPS / (finished - started)) * 60_000,
      p50: percentile(latencies, 50) / 1000,
      p99: percentile(latencies, 99) / 1000,
      meanJob: total.sum / total.count,
    };
  } finally {
    for (const { child } of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await hook.close();
    await s3?.close();
    if (schema !== null) await adminQuery(`drop schema if exists ${schema} cascade`);
    await rm(base, { recursive: true, force: true });
  }
}

/** An S3-compatible server on this machine, in this process, with the bucket `media`. */
async function startS3(directory: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory,
    configureBuckets: [{ name: 'media' }] });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const dir = await mkdtemp(path.join(tmpdir(), 'standpipe-bench-scale-'));
  const bins = locateMediaBinaries();
  try {
    // A browser-like recording: VP8 and Opus in WebM, so that every clip is re-encoded.
    const file = path.join(dir, 'clip.webm');
    await run(bins.ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i',
      'testsrc2=size=640x480:rate=30:duration=5', '-f', 'lavfi', '-i',
      'sine=frequency=440:duration=5', '-c:v', 'libvpx', '-deadline', 'realtime',
      '-cpu-used', '8', '-b:v', '800k', '-c:a', 'libopus', '-f', 'webm', file]);
    const clip = await readFile(file);

    const setups: Setup[] = [
      { label: 'one `serve`, SQLite, local store', dialect: 'sqlite', apis: 1, workers: 0,
        store: 'local', concurrency: 1 },
      { label: 'one `serve --concurrency 2`, SQLite, local store', dialect: 'sqlite', apis: 1,
        workers: 0, store: 'local', concurrency: 2 },
      { label: 'two `serve --no-worker` + two `worker`, PostgreSQL, S3 (s3rver)',
        dialect: 'postgres', apis: 2, workers: 2, store: 's3', concurrency: 1 },
    ];
    const rows: Row[] = [];
    for (const setup of setups) rows.push(await runSetup(setup, clip, dir));

    await report(import.meta.url, `${CLIPS} clips of 5 s (640x480 VP8/Opus WebM, ` +
      `${clip.length} bytes) uploaded ${UPLOADS_IN_FLIGHT} at a time; latency from the start ` +
      'of an upload to its video_converted webhook', rows.map((r): BenchRow => {
      const atOnce = (r.setup.workers === 0 ? r.setup.apis : r.setup.workers) *
        r.setup.concurrency;
      return {
        what: `${CLIPS} clips, ${r.setup.label}, ${atOnce} ` +
          `conversion${atOnce === 1 ? '' : 's'} at once`,
        standpipe: `${r.clipsPerMinute.toFixed(1)} clips/min; p50 ${r.p50.toFixed(1)} s, ` +
          `p99 ${r.p99.toFixed(1)} s; mean job ${r.meanJob.toFixed(2)} s`,
        reference: '-', ratio: '-', target: '-', verdict: '-',
      };
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

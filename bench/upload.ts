/**
 * Large uploads over loopback: multipart POST /upload and a tus upload (one PATCH streamed
 * from disk), each beside the same file sent to a bare Node server that writes the body to
 * disk. curl sends all three bodies, and each starts with no dirty pages left by the step
 * before it, so that the figures compare the servers; the three take turns, three times.
 * Prints the median throughputs and the highest peak RSS.
 *
 *   npm run build && npx tsx bench/upload.ts [MiB]
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { ceilTo, percent, report, verdict } from './report.js';
import type { BenchRow } from './report.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const SINK = fileURLToPath(new URL('./sink-server.mjs', import.meta.url));
const MIB = Number(process.argv[2] ?? 1024);
const ROUNDS = 3;

function started(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** A tus upload: creation, then the whole file in one PATCH streamed from disk. */
async function tusUpload(base: string, file: string, hash: string, code: string) {
  const size = (await stat(file)).size;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const created = await fetch(`${base}/tus`, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', 'upload-length': String(size),
      'upload-metadata': `accountHash ${b64(hash)},eid ${b64(code)},filename ${b64('big.bin')}` },
  });
  const location = created.headers.get('location');
  if (created.status !== 201 || location === null) {
    throw new Error(`tus creation answered ${created.status}`);
  }
  const url = new URL(location, base);
  const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}',
    '-X', 'PATCH', '-H', 'tus-resumable: 1.0.0', '-H', 'upload-offset: 0',
    '-H', 'content-type: application/offset+octet-stream', '-H', 'expect:', '-T', file,
    url.href]);
  if (stdout !== '204') throw new Error(`PATCH answered ${stdout}`);
}

/**
 * Writes back what earlier steps left in the page cache (the test file, the reference's
 * copy, the last upload), so that no measurement pays for another one's writeback.
 */
async function settle(): Promise<void> {
  await run('sync');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'standpipe-bench-upload-'));
  const file = path.join(dir, 'big.bin');
  await run('sh', ['-c', `head -c ${MIB}M /dev/urandom > ${file}`]);
  const port = 18900 + Math.floor(Math.random() * 50);
  const base = `http://127.0.0.1:${port}`;
  const env = { ...process.env, STANDPIPE_DATA_DIR: path.join(dir, 'data'),
    STANDPIPE_PORT: String(port), STANDPIPE_LOG_LEVEL: 'warn',
    STANDPIPE_RATE_LIMIT_PER_MINUTE: '0', STANDPIPE_MAX_UPLOAD_BYTES: String(4 * 1024 ** 3) };
  const created = await run(process.execPath, [CLI, 'account', 'create', '--name', 'Bench',
    '--email', 'bench@example.com'], { env });
  const acct = JSON.parse(created.stdout) as { account_hash: string; env_code: string };

  const measure = {
    // The reference: curl to a bare Node server that writes the body to disk.
    reference: async () => {
      const sink = spawn(process.execPath, [SINK], { env: { ...process.env,
        SINK_FILE: path.join(dir, 'sink.bin') }, stdio: ['ignore', 'pipe', 'inherit'] });
      const sinkUrl = await started(sink);
      await settle();
      const seconds = await timed(() => run('curl', ['-s', '-o', '/dev/null', '-T', file,
        sinkUrl]));
      const rss = await peakRssMb(sink.pid ?? 0);
      sink.kill();
      await rm(path.join(dir, 'sink.bin'), { force: true });
      return { seconds, rss };
    },
    // A fresh server for each upload, so that each peak RSS is its own; --no-worker keeps
    // the conversion of the (random, unreadable) bytes out of the figure.
    upload: async (kind: 'multipart' | 'tus') => {
      const server = spawn(process.execPath, [CLI, 'serve', '--no-worker'], { env,
        stdio: ['ignore', 'ignore', 'inherit'] });
      for (;;) {
        if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await settle();
      const seconds = kind === 'multipart'
        ? await timed(() => run('curl', ['-s', '-o', '/dev/null', '-F',
          `accountHash=${acct.account_hash}`, '-F', `eid=${acct.env_code}`, '-F',
          `FileInput=@${file}`, `${base}/upload`]))
        : await timed(() => tusUpload(base, file, acct.account_hash, acct.env_code));
      const rss = await peakRssMb(server.pid ?? 0);
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      return { seconds, rss };
    },
  };

  // The three are measured in turns, so that a load spike elsewhere on the machine falls on
  // all of them; each figure is the median of its turns, each RSS the highest.
  const turns: Record<'reference' | 'multipart' | 'tus', { seconds: number; rss: number }[]> =
    { reference: [], multipart: [], tus: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    turns.reference.push(await measure.reference());
    turns.multipart.push(await measure.upload('multipart'));
    turns.tus.push(await measure.upload('tus'));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const summary = (list: { seconds: number; rss: number }[]) => ({
    seconds: median(list.map((t) => t.seconds)), rss: Math.max(...list.map((t) => t.rss)) });
  const { seconds: ref, rss: refRss } = summary(turns.reference);
  const results = (['multipart', 'tus'] as const).map((name) => ({ name,
    ...summary(turns[name]) }));
  await rm(dir, { recursive: true, force: true });

  const mbps = (s: number) => MIB / s;
  const refMbps = mbps(ref);
  const setting = `${MIB} MiB of random bytes over loopback, each upload to a fresh ` +
    `\`standpipe serve --no-worker\`, median of ${ROUNDS} turns`;
  await report(import.meta.url, setting, results.flatMap((r): BenchRow[] => [
    { what: `${MIB} MiB ${r.name} upload, MiB/s`, standpipe: mbps(r.seconds).toFixed(0),
      reference: `${refMbps.toFixed(0)} (curl to a bare Node server writing to disk)`,
      ratio: percent(mbps(r.seconds) / refMbps), target: '>= 70%',
      verdict: verdict(mbps(r.seconds) >= refMbps * 0.7) },
    { what: `${MIB} MiB ${r.name} upload, server peak RSS MB`, standpipe: ceilTo(r.rss),
      reference: `${refRss.toFixed(0)} (the bare Node server's)`, ratio: '-', target: '< 200',
      verdict: verdict(r.rss < 200) },
  ]));
}

await main();

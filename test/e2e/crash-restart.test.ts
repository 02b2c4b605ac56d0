import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { locateMediaBinaries } from '../../src/media/binaries.js';
import {
  DIALECTS, PG_URL, createTestSchema, eventually, uploadFile,
} from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Children of a process, read from /proc, to find the ffmpeg a server started. */
async function childCommands(pid: number): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      out.push((await readFile(`/proc/${entry}/cmdline`, 'utf8')).replace(/\0/g, ' '));
    } catch {
      // The process ended while being read.
    }
  }
  return out;
}

describe.each(DIALECTS)('a server killed mid-conversion (%s)', (dialect) => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let receiver: Receiver;
  let baseUrl: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
    dataDir = await mkdtemp(path.join(tmpdir(), 'standpipe-crash-'));
    receiver = await startReceiver();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    let databaseUrl = path.join(dataDir, 'standpipe.db');
    if (dialect === 'postgres') {
      const schema = await createTestSchema('crash');
      databaseUrl = `${PG_URL}?schema=${schema}`;
    }
    env = {
      ...process.env,
      STANDPIPE_DATA_DIR: dataDir,
      STANDPIPE_PORT: String(port),
      STANDPIPE_DATABASE_URL: databaseUrl,
      STANDPIPE_OUTBOUND_ALLOW: '127.0.0.1',
      STANDPIPE_JOB_LEASE_MS: '1500',
      STANDPIPE_JOB_POLL_MS: '100',
      STANDPIPE_LOG_LEVEL: process.env.CRASH_LOG ?? "warn",
    };
  });

  afterAll(async () => {
    await receiver.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function serve(): ChildProcess {
    // A process group of its own, so that SIGKILL takes its ffmpeg down with it, as a
    // machine that loses power would.
    return spawn(process.execPath, [CLI, 'serve'], { env, detached: true,
      stdio: process.env.CRASH_LOG === undefined ? 'ignore' : 'inherit' });
  }

  async function ready(): Promise<void> {
    await eventually(async () => {
      const res = await fetch(`${baseUrl}/healthz`).catch(() => null);
      return res?.ok === true ? true : undefined;
    }, 20_000, 'server to start');
  }

  it('finishes every recording after a restart, with its webhooks', async () => {
    const created = await run(process.execPath, [CLI, 'account', 'create', '--name', 'Crash',
      '--email', 'crash@example.com'], { env });
    const acct = JSON.parse(created.stdout) as { api_key: string; account_hash: string;
      env_code: string };

    let server = serve();
    await ready();
    const hook = await fetch(`${baseUrl}/webhook`, {
      method: 'POST',
      headers: { 'x-pipe-auth': acct.api_key, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook: receiver.url('/crash') }),
    });
    expect(hook.status).toBe(201);

    // A clip long enough that its conversion is still running when the server dies.
    // MPEG-4 Part 2 is quick to make and must be re-encoded, so it converts slowly enough.
    const clip = path.join(dataDir, 'long.mkv');
    await run(locateMediaBinaries().ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i',
      'testsrc2=size=640x480:rate=30:d=15', '-f', 'lavfi', '-i', 'sine=d=15', '-c:v', 'mpeg4',
      '-q:v', '4', '-c:a', 'aac', clip]);
    const up = await uploadFile(baseUrl, { accountHash: acct.account_hash, eid: acct.env_code },
      { name: 'long.mkv', data: await readFile(clip) });
    expect(up.status).toBe(201);
    const id = (up.json.videos as { id: string }[])[0]?.id;

    await eventually(async () => {
      const kids = await childCommands(server.pid ?? -1);
      return kids.some((cmd) => cmd.includes('ffmpeg')) ? true : undefined;
    }, 20_000, 'ffmpeg to start');
    process.kill(-(server.pid ?? 0), 'SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));

    const before = await readVideo(acct.api_key, id).catch(() => null);
    expect(before).toBeNull();

    server = serve();
    try {
      await ready();
      const video = await eventually(async () => {
        const v = await readVideo(acct.api_key, id);
        return v.converted === '1' ? v : undefined;
      }, 120_000, 'conversion after restart');
      expect(Number(video.length)).toBeGreaterThan(14);
      expect(video.has_mp4).toBe('1');

      const events = await eventually(async () => {
        const names = receiver.requests.map((r) => (r.json as { event: string }).event);
        return names.includes('video_copied_pipe_s3') ? names : undefined;
      }, 30_000, 'webhooks after restart');
      expect(events).toContain('video_recorded');
      expect(events).toContain('video_converted');
      // Work left by the killed process is cleared when the next one starts.
      const work = await readdir(path.join(dataDir, 'work')).catch(() => []);
      expect(work).toEqual([]);
    } finally {
      process.kill(-(server.pid ?? 0), 'SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
  }, 240_000);

  async function readVideo(key: string, id: string | undefined) {
    const res = await fetch(`${baseUrl}/video/${id ?? ''}`, { headers: { 'x-pipe-auth': key } });
    const body = (await res.json()) as { videos: Record<string, string>[] };
    const video = body.videos[0];
    if (video === undefined) throw new Error('no video');
    return video;
  }
});

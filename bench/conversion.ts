/**
 * Upload-complete to `video_converted`, against the bare ffprobe and ffmpeg commands that
 * make the same outputs, measured side by side in one run on the same clips.
 *
 *   npx tsx bench/conversion.ts [rounds]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { locateMediaBinaries } from '../src/media/binaries.js';
import { startTestServer, uploadFile } from '../test/helpers/harness.js';
import { startReceiver } from '../test/helpers/receiver.js';
import { ceilTo, floorTo, report, verdict } from './report.js';

const run = promisify(execFile);
const bins = locateMediaBinaries();
const rounds = Number(process.argv[2] ?? 5);

async function ffmpeg(args: string[]): Promise<void> {
  await run(bins.ffmpeg, ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args]);
}

async function ffprobe(file: string): Promise<void> {
  await run(bins.ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format',
    '-show_streams', file]);
}

/** What an operator would run by hand: probe, encode, snapshot. */
async function bareEncode(input: string, out: string): Promise<void> {
  await ffprobe(input);
  await ffmpeg(['-i', input, '-map', '0:v:0', '-map', '0:a:0?',
    '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p', '-c:v', 'libx264',
    '-preset', 'veryfast', '-crf', '23', '-vsync', 'vfr', '-c:a', 'aac', '-b:a', '128k',
    '-movflags', '+faststart', `${out}.mp4`]);
  await ffmpeg(['-ss', '1', '-i', `${out}.mp4`, '-frames:v', '1', '-q:v', '3', `${out}.jpg`]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'standpipe-bench-'));
  const webm = path.join(dir, 'browser-10s-640x480.webm');
  const mp4 = path.join(dir, 'upright-10s-640x480.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30:duration=10', '-f', 'lavfi',
    '-i', 'sine=frequency=440:duration=10', '-c:v', 'libvpx', '-deadline', 'realtime',
    '-cpu-used', '8', '-b:v', '800k', '-c:a', 'libopus', '-f', 'webm', '-live', '1', webm]);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30:duration=10', '-f', 'lavfi',
    '-i', 'sine=frequency=440:duration=10', '-c:v', 'libx264', '-preset', 'veryfast',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', mp4]);

  const server = await startTestServer('sqlite');
  const receiver = await startReceiver();
  const acct = await server.account();
  await server.api(acct.api_key, 'POST', '/webhook', {
    webhook: receiver.url('/bench'), webhook_recorded: '0', webhook_converted: '1',
    webhook_copied_pipe_s3: '0',
  });

  const standpipe = async (file: string): Promise<number> => {
    const before = receiver.requests.length;
    const data = await readFile(file);
    const up = await uploadFile(server.url, { accountHash: acct.account_hash,
      eid: acct.environment.env_code }, { name: path.basename(file), data });
    if (up.status !== 201) throw new Error(`upload failed: ${up.text}`);
    const done = Date.now();
    const hook = await receiver.waitFor(before + 1, 120_000);
    return hook.receivedAt - done;
  };

  const results: Record<string, { ref: number[]; sp: number[] }> = {
    webm: { ref: [], sp: [] }, mp4: { ref: [], sp: [] },
  };
  for (let i = 0; i < rounds; i += 1) {
    for (const [kind, file] of [['webm', webm], ['mp4', mp4]] as const) {
      const t0 = performance.now();
      await bareEncode(file, path.join(dir, `ref-${kind}-${i}`));
      results[kind]?.ref.push(performance.now() - t0);
      results[kind]?.sp.push(await standpipe(file));
    }
  }

  const webmRef = median(results.webm?.ref ?? []);
  const webmSp = median(results.webm?.sp ?? []);
  const mp4Ref = median(results.mp4?.ref ?? []);
  const mp4Sp = median(results.mp4?.sp ?? []);
  const webmLimit = webmRef * 1.1 + 250;
  await report(import.meta.url, `median of ${rounds} rounds on the same clips; the ` +
    'reference probes, encodes and snapshots with bare ffprobe and ffmpeg commands', [
    { what: 'upload-complete to video_converted, 10 s 640x480 browser WebM, ms',
      standpipe: ceilTo(webmSp), reference: `${webmRef.toFixed(0)} (bare ffmpeg + ffprobe)`,
      ratio: `${(webmSp / webmRef).toFixed(2)}x`,
      target: `<= 1.10x + 250 ms (${webmLimit.toFixed(0)} ms)`,
      verdict: verdict(webmSp <= webmLimit) },
    { what: 'upload-complete to video_converted, 10 s 640x480 upright H.264/AAC MP4, ms',
      standpipe: mp4Sp.toFixed(0), reference: `${mp4Ref.toFixed(0)} (re-encoding it)`,
      ratio: `${floorTo(mp4Ref / mp4Sp, 2)}x faster`, target: '>= 5x faster',
      verdict: verdict(mp4Ref / mp4Sp >= 5) },
  ]);

  await receiver.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
}

await main();

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AppError } from '../../src/lib/errors.js';
import { lastMeaningfulLine, runProcess } from '../../src/media/process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'standpipe-process-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Running, as opposed to gone or a zombie waiting for init to reap it. */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && !/^\d+ \(.*\) Z/.test(stat);
}

describe('runProcess', () => {
  it('collects stdout and keeps only the end of stderr', async () => {
    const script = 'echo out; head -c 100000 /dev/zero | tr "\\0" x >&2; echo " the end" >&2; ' +
      'exit 3';
    const res = await runProcess('/bin/sh', ['-c', script], { timeoutMs: 5000,
      stderrTailBytes: 1000 });
    expect(res.exitCode).toBe(3);
    expect(res.stdout).toBe('out\n');
    expect(res.stderr.length).toBeLessThanOrEqual(1000);
    expect(res.stderr.endsWith('x the end\n')).toBe(true);
  });

  it('kills the process and what it started when time runs out', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    const started = Date.now();
    const err = await runProcess('/bin/sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`],
      { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('timeout');
    expect((err as AppError).message).toBe('sh did not finish within 300 ms');
    expect(Date.now() - started).toBeLessThan(3000);
    const sleeper = Number((await readFile(pidFile, 'utf8')).trim());
    expect(await running(sleeper)).toBe(false);
  });

  it('stops on abort, and does not start when already aborted', async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const err = await runProcess('/bin/sleep', ['30'], { timeoutMs: 10_000, signal: ctl.signal })
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');

    await expect(runProcess('/bin/true', [], { timeoutMs: 1000, signal: ctl.signal }))
      .rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects when the command does not exist', async () => {
    await expect(runProcess(join(dir, 'missing'), [], { timeoutMs: 1000 }))
      .rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('kills a process that floods stdout', async () => {
    await expect(runProcess('/bin/sh', ['-c', 'cat /dev/zero'], { timeoutMs: 5000,
      maxStdoutBytes: 100_000 })).rejects.toThrow(/more than 100000 bytes/);
  });
});

describe('lastMeaningfulLine', () => {
  it('skips the closing noise and hides paths and addresses', () => {
    const stderr = [
      '[matroska,webm @ 0x55d594d451c0] EBML header parsing failed',
      'file:/srv/data/in/rec.webm: Invalid data found when processing input',
      'Conversion failed!',
      '',
    ].join('\n');
    expect(lastMeaningfulLine(stderr, ['/srv/data/in/rec.webm']))
      .toBe('rec.webm: Invalid data found when processing input');
    expect(lastMeaningfulLine(stderr.split('\n')[0] ?? '')).toBe(
      '[matroska,webm] EBML header parsing failed');
    expect(lastMeaningfulLine('\n\nConversion failed!\n')).toBeNull();
  });

  it('prefers the line that blames the input over the consequences after it', () => {
    const stderr = [
      '[h264 @ 0x5623] Invalid NAL unit size (218991372 > 4681).',
      'Error while decoding stream #0:0: Invalid data found when processing input',
      '    Last message repeated 1 times',
      'Cannot determine format of input stream 0:0 after EOF',
      'Error marking filters as finished',
    ].join('\n');
    expect(lastMeaningfulLine(stderr)).toBe(
      'Error while decoding stream #0:0: Invalid data found when processing input');
    expect(lastMeaningfulLine(stderr.split('\n').slice(2).join('\n'))).toBeNull();
  });
});

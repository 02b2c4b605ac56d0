import { spawn } from 'node:child_process';
import { basename } from 'node:path';

import { AppError } from '../lib/errors.js';

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** stdout beyond this is a runaway process, not a result: it is killed. */
  maxStdoutBytes?: number;
  stderrTailBytes?: number;
}

export interface RunResult {
  exitCode: number | null;
  /** Set when the process died from a signal that this module did not send. */
  exitSignal: NodeJS.Signals | null;
  stdout: string;
  /** Only the last few kilobytes: ffmpeg can write megabytes, the cause is at the end. */
  stderr: string;
}

const DEFAULT_MAX_STDOUT = 16 * 1024 * 1024;
const DEFAULT_STDERR_TAIL = 8 * 1024;

// Children run in their own process group so a wrapper script and the ffmpeg it started die
// together; the group would outlive this process otherwise, so it is killed on exit too.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone: nothing to kill.
  }
}

function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const group of liveGroups) killGroup(group);
  });
}

export function abortError(signal: AbortSignal): Error {
  const err = new Error('media process aborted', { cause: signal.reason });
  err.name = 'AbortError';
  return err;
}

/**
 * Runs one command to completion under a time limit. Resolves with the exit status whatever it
 * is; rejects only when the process could not start, ran out of time (`AppError('timeout')`),
 * was aborted, or flooded stdout. It settles only after the process is gone, so callers may
 * remove its output files straight away.
 */
export function runProcess(cmd: string, args: readonly string[], opts: RunOptions):
Promise<RunResult> {
  const maxStdout = opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT;
  const tailBytes = opts.stderrTailBytes ?? DEFAULT_STDERR_TAIL;
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if (cmd === '') {
    return Promise.reject(new Error('this process was started without ffmpeg and ffprobe'));
  }

  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = Buffer.alloc(0);
    let failure: Error | null = null;

    const stop = (err: Error): void => {
      failure ??= err;
      if (child.pid !== undefined) killGroup(child.pid);
    };
    const timer = setTimeout(() => {
      const name = basename(cmd);
      stop(new AppError('timeout', `${name} did not finish within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    const onAbort = (): void => {
      if (signal !== undefined) stop(abortError(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (child.pid !== undefined) trackGroup(child.pid);

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxStdout) {
        stop(new Error(`${basename(cmd)} wrote more than ${maxStdout} bytes to stdout`));
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > tailBytes * 2) stderr = stderr.subarray(stderr.length - tailBytes);
    });

    const finish = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
    };
    child.once('error', (err) => {
      finish();
      reject(failure ?? err);
    });
    child.once('close', (code, exitSignal) => {
      finish();
      if (failure !== null) {
        reject(failure);
        return;
      }
      const tail = stderr.length > tailBytes ? stderr.subarray(stderr.length - tailBytes) : stderr;
      resolve({
        exitCode: code,
        exitSignal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: tail.toString('utf8'),
      });
    });
  });
}

// Lines ffmpeg prints after the real cause, which say nothing about it.
const NOISE = [
  /^conversion failed!?$/i, /^exiting normally/i, /^error opening (input|output) file/i,
  // What ffmpeg 5 says after the stream it could not decode ran out; the cause came before.
  /^error marking filters as finished$/i, /^cannot determine format of input stream .* after eof$/i,
  /^last message repeated \d+ times?$/i,
];

/** Lines that name the input as the cause; later lines are often only their consequences. */
const INPUT_AT_FAULT = /error while decoding stream|invalid data found when processing input/i;

/**
 * The line of a stderr tail that says what went wrong, made fit for a person: the last one
 * that blames the input, or else the last one that is not closing noise. File paths become
 * their base names and pointer addresses in ffmpeg's log prefixes go.
 */
export function lastMeaningfulLine(stderr: string, paths: readonly string[] = []): string | null {
  const lines = stderr.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l !== '');
  const latest = [...lines].reverse();
  const cause = latest.find((l) => INPUT_AT_FAULT.test(l)) ??
    latest.find((l) => !NOISE.some((re) => re.test(l))) ?? null;
  if (cause === null) return null;
  let text = cause.replace(/ @ 0x[0-9a-f]+\]/gi, ']');
  for (const p of paths) {
    text = text.split(`file:${p}`).join(basename(p)).split(p).join(basename(p));
  }
  return text;
}

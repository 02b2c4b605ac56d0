/**
 * How every benchmark gives its figures: one row per figure, beside the reference measured
 * in the same run. Run alone, a benchmark prints its rows as a markdown table; under
 * bench/all.ts, which names a file in STANDPIPE_BENCH_REPORT, it appends them to that file
 * as one JSON line and the runner prints the rows of every benchmark as one table.
 */
import { appendFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { locateMediaBinaries } from '../src/media/binaries.js';

/** `-` where a figure has no target; `failed` where the benchmark gave no figure. */
export type Verdict = 'met' | 'MISSED' | '-' | 'failed';

export interface BenchRow {
  what: string;
  standpipe: string;
  reference: string;
  ratio: string;
  target: string;
  verdict: Verdict;
}

export interface BenchReport {
  /** The benchmark's file name, such as `api.ts`. */
  bench: string;
  /** What the figures were measured on: sizes, rounds, durations. */
  setting: string;
  rows: BenchRow[];
}

export const REPORT_FILE_ENV = 'STANDPIPE_BENCH_REPORT';

export function verdict(ok: boolean): Verdict {
  return ok ? 'met' : 'MISSED';
}

/*
 * A figure next to a bound is shown rounded away from it, so that a missed target never
 * reads as if it were met: 69.8% is 69% against ">= 70%", 199.6 ms is 200 against "< 200".
 */

/** `value` rounded down to `digits` decimals. */
export function floorTo(value: number, digits = 0): string {
  const scale = 10 ** digits;
  return (Math.floor(value * scale) / scale).toFixed(digits);
}

/** `value` rounded up to `digits` decimals. */
export function ceilTo(value: number, digits = 0): string {
  const scale = 10 ** digits;
  return (Math.ceil(value * scale) / scale).toFixed(digits);
}

/** A percentage rounded down, as in `68%`, for targets with a lower bound. */
export function percent(fraction: number): string {
  return `${floorTo(fraction * 100)}%`;
}

/** Cores, CPU model, Node.js and the ffmpeg that conversions use. */
export function describeMachine(): string {
  const ffmpeg = /version (\S+)/.exec(locateMediaBinaries().version)?.[1] ?? '?';
  return `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ` +
    `ffmpeg ${ffmpeg}`;
}

export function markdownTable(rows: readonly BenchRow[]): string[] {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  return [
    '| what | standpipe | reference | ratio | target | verdict |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${[r.what, r.standpipe, r.reference, r.ratio, r.target, r.verdict]
      .map(cell).join(' | ')} |`),
  ];
}

/**
 * Gives a benchmark's rows: to the runner's file when there is one, else to stdout.
 * `moduleUrl` is the benchmark's `import.meta.url`.
 */
export async function report(moduleUrl: string, setting: string,
  rows: readonly BenchRow[]): Promise<void> {
  const bench = path.basename(fileURLToPath(moduleUrl));
  const file = process.env[REPORT_FILE_ENV];
  if (file !== undefined && file !== '') {
    const line: BenchReport = { bench, setting, rows: [...rows] };
    await appendFile(file, `${JSON.stringify(line)}\n`);
    return;
  }

  console.log(`\n${bench}: ${setting}; ${describeMachine()}`);
  for (const line of markdownTable(rows)) console.log(line);
}

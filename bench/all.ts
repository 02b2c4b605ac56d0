/**
 * Every benchmark in turn, each in a process of its own, then one table of all their
 * figures, headed by the machine and the time the whole run took. `npm run bench` builds
 * first and then runs this; it fits in ten minutes on two cores.
 *
 * The sizes keep each target's own (100,000 recordings, 1 GiB uploads); the webhook and
 * scale benchmarks run smaller than their defaults, which they keep when run alone:
 *
 *   npm run build && npx tsx bench/all.ts [name ...]     # e.g. `api upload`: only those
 *   npm run build && npx tsx bench/webhooks.ts [events]  # 10,000 by default
 *   npm run build && npx tsx bench/scale.ts [clips]      # 50 by default; needs PostgreSQL
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeMachine, markdownTable, REPORT_FILE_ENV } from './report.js';
import type { BenchReport, BenchRow } from './report.js';

interface Step {
  bench: string;
  args: string[];
}

const PLAN: Step[] = [
  { bench: 'api.ts', args: ['100000'] },
  { bench: 'conversion.ts', args: ['5'] },
  { bench: 'upload.ts', args: ['1024'] },
  { bench: 'webhooks.ts', args: ['2000'] },
  { bench: 'scale.ts', args: ['12'] },
];
const BUDGET_MS = 10 * 60_000;
const TSX = createRequire(import.meta.url).resolve('tsx/cli');

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Runs one benchmark; its own output goes to stderr, its rows into `file`. */
async function runStep(step: Step, file: string): Promise<number | null> {
  const script = fileURLToPath(new URL(`./${step.bench}`, import.meta.url));
  const child = spawn(process.execPath, [TSX, script, ...step.args], {
    env: { ...process.env, [REPORT_FILE_ENV]: file },
    stdio: ['ignore', 2, 2],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

async function readReport(file: string): Promise<BenchReport | null> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const line = text.trim().split('\n').at(-1) ?? '';
  return line === '' ? null : (JSON.parse(line) as BenchReport);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).map((name) => name.replace(/(\.ts)?$/, '.ts'));
  const unknown = wanted.filter((name) => !PLAN.some((s) => s.bench === name));
  if (unknown.length > 0) {
    throw new Error(`no benchmark ${unknown.join(', ')}; there are ` +
      PLAN.map((s) => s.bench).join(', '));
  }
  const steps = wanted.length === 0 ? PLAN : PLAN.filter((s) => wanted.includes(s.bench));

  const dir = await mkdtemp(path.join(tmpdir(), 'standpipe-bench-all-'));
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  let failed = false;
  const t0 = performance.now();
  try {
    for (const step of steps) {
      const file = path.join(dir, `${step.bench}.jsonl`);
      const started = performance.now();
      process.stderr.write(`\n== ${step.bench} ${step.args.join(' ')}\n`);
      const code = await runStep(step, file);
      const took = minutes(performance.now() - started);
      const got = await readReport(file);
      process.stderr.write(`== ${step.bench}: exit ${code ?? 'by signal'}, ${took}\n`);
      if (code !== 0 || got === null) {
        failed = true;
        rows.push({ what: `${step.bench} gave no figures (exit ${code ?? 'by signal'})`,
          standpipe: '-', reference: '-', ratio: '-', target: '-', verdict: 'failed' });
        notes.push(`- ${step.bench} ${step.args.join(' ')}, ${took}: failed, see above`);
        continue;
      }
      rows.push(...got.rows);
      notes.push(`- ${step.bench} ${step.args.join(' ')}, ${took}: ${got.setting}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const elapsed = performance.now() - t0;
  const budget = elapsed <= BUDGET_MS ? 'within' : 'OVER';
  console.log(`\nstandpipe benchmarks: ${describeMachine()}; ${minutes(elapsed)} in all ` +
    `(the build not counted), ${budget} the ${minutes(BUDGET_MS)} budget\n`);
  for (const line of markdownTable(rows)) console.log(line);
  console.log('');
  for (const note of notes) console.log(note);
  if (failed) process.exitCode = 1;
}

await main();

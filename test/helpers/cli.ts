import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliOptions {
  /** Settings added to this process's environment. */
  env?: Record<string, string>;
  /** Leave out this process's STANDPIPE_ settings, so that only `env` counts. */
  ownSettingsOnly?: boolean;
  /** Written to the command's standard input, which then ends. */
  input?: string;
}

/** Runs the real command line from source and collects what it prints and how it ends. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<{
  code: number | null; stdout: string; stderr: string }> {
  const inherited = options.ownSettingsOnly === true
    ? Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STANDPIPE_')))
    : process.env;
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args],
    { cwd: ROOT, env: { ...inherited, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  proc.stdin.end(options.input ?? '');
  const code = await new Promise<number | null>((resolve) => proc.once('close', resolve));
  return { code, stdout, stderr };
}

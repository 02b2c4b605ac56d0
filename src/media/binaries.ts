import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

export interface MediaBinaries {
  ffmpeg: string;
  ffprobe: string;
  /** `none`: the process runs no media work, and ffmpeg was not looked for. */
  source: 'env' | 'system' | 'bundled' | 'none';
  version: string;
}

/**
 * The tools of a process that runs no media work (creating or exporting an account): such
 * a command works without ffmpeg, and running a tool from it fails with a clear error.
 */
export const NO_MEDIA_TOOLS: MediaBinaries = Object.freeze({
  ffmpeg: '', ffprobe: '', source: 'none', version: '',
});

const EXE = process.platform === 'win32' ? '.exe' : '';
const VERSION_TIMEOUT_MS = 10_000;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Resolves a bare command name through PATH; a path is taken as it is. */
function findOnPath(name: string, env: NodeJS.ProcessEnv): string | null {
  if (name.includes('/') || name.includes('\\') || isAbsolute(name)) {
    return isExecutable(name) ? resolve(name) : null;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name + EXE);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

type VersionCheck = { version: string } | { problem: string };

/** The first line of `ffmpeg -version` as the process printed it, or why it did not run. */
function versionOf(ffmpeg: string, run: { error?: Error | undefined; status: number | null;
  stdout: string }): VersionCheck {
  if (run.error !== undefined) return { problem: run.error.message };
  if (run.status !== 0) return { problem: `"${ffmpeg} -version" exited with ${run.status}` };
  const first = run.stdout.split('\n', 1)[0]?.trim() ?? '';
  if (!/^ffmpeg version /i.test(first)) return { problem: `${ffmpeg} does not look like ffmpeg` };
  return { version: first };
}

function readVersionSync(ffmpeg: string): VersionCheck {
  const run = spawnSync(ffmpeg, ['-version'], {
    encoding: 'utf8',
    timeout: VERSION_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return versionOf(ffmpeg, { error: run.error, status: run.status, stdout: run.stdout });
}

function readVersion(ffmpeg: string): Promise<VersionCheck> {
  return new Promise((resolve) => {
    execFile(ffmpeg, ['-version'], { encoding: 'utf8', timeout: VERSION_TIMEOUT_MS },
      (error, stdout) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve(versionOf(ffmpeg, {
          error: error !== null && typeof error.code !== 'number' ? error : undefined,
          status, stdout,
        }));
      });
  });
}

function* fromEnv(env: NodeJS.ProcessEnv): Attempts {
  const setting = env.STANDPIPE_FFMPEG ?? '';
  const ffmpeg = findOnPath(setting, env);
  if (ffmpeg === null) throw new Error(`STANDPIPE_FFMPEG=${setting} is not an executable file`);

  const probeSetting = env.STANDPIPE_FFPROBE;
  const ffprobe = probeSetting !== undefined && probeSetting !== ''
    ? findOnPath(probeSetting, env)
    : findOnPath(join(dirname(ffmpeg), 'ffprobe' + EXE), env);
  if (ffprobe === null) {
    const what = probeSetting
      ? `STANDPIPE_FFPROBE=${probeSetting}`
      : `no ffprobe next to ${ffmpeg}`;
    throw new Error(`${what}: set STANDPIPE_FFPROBE to an executable ffprobe`);
  }

  const found = yield ffmpeg;
  if ('problem' in found) throw new Error(`STANDPIPE_FFMPEG does not work: ${found.problem}`);
  return { ffmpeg, ffprobe, source: 'env', version: found.version };
}

/** The `.path` an installer package exports; those packages throw strings, not Errors. */
function installerPath(pkg: string): string | null {
  try {
    const mod: unknown = createRequire(import.meta.url)(pkg);
    if (typeof mod === 'object' && mod !== null && 'path' in mod && typeof mod.path === 'string') {
      return mod.path;
    }
    return null;
  } catch {
    return null;
  }
}

/** The search of locateMediaBinaries, step by step. */
function* attempts(env: NodeJS.ProcessEnv): Attempts {
  if (env.STANDPIPE_FFMPEG !== undefined && env.STANDPIPE_FFMPEG !== '') return yield* fromEnv(env);

  const tried: string[] = [];
  const sysFfmpeg = findOnPath('ffmpeg', env);
  const sysFfprobe = findOnPath('ffprobe', env);
  if (sysFfmpeg !== null && sysFfprobe !== null) {
    const found = yield sysFfmpeg;
    if ('version' in found) {
      return { ffmpeg: sysFfmpeg, ffprobe: sysFfprobe, source: 'system', version: found.version };
    }
    tried.push(`PATH: ${found.problem}`);
  } else {
    tried.push('PATH: no ffmpeg and ffprobe pair');
  }

  const bundledFfmpeg = installerPath('@ffmpeg-installer/ffmpeg');
  const bundledFfprobe = installerPath('@ffprobe-installer/ffprobe');
  if (bundledFfmpeg !== null && bundledFfprobe !== null && isExecutable(bundledFfprobe)) {
    const found = yield bundledFfmpeg;
    if ('version' in found) {
      return {
        ffmpeg: bundledFfmpeg,
        ffprobe: bundledFfprobe,
        source: 'bundled',
        version: found.version,
      };
    }
    tried.push(`bundled: ${found.problem}`);
  } else {
    tried.push('bundled: @ffmpeg-installer/@ffprobe-installer packages not usable');
  }

  throw new Error(
    `ffmpeg and ffprobe not found (${tried.join('; ')}); install ffmpeg or set STANDPIPE_FFMPEG`,
  );
}

/** Each ffmpeg worth trying is yielded; what its `-version` says is sent back. */
type Attempts = Generator<string, MediaBinaries, VersionCheck>;

/** locateMediaBinaries, for start-up: the version checks run without blocking the process. */
export async function findMediaBinaries(
  env: NodeJS.ProcessEnv = process.env,
): Promise<MediaBinaries> {
  const steps = attempts(env);
  let step = steps.next();
  while (step.done !== true) step = steps.next(await readVersion(step.value));
  return step.value;
}

/**
 * Finds ffmpeg and ffprobe: `STANDPIPE_FFMPEG` (with `STANDPIPE_FFPROBE`, else the ffprobe in
 * the same directory), else both on PATH, else the builds shipped in the @ffmpeg-installer and
 * @ffprobe-installer packages. A variable that is set but wrong is an error, never skipped,
 * so a typo does not silently run a different ffmpeg.
 */
export function locateMediaBinaries(env: NodeJS.ProcessEnv = process.env): MediaBinaries {
  const steps = attempts(env);
  let step = steps.next();
  while (step.done !== true) step = steps.next(readVersionSync(step.value));
  return step.value;
}

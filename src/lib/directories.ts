import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates a directory and the missing ones above it, as `mkdir -p` does. Node 20's own
 * recursive mkdir never returns for some paths it cannot create (below /proc, for one);
 * this creates one level at a time, so such a path fails with the error of the level that
 * cannot be made.
 */
export function makeDirectories(dir: string): void {
  const missing: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    const info = statOf(current);
    if (info !== undefined) {
      if (!info.isDirectory()) throw new Error(`${current} is not a directory`);
      break;
    }
    missing.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (err) {
      // Made meanwhile by another process starting beside this one.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** The entry at `file`; undefined when missing, or when a level above it is not a folder. */
function statOf(file: string) {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch (err) {
    // The level above is a file: it is found, and named, on the way up.
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

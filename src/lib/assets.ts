import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/**
 * The package's root folder, found from this module whether it runs from src/ or from the
 * compiled dist/. Browser files are served from src/ in both cases, so the build copies none.
 */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('standpipe: package.json not found above this module');
    dir = up;
  }
  root = dir;
  return dir;
}

export function assetPath(...segments: string[]): string {
  return path.join(packageRoot(), 'src', ...segments);
}

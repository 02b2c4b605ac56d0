import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { makeDirectories } from '../lib/directories.js';
import { AppError } from '../lib/errors.js';

/**
 * Where recordings live once stored ("Pipe storage"). Keys look like
 * `<account hash>/<recording name>.mp4`; every implementation refuses any other shape, so a
 * key can never name a place outside the store.
 */
export interface MediaStore {
  readonly kind: string;
  /** Stores a local file under `key`. With `move`, the local file may be consumed. */
  put(key: string, file: string, options?: { move?: boolean }): Promise<void>;
  /** A local path holding the object's bytes, fetched into `workDir` when needed. */
  localCopy(key: string, workDir: string): Promise<string>;
  open(key: string, range?: { start: number; end: number }): Promise<Readable>;
  size(key: string): Promise<number | null>;
  delete(key: string): Promise<void>;
  /** Resolves when the store can be reached and written to; for readiness checks. */
  ready?(): Promise<void>;
}

const KEY_PATTERN = /^[a-f0-9]{32}\/[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/;

export function checkKey(key: string): string {
  if (!KEY_PATTERN.test(key) || key.includes('..')) {
    throw new AppError('bad_request', `invalid media key "${key}"`);
  }
  return key;
}

export class LocalMediaStore implements MediaStore {
  readonly kind = 'local';
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  pathOf(key: string): string {
    return path.join(this.root, checkKey(key));
  }

  async put(key: string, file: string, options: { move?: boolean } = {}): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Write beside the target and rename, so a reader never sees a partial file.
    const temp = `${target}.part-${process.pid}`;
    if (options.move === true) {
      try {
        await rename(file, temp);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await copyFile(file, temp);
      }
    } else {
      await copyFile(file, temp);
    }
    await rename(temp, target);
  }

  async localCopy(key: string): Promise<string> {
    const file = this.pathOf(key);
    if ((await this.size(key)) === null) throw new AppError('not_found', `media ${key} missing`);
    return file;
  }

  async open(key: string, range?: { start: number; end: number }): Promise<Readable> {
    return createReadStream(this.pathOf(key), range);
  }

  async size(key: string): Promise<number | null> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? info.size : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async ready(): Promise<void> {
    makeDirectories(this.root);
    await access(this.root, constants.R_OK | constants.W_OK);
  }
}

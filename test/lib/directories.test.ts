import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeDirectories } from '../../src/lib/directories.js';
import { runCli } from '../helpers/cli.js';

describe('makeDirectories', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'standpipe-dirs-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('makes every missing level, and leaves existing ones as they are', async () => {
    const deep = path.join(root, 'a', 'b', 'c');
    makeDirectories(deep);
    expect((await stat(deep)).isDirectory()).toBe(true);
    makeDirectories(deep);
    makeDirectories(path.join(root, 'a', '..', 'a', 'b'));
    expect((await stat(path.join(root, 'a', 'b'))).isDirectory()).toBe(true);
  });

  it('refuses a path through a file', async () => {
    await writeFile(path.join(root, 'file'), 'x');
    expect(() => makeDirectories(path.join(root, 'file'))).toThrow(/is not a directory/);
    expect(() => makeDirectories(path.join(root, 'file', 'below'))).toThrow(/is not a directory/);
  });

  it.runIf(process.platform === 'linux')('fails, rather than looping, where no folder can be made',
    () => {
      expect(() => makeDirectories('/proc/standpipe-nope/data')).toThrow(/ENOENT/);
    });

  it.runIf(process.platform === 'linux')(
    'makes a server refuse, at start, a data folder that cannot hold its work', async () => {
      const started = await runCli(['serve', '--port', '0'], { env: {
        STANDPIPE_DATA_DIR: '/proc/self', STANDPIPE_SECRET_KEY: 'ab'.repeat(32),
        STANDPIPE_DATABASE_URL: path.join(root, 'refused.db') } });
      expect(started.code).toBe(1);
      expect(started.stderr).toContain("mkdir '/proc/self/uploads'");
    });
});

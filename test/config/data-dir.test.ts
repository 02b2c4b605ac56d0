import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/index.js';

describe('the data directory and database settings', () => {
  let root: string;
  const key = 'cd'.repeat(32);
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'standpipe-config-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('takes an empty STANDPIPE_DATA_DIR as unset: ./data, not the working directory', () => {
    const config = loadConfig({}, { STANDPIPE_DATA_DIR: '', STANDPIPE_SECRET_KEY: key });
    expect(config.dataDir).toBe(path.resolve('data'));
  });

  it('takes --data over the setting, and a relative path from the working directory', () => {
    const config = loadConfig({ data: path.join(root, 'flag') },
      { STANDPIPE_DATA_DIR: path.join(root, 'env'), STANDPIPE_SECRET_KEY: key });
    expect(config.dataDir).toBe(path.join(root, 'flag'));
    expect(loadConfig({}, { STANDPIPE_DATA_DIR: 'rel/dir', STANDPIPE_SECRET_KEY: key }).dataDir)
      .toBe(path.resolve('rel/dir'));
  });

  it('refuses a SQLite database path that names a folder', () => {
    for (const database of [`${root}/sub/`, `sqlite:${root}/sub/`]) {
      expect(() => loadConfig({ database }, { STANDPIPE_SECRET_KEY: key }))
        .toThrow(/names a folder; name the SQLite file in it/);
    }
    expect(loadConfig({ database: `${root}/sub/x.db` }, { STANDPIPE_SECRET_KEY: key })
      .databaseUrl).toBe(`${root}/sub/x.db`);
  });
});

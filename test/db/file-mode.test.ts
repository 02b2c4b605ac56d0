import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openDatabase } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrations.js';

describe.runIf(process.platform !== 'win32')('SQLite files on disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-mode-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const mode = async (file: string) => (await stat(file)).mode & 0o777;

  it('makes a new database, its WAL and shared memory readable by their owner only', async () => {
    const file = path.join(dir, 'new', 'standpipe.db');
    const db = openDatabase(file);
    await migrate(db);
    expect(await mode(file)).toBe(0o600);
    expect(await mode(`${file}-wal`)).toBe(0o600);
    expect(await mode(`${file}-shm`)).toBe(0o600);
    await db.close();
  });

  it("leaves an existing database's mode as its operator set it", async () => {
    const file = path.join(dir, 'shared.db');
    await writeFile(file, '');
    await chmod(file, 0o640);
    const db = openDatabase(file);
    await migrate(db);
    expect(await mode(file)).toBe(0o640);
    await db.close();
  });
});

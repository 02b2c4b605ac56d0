import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `standpipe ingest` with only the given settings in its environment. */
const ingest = (args: string[], env: Record<string, string>) =>
  runCli(['ingest', ...args], { env, ownSettingsOnly: true });

describe('standpipe ingest', () => {
  let srv: TestServer;
  let acct: NewAccountResult;
  let port: string;

  beforeAll(async () => {
    srv = await startTestServer('sqlite', { workers: false });
    acct = await srv.account();
    port = new URL(srv.url).port;
  });

  afterAll(async () => {
    await srv.close();
  });

  const fileOf = async (id: string) => {
    const got = await srv.api(acct.api_key, 'GET', `/video/${id}`);
    const video = (got.json.videos as Record<string, string>[])[0];
    const raw = await fetch(`${srv.url}/media/${acct.account_hash}/${video?.name}_raw.webm`);
    return { video, bytes: Buffer.from(await raw.arrayBuffer()) };
  };

  it('uploads to the server that STANDPIPE_HOST and STANDPIPE_PORT name', async () => {
    const done = await ingest([CHROMIUM_WEBM, '--account-hash', acct.account_hash, '--env-code',
      acct.environment.env_code, '--payload', '{"from":"cli"}'],
    { STANDPIPE_HOST: '0.0.0.0', STANDPIPE_PORT: port });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout.trim()).toMatch(/^\d+$/);
    const { video, bytes } = await fileOf(done.stdout.trim());
    expect(video).toMatchObject({ payload: '{"from":"cli"}', source: 'DESK' });
    expect(bytes.equals(await readFile(CHROMIUM_WEBM))).toBe(true);
  });

  it('takes --url, or --host and --port, over the settings', async () => {
    const wrong = { STANDPIPE_HOST: '127.0.0.1', STANDPIPE_PORT: '9' };
    const byUrl = await ingest([CHROMIUM_WEBM, '--account-hash', acct.account_hash,
      '--url', srv.url], wrong);
    expect(byUrl.code, byUrl.stderr).toBe(0);
    const byPort = await ingest([CHROMIUM_WEBM, '--account-hash', acct.account_hash,
      '--host', '127.0.0.1', '--port', port], wrong);
    expect(byPort.code, byPort.stderr).toBe(0);
    expect(byPort.stdout.trim()).not.toBe(byUrl.stdout.trim());
  });

  it('says plainly when no server answers, or the account is wrong', async () => {
    const nobody = await ingest([CHROMIUM_WEBM, '--account-hash', acct.account_hash],
      { STANDPIPE_PORT: '9' });
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain('cannot reach standpipe at http://127.0.0.1:9');
    const bracketed = await ingest([CHROMIUM_WEBM, '--account-hash', acct.account_hash,
      '--host', '[::1]', '--port', '9'], {});
    expect(bracketed.stderr).toContain('cannot reach standpipe at http://[::1]:9');
    const stranger = await ingest([CHROMIUM_WEBM, '--account-hash', 'f'.repeat(32),
      '--url', srv.url], {});
    expect(stranger.code).not.toBe(0);
    expect(stranger.stderr).toContain('no environment with this accountHash and eid');
    const missing = await ingest([path.join(ROOT, 'no-such.webm'), '--account-hash',
      acct.account_hash, '--url', srv.url], {});
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/ENOENT|no such file/i);
  });
});

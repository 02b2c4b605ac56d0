import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';

/** HEAD answers as GET would, without the body: the same status and headers. */
describe('HEAD', () => {
  let srv: TestServer;
  let acct: NewAccountResult;

  beforeAll(async () => {
    srv = await startTestServer('sqlite', { workers: false });
    acct = await srv.account();
  });

  afterAll(async () => {
    await srv.close();
  });

  it.each([
    ['/upload', {}], ['/tus', {}], ['/no/such/path', {}], ['/video/all', {}],
    ['/account', 'key'], ['/environment', 'key'], ['/video/12345', 'key'], ['/dashboard', {}],
    ['/2.0/pipe.css', {}],
  ] as const)('%s answers HEAD with the status and length of GET', async (url, auth) => {
    const headers: Record<string, string> = auth === 'key' ? { 'x-pipe-auth': acct.api_key } : {};
    const get = await fetch(`${srv.url}${url}`, { headers, redirect: 'manual' });
    const body = Buffer.from(await get.arrayBuffer());
    const head = await fetch(`${srv.url}${url}`, { method: 'HEAD', headers, redirect: 'manual' });
    expect(head.status).toBe(get.status);
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(head.headers.get('location')).toBe(get.headers.get('location'));
    const length = head.headers.get('content-length');
    if (length !== null) expect(Number(length)).toBe(body.length);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });
});

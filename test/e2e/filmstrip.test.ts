import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';

describe.each(DIALECTS)('filmstrips, where the environment asks (%s)', (dialect) => {
  let t: TestServer;
  let acct: NewAccountResult;
  let clip: Buffer;

  beforeAll(async () => {
    t = await startTestServer(dialect);
    acct = await t.account();
    clip = await readFile(CHROMIUM_WEBM);
  });

  afterAll(async () => {
    await t.close();
  });

  const settings = async (filmstrip: string) => {
    const res = await t.api(acct.api_key, 'PUT', `/environment/${acct.environment.id}`,
      { filmstrip });
    expect(res.status, res.text).toBe(200);
    return (res.json.environment_details as Record<string, string>[])[0];
  };

  const convertedUpload = async () => {
    const up = await uploadFile(t.url, { accountHash: acct.account_hash,
      eid: acct.environment.env_code }, { name: 'clip.webm', data: clip });
    expect(up.status, up.text).toBe(201);
    const id = (up.json.videos as Record<string, string>[])[0]?.id ?? '';
    return eventually(async () => {
      const got = await t.api(acct.api_key, 'GET', `/video/${id}`);
      const video = (got.json.videos as Record<string, string>[])[0];
      return video?.converted === '1' ? video : undefined;
    }, 60_000, 'conversion');
  };

  const filmstripOf = (name: string) =>
    fetch(`${t.url}/media/${acct.account_hash}/${name}_filmstrip.jpg`);

  it('is off for a new environment, and no recording gets one', async () => {
    const listed = await t.api(acct.api_key, 'GET', '/environment');
    expect((listed.json.environment_details as Record<string, string>[])[0])
      .toMatchObject({ filmstrip: '0' });
    const video = await convertedUpload();
    expect(video.has_filmstrip).toBe('0');
    expect((await filmstripOf(video.name ?? '')).status).toBe(404);
  });

  it('once switched on, gives each new recording a filmstrip, removed with it', async () => {
    expect(await settings('1')).toMatchObject({ filmstrip: '1' });
    const video = await convertedUpload();
    expect(video.has_filmstrip).toBe('1');
    const image = await filmstripOf(video.name ?? '');
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await image.arrayBuffer());
    expect(bytes.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(true);

    const removed = await t.api(acct.api_key, 'DELETE', `/video/${video.id}`);
    expect(removed.status).toBe(200);
    expect((await filmstripOf(video.name ?? '')).status).toBe(404);
    expect(await settings('0')).toMatchObject({ filmstrip: '0' });
  });

  it('refuses a setting that is not a flag', async () => {
    const res = await t.api(acct.api_key, 'PUT', `/environment/${acct.environment.id}`,
      { filmstrip: 'yes' });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain('filmstrip');
  });
});

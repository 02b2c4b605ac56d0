import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openDatabase } from '../../src/db/connect.js';
import type { Db } from '../../src/db/connect.js';
import { insertRecording, updateRecording } from '../../src/repositories/recordings.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS, PG_URL, startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';

/**
 * GET /video/:id may be answered from memory; these show it never answers with a row older
 * than the last write, whoever made the write.
 */
describe.each(DIALECTS)('GET /video/:id stays fresh (%s)', (dialect) => {
  let srv: TestServer;
  let owner: NewAccountResult;
  let other: NewAccountResult;
  let elsewhere: Db;
  let id: number;

  const video = async (key: string) => {
    const res = await srv.api(key, 'GET', `/video/${id}`);
    const videos = res.json.videos as Record<string, unknown>[] | undefined;
    return { status: res.status, video: videos?.[0], json: res.json };
  };

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: false });
    owner = await srv.account();
    other = await srv.account();
    const rec = await insertRecording(srv.server.ctx.db.kysely, {
      account_id: owner.id, env_id: owner.environment.env_id, name: 'fresh_1',
      status: 'recorded', original_ext: 'webm', original_container: 'webm',
      created_at: 1_700_000_000_000, ipv4: null, ua: null, http_referer: null,
      camera_name: null, microphone_name: null, payload: 'first', mrt: null, source: 'DESK',
      original_size: 10, region: 'local',
    });
    id = rec.id;
    // A second connection, as another standpipe process on the same database would have.
    const schema = srv.server.ctx.db.schema;
    elsewhere = dialect === 'sqlite'
      ? openDatabase(path.join(srv.dataDir, 'standpipe.db'))
      : openDatabase(PG_URL, schema === undefined ? {} : { schema });
  });

  afterAll(async () => {
    await elsewhere.close();
    await srv.close();
  });

  it('answers the envelope and the recording', async () => {
    const first = await video(owner.api_key);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ status: 'OK', status_code: 200,
      message: 'Request successful', request_method: 'GET', total_videos: 1 });
    expect(first.video).toMatchObject({ id: String(id), payload: 'first', converted: '0' });
    expect((await video(owner.api_key)).video).toEqual(first.video);
  });

  it("answers HEAD with GET's headers and no body, whether kept or read", async () => {
    const get = await fetch(`${srv.url}/video/${id}`, { headers: { 'x-pipe-auth':
      owner.api_key } });
    const body = Buffer.from(await get.arrayBuffer());
    for (let i = 0; i < 2; i += 1) {
      const head = await fetch(`${srv.url}/video/${id}`, { method: 'HEAD',
        headers: { 'x-pipe-auth': owner.api_key } });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(Number(head.headers.get('content-length'))).toBe(body.length);
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    }
    const missing = await fetch(`${srv.url}/video/999999`, { method: 'HEAD',
      headers: { 'x-pipe-auth': owner.api_key } });
    expect(missing.status).toBe(404);
  });

  it('shows a write made by this process at once', async () => {
    await video(owner.api_key);
    await updateRecording(srv.server.ctx.db.kysely, id, { payload: 'second', converted: 1 });
    expect((await video(owner.api_key)).video).toMatchObject({ payload: 'second',
      converted: '1' });
  });

  it('shows a write made by another connection at once', async () => {
    await video(owner.api_key);
    await updateRecording(elsewhere.kysely, id, { payload: 'third' });
    expect((await video(owner.api_key)).video).toMatchObject({ payload: 'third' });
    await updateRecording(elsewhere.kysely, id, { payload: 'fourth' });
    expect((await video(owner.api_key)).video).toMatchObject({ payload: 'fourth' });
  });

  it('never shows one account\'s recording to another, however often it was read', async () => {
    for (let i = 0; i < 3; i += 1) expect((await video(owner.api_key)).status).toBe(200);
    const res = await video(other.api_key);
    expect(res.status).toBe(404);
    expect(res.video).toBeUndefined();
  });

  it('answers 404 once the recording is deleted, by the API or by another connection', async () => {
    await video(owner.api_key);
    await updateRecording(elsewhere.kysely, id, { deleted_at: 1 });
    expect((await video(owner.api_key)).status).toBe(404);
    await updateRecording(elsewhere.kysely, id, { deleted_at: null });
    expect((await video(owner.api_key)).status).toBe(200);
    expect((await srv.api(owner.api_key, 'DELETE', `/video/${id}`)).status).toBe(200);
    expect((await video(owner.api_key)).status).toBe(404);
  });
});

/**
 * Load and races: many uploads at once, a DELETE while the conversion runs, and a bounded
 * storm of mixed requests.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { filesUnder, sleep, slowFfmpeg, storedFiles, tableRows } from './support.js';

let clip: Buffer;

beforeAll(async () => {
  clip = await readFile(CHROMIUM_WEBM);
});

const eventsOf = (receiver: Receiver) => receiver.requests.map((r) => {
  const json = r.json as { event?: string; data?: { id?: number } } | undefined;
  return { event: json?.event, id: json?.data?.id };
});

describe.each(DIALECTS)('concurrent uploads (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;

  beforeAll(async () => {
    srv = await startTestServer(dialect, { env: { STANDPIPE_MEDIA_CONCURRENCY: '4' } });
    acct = await srv.account();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('ten uploads at once are all stored and all converted', async () => {
    const fields = { accountHash: acct.account_hash, eid: acct.environment.env_code };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      uploadFile(srv.url, { ...fields, payload: `n=${i}` }, { name: `c${i}.webm`, data: clip })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    const ids = results.map((r) => String((r.json.videos as { id: string }[])[0]?.id));
    expect(new Set(ids).size).toBe(10);

    const videos = await eventually(async () => {
      const res = await srv.api(acct.api_key, 'GET', '/video/all');
      const list = res.json.videos as { id: string; conversion_status: string }[];
      return list.every((v) => v.conversion_status !== 'recorded') ? list : undefined;
    }, 90_000, 'all ten conversions');
    expect(videos.map((v) => v.conversion_status)).toEqual(Array(10).fill('converted'));
    expect(videos.map((v) => v.id).sort()).toEqual([...ids].sort());
    // Nothing is left half-written: no upload temp files, no work folders.
    expect(await filesUnder(path.join(srv.dataDir, 'uploads'))).toEqual([]);
    expect(await filesUnder(path.join(srv.dataDir, 'work'))).toEqual([]);
  }, 120_000);
});

describe.each(DIALECTS)('DELETE while the conversion runs (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;
  let receiver: Receiver;

  beforeAll(async () => {
    // The real ffmpeg runs in full, then lingers: the input has been read and the output is
    // being finished when the DELETE comes in.
    const slow = await slowFfmpeg(2500);
    const saved = { ffmpeg: process.env.STANDPIPE_FFMPEG, ffprobe: process.env.STANDPIPE_FFPROBE };
    process.env.STANDPIPE_FFMPEG = slow.ffmpeg;
    process.env.STANDPIPE_FFPROBE = slow.ffprobe;
    try {
      srv = await startTestServer(dialect);
    } finally {
      if (saved.ffmpeg === undefined) delete process.env.STANDPIPE_FFMPEG;
      else process.env.STANDPIPE_FFMPEG = saved.ffmpeg;
      if (saved.ffprobe === undefined) delete process.env.STANDPIPE_FFPROBE;
      else process.env.STANDPIPE_FFPROBE = saved.ffprobe;
    }
    expect(srv.server.ctx.media.ffmpeg).toBe(slow.ffmpeg);
    acct = await srv.account();
    receiver = await startReceiver();
    const hook = await srv.api(acct.api_key, 'POST', '/webhook', {
      webhook: receiver.url('/hook'), webhook_recorded: '1', webhook_converted: '1',
      webhook_copied_pipe_s3: '1', webhook_transcoded: '1',
    });
    expect(hook.status, hook.text).toBe(201);
  });
  afterAll(async () => {
    await receiver?.close();
    await srv?.close();
  });

  interface Outcome {
    id: string;
    name: string;
    left: string[];
    mediaStatus: number[];
    later: { event: string | undefined; id: number | undefined }[];
  }
  let outcome: Outcome;

  /** Uploads, waits for the conversion to be under way, deletes, waits for the job to end. */
  async function deleteDuringConversion(): Promise<Outcome> {
    const up = await uploadFile(srv.url,
      { accountHash: acct.account_hash, eid: acct.environment.env_code },
      { name: 'clip.webm', data: clip });
    expect(up.status, up.text).toBe(201);
    const video = (up.json.videos as { id: string; name: string }[])[0];
    const id = String(video?.id);
    const name = String(video?.name);

    await eventually(async () => {
      const work = await filesUnder(path.join(srv.dataDir, 'work'));
      return work.some((f) => f.endsWith('.mp4.part')) ? true : undefined;
    }, 30_000, 'the conversion to be under way');

    const del = await srv.api(acct.api_key, 'DELETE', `/video/${id}`);
    expect(del.status, del.text).toBe(200);
    expect((await srv.api(acct.api_key, 'GET', `/video/${id}`)).status).toBe(404);

    await eventually(async () => {
      const jobs = await tableRows(srv, 'jobs');
      const job = jobs.find((j) => j.type === 'recording.process' &&
        String(j.recording_id) === id);
      return job !== undefined && job.status !== 'running' && job.status !== 'queued'
        ? job : undefined;
    }, 30_000, 'the conversion job to end');
    // Room for any webhook the end of the job might still have queued.
    await sleep(1500);

    const left = (await storedFiles(srv)).filter((f) => path.basename(f).startsWith(name));
    const mediaStatus = await Promise.all(['mp4', 'jpg'].map(async (ext) =>
      (await fetch(`${srv.url}/media/${acct.account_hash}/${name}.${ext}`)).status));
    const later = eventsOf(receiver).filter((e) => String(e.id) === id &&
      e.event !== 'video_recorded');
    return { id, name, left, mediaStatus, later };
  }

  it('runs the DELETE while ffmpeg is still at work', async () => {
    outcome = await deleteDuringConversion();
    expect(outcome.id).toMatch(/^\d+$/);
  }, 60_000);

  // The conversion stores the MP4 and the snapshot after the DELETE has removed the files it
  // saw: the job has to remove them itself once it sees the recording is gone.
  it('leaves no file of the deleted recording in the media store', () => {
    expect(outcome.left).toEqual([]);
  });

  it('serves none of its media links after the DELETE', () => {
    expect(outcome.mediaStatus).toEqual([404, 404]);
  });

  it('sends no webhook about it after the DELETE', () => {
    expect(outcome.later).toEqual([]);
  });
});

describe.each(DIALECTS)('racing requests (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: false });
    acct = await srv.account();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('deletes a recording once when ten DELETEs race', async () => {
    const up = await uploadFile(srv.url,
      { accountHash: acct.account_hash, eid: acct.environment.env_code },
      { name: 'a.webm', data: Buffer.alloc(500, 1) });
    const id = String((up.json.videos as { id: string }[])[0]?.id);
    const answers = await Promise.all(Array.from({ length: 10 },
      () => srv.api(acct.api_key, 'DELETE', `/video/${id}`)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, ...Array<number>(9).fill(404)]);
    expect(await storedFiles(srv)).toEqual([]);
  });

  // nextEnvId (src/repositories/environments.ts) reads max(env_id) + 1 inside the creating
  // transaction; on PostgreSQL two concurrent transactions read the same maximum, and the
  // second INSERT breaks the (account_id, env_id) unique constraint: a 500 to the client.
  // SQLite runs one transaction at a time and never shows it.
  it(
    'creates every environment when ten POST /environment race', async () => {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        srv.api(acct.api_key, 'POST', '/environment', { env_name: `race ${i}` })));
      expect(answers.map((r) => r.status), answers.find((r) => r.status !== 201)?.text)
        .toEqual(Array(10).fill(201));
      const envIds = answers.map((r) =>
        (r.json.environment_details as { env_id: string }[])[0]?.env_id);
      expect(new Set(envIds).size).toBe(10);
    });
});

describe.each(DIALECTS)('request storm (%s)', (dialect) => {
  let srv: TestServer;
  let acct: NewAccountResult;

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: false });
    acct = await srv.account();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('answers 300 mixed requests without a 5xx and stays usable', async () => {
    const before = await srv.api(acct.api_key, 'GET', '/account');
    const startCount = Number((before.json.account_details as { api_requests: string }[])[0]
      ?.api_requests);

    type Shot = () => Promise<{ status: number; authed: boolean }>;
    const shots: Shot[] = [
      async () => ({ status: (await srv.api(acct.api_key, 'GET', '/video/all')).status,
        authed: true }),
      async () => ({ status: (await srv.api(acct.api_key, 'GET', '/environment')).status,
        authed: true }),
      async () => ({ status: (await srv.api(acct.api_key, 'POST', '/environment', '{"x":')).status,
        authed: true }),
      async () => ({ status: (await srv.api('wrong-key', 'GET', '/account')).status,
        authed: false }),
      async () => ({ status: (await srv.api(acct.api_key, 'GET', '/video/424242')).status,
        authed: true }),
      async () => ({ status: (await fetch(`${srv.url}/media/${'0'.repeat(32)}/x.mp4`)).status,
        authed: false }),
    ];
    const total = 300;
    const statuses: number[] = [];
    let authed = 0;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const shot = shots[next % shots.length];
        next += 1;
        if (shot === undefined) continue;
        const r = await shot();
        statuses.push(r.status);
        if (r.authed) authed += 1;
      }
    };
    await Promise.all(Array.from({ length: 30 }, worker));

    expect(statuses).toHaveLength(total);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    const after = await srv.api(acct.api_key, 'GET', '/account');
    expect(after.status).toBe(200);
    // Every authenticated request of the storm was counted once, none lost to a race.
    const count = Number((after.json.account_details as { api_requests: string }[])[0]
      ?.api_requests);
    expect(count).toBe(startCount + authed + 1);
  }, 60_000);
});

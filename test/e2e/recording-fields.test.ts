import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { locateMediaBinaries } from '../../src/media/binaries.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import {
  ffprobeJson, makeMediaFixtures, rawRotation, rawStream,
} from '../helpers/media-fixtures.js';
import type { MediaFixtures } from '../helpers/media-fixtures.js';

const bins = locateMediaBinaries();
type Video = Record<string, string | null>;

describe.each(DIALECTS)('recording fields against ffprobe (%s)', (dialect) => {
  let t: TestServer;
  let fx: MediaFixtures;
  let dir: string;
  let acct: Awaited<ReturnType<TestServer['account']>>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-fields-'));
    fx = await makeMediaFixtures(dir);
    t = await startTestServer(dialect);
    acct = await t.account();
  });

  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function ingest(file: string): Promise<Video> {
    const up = await uploadFile(t.url, {
      accountHash: acct.account_hash, eid: acct.environment.env_code,
    }, { name: path.basename(file), data: await readFile(file) });
    expect(up.status, up.text).toBe(201);
    const id = (up.json.videos as Video[])[0]?.id ?? '';
    return eventually(async () => {
      const res = await t.api(acct.api_key, 'GET', `/video/${id}`);
      const v = (res.json.videos as Video[])[0];
      return v !== undefined && v.conversion_status !== 'recorded' ? v : undefined;
    }, 60_000, `conversion of ${path.basename(file)}`);
  }

  /** Downloads the MP4 the API links to and checks each field against ffprobe's word. */
  async function checkAgainstFfprobe(video: Video, input: string) {
    const inProbe = await ffprobeJson(bins.ffprobe, input);
    const inVideo = rawStream(inProbe, 'video');
    const mp4 = Buffer.from(await (await fetch(`http://${video.pipeS3Link ?? ''}`)).arrayBuffer());
    const mp4Path = path.join(dir, `${video.name ?? 'x'}.mp4`);
    await writeFile(mp4Path, mp4);
    const outProbe = await ffprobeJson(bins.ffprobe, mp4Path);
    const outVideo = rawStream(outProbe, 'video');
    const outAudio = rawStream(outProbe, 'audio');

    expect(video.converted).toBe('1');
    expect(video.transcoded).toBe('1');
    expect(video.has_mp4).toBe('1');
    expect(video.has_original).toBe('1');
    expect(Number(video.length)).toBeCloseTo(Number(outProbe.format.duration), 1);
    expect(video.length).toMatch(/^\d+\.\d\d$/);
    expect(video.size).toBe(String(mp4.length));
    expect(video.checksum_md5).toBe(createHash('md5').update(mp4).digest('hex'));
    expect(video.checksum_sha1).toBe(createHash('sha1').update(mp4).digest('hex'));
    expect(video.hasAudio).toBe(outAudio === undefined ? '0' : '1');
    expect(video.audio_only).toBe(outVideo === undefined ? '1' : '0');
    expect(video.width).toBe(String(outVideo?.width ?? 0));
    expect(video.height).toBe(String(outVideo?.height ?? 0));
    expect(video.orig_width).toBe(inVideo?.width === undefined ? null : String(inVideo.width));
    expect(video.orig_height).toBe(inVideo?.height === undefined ? null : String(inVideo.height));
    // ffprobe's display matrix turns counter-clockwise; the legacy `rotate` tag, which Pipe
    // reports, turns clockwise.
    expect(video.rotation).toBe(String(normalised(-rawRotation(inVideo))));
    expect(video.has_snapshot).toBe(outVideo === undefined ? '0' : '1');
    if (outVideo !== undefined) {
      expect(outVideo.codec_name).toBe('h264');
      expect(rawRotation(outVideo)).toBe(0);
      const snap = await fetch(`http://${video.snapshotURL ?? ''}`);
      expect(snap.headers.get('content-type')).toBe('image/jpeg');
    } else {
      expect(video.snapshotURL).toBeNull();
    }
    if (outAudio !== undefined) expect(outAudio.codec_name).toBe('aac');
    return { inProbe, outProbe, outVideo };
  }

  it('a Chromium MediaRecorder WebM, whose header has no duration', async () => {
    const video = await ingest(fx.chromiumWebm);
    const { inProbe } = await checkAgainstFfprobe(video, fx.chromiumWebm);
    expect(inProbe.format.duration).toBeUndefined();
    expect(Number(video.length)).toBeGreaterThan(2.5);
    expect(video.original_container).toBe('webm');
  });

  it('a phone MOV with rotation metadata comes out upright', async () => {
    const video = await ingest(fx.rotatedMov);
    const { outVideo } = await checkAgainstFfprobe(video, fx.rotatedMov);
    expect(video.rotation).toBe('90');
    expect(Number(outVideo?.height)).toBeGreaterThan(Number(outVideo?.width));
    expect(video.original_container).toBe('mov');
  });

  it('an MP4 without audio', async () => {
    const video = await ingest(fx.mp4NoAudio);
    await checkAgainstFfprobe(video, fx.mp4NoAudio);
    expect(video.hasAudio).toBe('0');
  });

  it('an audio-only file', async () => {
    const video = await ingest(fx.audioOnly);
    await checkAgainstFfprobe(video, fx.audioOnly);
    expect(video.audio_only).toBe('1');
    expect(video.has_snapshot).toBe('0');
  });

  it('an upright H.264/AAC MP4 is remuxed with its streams unchanged', async () => {
    const video = await ingest(fx.uprightH264Aac);
    const { inProbe, outProbe } = await checkAgainstFfprobe(video, fx.uprightH264Aac);
    const inV = rawStream(inProbe, 'video');
    const outV = rawStream(outProbe, 'video');
    expect(outV?.nb_frames).toBe(inV?.nb_frames);
    expect(outV?.bit_rate).toBe(inV?.bit_rate);
  });

  it('a corrupt file ends as a failed recording with the reason kept', async () => {
    const video = await ingest(fx.corrupt);
    expect(video.conversion_status).toBe('failed');
    expect(video.failure_reason).toMatch(/\S/);
    expect(video.converted).toBe('0');
    expect(video.has_mp4).toBe('0');
    expect(video.pipeS3Link).toBeNull();
  });
});

function normalised(rotation: number): number {
  return ((Math.round(rotation) % 360) + 360) % 360;
}

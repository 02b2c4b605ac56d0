import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AppError } from '../../src/lib/errors.js';
import { locateMediaBinaries } from '../../src/media/binaries.js';
import type { MediaBinaries } from '../../src/media/binaries.js';
import { probe } from '../../src/media/probe.js';
import {
  ffprobeJson, makeMediaFixtures, rawRotation, rawStream,
} from '../helpers/media-fixtures.js';
import type { MediaFixtures } from '../helpers/media-fixtures.js';

let dir: string;
let fx: MediaFixtures;
let bins: MediaBinaries;

beforeAll(async () => {
  bins = locateMediaBinaries();
  dir = await mkdtemp(join(tmpdir(), 'standpipe-probe-'));
  fx = await makeMediaFixtures(join(dir, 'fx'), bins);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('probe on real files', () => {
  it('reads browser WebM, which records no duration in its header', async () => {
    const raw = await ffprobeJson(bins.ffprobe, fx.chromiumWebm);
    const v = rawStream(raw, 'video');
    const a = rawStream(raw, 'audio');
    expect(raw.format.duration).toBeUndefined();

    const p = await probe(bins, fx.chromiumWebm);
    expect(p).toEqual({
      formatName: raw.format.format_name,
      container: 'webm',
      durationSec: null,
      sizeBytes: Number(raw.format.size),
      bitRate: null,
      video: { codec: v?.codec_name, width: v?.width, height: v?.height, rotation: 0,
        pixFmt: v?.pix_fmt, durationSec: null },
      audio: { codec: a?.codec_name, channels: a?.channels, sampleRate: Number(a?.sample_rate) },
      streamCount: raw.streams.length,
    });
    expect(raw.format.format_name).toBe('matroska,webm');
  });

  it('reports a phone MOV rotation as 90 degrees clockwise with the coded size', async () => {
    const raw = await ffprobeJson(bins.ffprobe, fx.rotatedMov);
    const v = rawStream(raw, 'video');
    expect(rawRotation(v)).toBe(-90);
    expect(raw.format.tags?.major_brand?.trim()).toBe('qt');

    const p = await probe(bins, fx.rotatedMov);
    expect(p.container).toBe('mov');
    expect(p.video).toEqual({ codec: 'h264', width: v?.width, height: v?.height, rotation: 90,
      pixFmt: 'yuv420p', durationSec: Number(v?.duration) });
    expect([p.video?.width, p.video?.height]).toEqual([640, 360]);
    expect(p.durationSec).toBeCloseTo(Number(raw.format.duration), 3);
    expect(p.bitRate).toBe(Number(raw.format.bit_rate));
  });

  it('names ISO files by brand and reads audio-only Ogg', async () => {
    const mp4 = await probe(bins, fx.uprightH264Aac);
    expect(mp4.container).toBe('mp4');
    expect(mp4.audio?.codec).toBe('aac');

    const ogg = await probe(bins, fx.audioOnly);
    const raw = await ffprobeJson(bins.ffprobe, fx.audioOnly);
    expect(ogg.container).toBe('ogg');
    expect(ogg.video).toBeNull();
    expect(ogg.audio?.codec).toBe(rawStream(raw, 'audio')?.codec_name);
    expect(ogg.durationSec).toBeCloseTo(Number(raw.format.duration), 3);
  });

  it.each([['corrupt'], ['empty']] as const)('rejects %s input as media_unreadable', async (k) => {
    const err = await probe(bins, fx[k]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('media_unreadable');
    expect((err as AppError).retryable).toBe(false);
    expect((err as AppError).message).toMatch(/^cannot read \S+\.webm as audio or video: \w/);
    expect((err as AppError).message).not.toContain(dir);
  });

  it('rejects a missing file and a format that may pull in other files', async () => {
    const missing = await probe(bins, join(dir, 'missing.webm')).catch((e: unknown) => e);
    expect((missing as AppError).code).toBe('media_unreadable');

    const playlist = join(dir, 'list.m3u8');
    await writeFile(playlist, `#EXTM3U\n#EXTINF:1,\n${fx.uprightH264Aac}\n`);
    const hls = await probe(bins, playlist).catch((e: unknown) => e);
    expect((hls as AppError).code).toBe('media_unreadable');
  });
});

/** A stand-in ffprobe printing canned JSON, for output shapes other ffprobe versions give. */
async function cannedProbe(name: string, json: object): Promise<MediaBinaries> {
  const data = join(dir, `${name}.json`);
  const script = join(dir, `${name}.sh`);
  await writeFile(data, JSON.stringify(json));
  await writeFile(script, `#!/bin/sh\ncat '${data}'\n`);
  await chmod(script, 0o755);
  return { ffmpeg: '/bin/false', ffprobe: script, source: 'env', version: 'canned' };
}

function movWith(video: object, brand = 'qt  '): object {
  return {
    format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '2.000000', size: '1000',
      tags: { major_brand: brand } },
    streams: [{ codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080,
      pix_fmt: 'yuv420p', ...video }],
  };
}

const MATRIX_CW_90 = [
  '',
  '00000000:            0       65536           0',
  '00000001:       -65536           0           0',
  '00000002:            0           0  1073741824',
  '',
].join('\n');

describe('probe on the output of other ffprobe versions', () => {
  it.each([
    ['4.x: side data and rotate tag', { tags: { rotate: '90' },
      side_data_list: [{ side_data_type: 'Display Matrix', displaymatrix: MATRIX_CW_90,
        rotation: -90 }] }, 90],
    ['legacy rotate tag only', { tags: { rotate: '270' } }, 270],
    ['matrix without a rotation field', { side_data_list: [{ side_data_type: 'Display Matrix',
      displaymatrix: MATRIX_CW_90 }] }, 90],
    ['upside down, 7.x spelling', { side_data_list: [{ side_data_type: 'Display Matrix',
      rotation: 180 }] }, 180],
    ['counter-clockwise', { side_data_list: [{ side_data_type: 'Display Matrix',
      rotation: 90 }] }, 270],
    ['no rotation at all', {}, 0],
  ])('%s', async (name, video, expected) => {
    const fake = await cannedProbe(name.replace(/\W+/g, '-'), movWith(video));
    expect((await probe(fake, '/dev/null')).video?.rotation).toBe(expected);
  });

  it('tells WebM from Matroska and M4A from MP4', async () => {
    const mkv = await cannedProbe('mkv', {
      format: { format_name: 'matroska,webm' },
      streams: [{ codec_type: 'video', codec_name: 'h264', width: 2, height: 2 }],
    });
    expect((await probe(mkv, '/dev/null')).container).toBe('mkv');

    const m4a = await cannedProbe('m4a', {
      format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', tags: { major_brand: 'M4A ' } },
      streams: [{ codec_type: 'audio', codec_name: 'aac', channels: 2, sample_rate: '44100' }],
    });
    expect((await probe(m4a, '/dev/null')).container).toBe('m4a');
  });

  it('does not take cover art for video', async () => {
    const mp3 = await cannedProbe('mp3', {
      format: { format_name: 'mp3', duration: '3.0' },
      streams: [
        { codec_type: 'audio', codec_name: 'mp3', channels: 2, sample_rate: '44100' },
        { codec_type: 'video', codec_name: 'mjpeg', width: 300, height: 300,
          disposition: { attached_pic: 1 } },
      ],
    });
    const p = await probe(mp3, '/dev/null');
    expect(p.video).toBeNull();
    expect(p.container).toBe('mp3');
  });

  it('calls a file with no audio or video stream unreadable', async () => {
    const subs = await cannedProbe('subs', {
      format: { format_name: 'matroska,webm' },
      streams: [{ codec_type: 'subtitle', codec_name: 'webvtt' }],
    });
    await expect(probe(subs, '/dev/null')).rejects.toMatchObject({ code: 'media_unreadable' });
  });
});

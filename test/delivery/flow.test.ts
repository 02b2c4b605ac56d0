import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createS3Client } from '../../src/storage/s3.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { S3_KEY, startDeliveryServers } from './servers.js';
import type { DeliveryServers } from './servers.js';
import { makeTestTls } from './tls.js';

type Json = Record<string, unknown>;
type Acct = Awaited<ReturnType<TestServer['account']>>;

describe.each(DIALECTS)('deliveries to customer storage (%s)', (dialect) => {
  let dir: string;
  let srv: DeliveryServers;
  let t: TestServer;
  let hook: Receiver;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-flow-'));
    const tls = await makeTestTls(dir);
    srv = await startDeliveryServers(dir, tls);
    hook = await startReceiver();
    t = await startTestServer(dialect, {
      // The schedule (1 min … 6 h) shrunk to about six seconds in all.
      retryScale: 0.0002,
      env: {
        STANDPIPE_AMAZON_ENDPOINT: srv.s3.endpoint,
        STANDPIPE_DROPBOX_API_URL: srv.dropbox.url,
        STANDPIPE_DROPBOX_CONTENT_URL: srv.dropbox.url,
        STANDPIPE_TLS_CA_FILE: tls.caFile,
        STANDPIPE_DELIVERY_TIMEOUT_MS: '5000',
      },
    });
  });

  afterAll(async () => {
    await t.close();
    await hook.close();
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function create(acct: Acct, resource: string, body: Json): Promise<string> {
    const res = await t.api(acct.api_key, 'POST', resource, body);
    expect(res.status, res.text).toBe(201);
    const key = Object.keys(res.json).find((k) => k.endsWith('_details')) ?? '';
    return String((res.json[key] as Json[])[0]?.id);
  }

  async function upload(acct: Acct): Promise<number> {
    const up = await uploadFile(t.url, { accountHash: acct.account_hash,
      eid: acct.environment.env_code, payload: 'p&q' },
    { name: 'clip.webm', data: await readFile(CHROMIUM_WEBM) }, { referer: 'https://x.test/' });
    expect(up.status, up.text).toBe(201);
    return Number((up.json.videos as Json[])[0]?.id);
  }

  const video = async (acct: Acct, id: number) =>
    ((await t.api(acct.api_key, 'GET', `/video/${id}`)).json.videos as Json[])[0] ?? {};
  const deliveries = async (acct: Acct, id: number) =>
    (await t.api(acct.api_key, 'GET', `/video/${id}/deliveries`)).json.deliveries as Json[];
  const sftpUser = () => ({ sftp_host: '127.0.0.1', sftp_port: String(srv.sftp.port),
    sftp_username: srv.user.username });

  it('copies to S3, FTPS, SFTP and Dropbox: files whole, flags, events with the fields',
    async () => {
      const acct = await t.account();
      const folder = `${dialect}/Récordings é+&`;
      await t.api(acct.api_key, 'POST', '/webhook', { webhook: hook.url(`/${dialect}`),
        env_id: '1', webhook_copied_s3: '1', webhook_copied_ftp: '1', webhook_copied_dbox: '1' });
      await create(acct, '/amazon', { amz_key: S3_KEY, amz_secret: S3_KEY,
        amz_bucket: 'customer-bucket', amz_bucket_region: 'us-east-1', amz_acl: 'public-read',
        amz_folder: folder });
      await create(acct, '/ftp', { ftp_host: '127.0.0.1', ftp_port: String(srv.ftps.port),
        ftp_username: srv.user.username, ftp_password: srv.user.password, ftp_dir: folder,
        ...sftpUser(), sftp_password: srv.user.password, sftp_dir: `/${folder}` });
      await create(acct, '/dropbox', { dbox_token: srv.dropboxToken, dbox_folder: folder });
      const hooksBefore = hook.requests.length;

      const id = await upload(acct);
      const done = await eventually(async () => {
        const v = await video(acct, id);
        return ['s3ed', 'ftped', 'sftped', 'dboxed'].every((f) => v[f] === '1') ? v : undefined;
      }, 40_000, 'every delivery flag');
      expect(done.retry_interval).toBe('-1');
      const name = String(done.name);
      const size = Number(done.size);

      for (const root of [srv.ftps.root, srv.sftp.root]) {
        expect((await stat(path.join(root, folder, `${name}.mp4`))).size).toBe(size);
        expect((await stat(path.join(root, folder, `${name}.jpg`))).size).toBeGreaterThan(0);
        expect((await stat(path.join(root, folder, `${name}_raw.webm`))).size)
          .toBe((await stat(CHROMIUM_WEBM)).size);
      }
      expect(srv.dropbox.files.get(`/${folder}/${name}.mp4`.toLowerCase())?.data.length)
        .toBe(size);
      const s3 = createS3Client({ endpoint: srv.s3.endpoint, region: 'us-east-1',
        accessKeyId: S3_KEY, secretAccessKey: S3_KEY, forcePathStyle: true });
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'customer-bucket',
        Key: `${folder}/${name}.mp4` }));
      expect(head.ContentLength).toBe(size);

      const rows = await deliveries(acct, id);
      expect(rows.map((r) => `${String(r.target)}:${String(r.status)}`).sort())
        .toEqual(['dbox:delivered', 'ftp:delivered', 's3:delivered', 'sftp:delivered']);
      const s3Row = rows.find((r) => r.target === 's3');
      expect((s3Row?.files as Json[]).map((f) => f.name))
        .toEqual([`${name}.mp4`, `${name}.jpg`, `${name}_raw.webm`]);

      const copies = () => hook.requests.slice(hooksBefore)
        .map((r) => r.json as { event: string; data: Json })
        .filter((e) => e.event.startsWith('video_copied_') && e.event !== 'video_copied_pipe_s3');
      const events = await eventually(async () => (copies().length >= 4 ? copies() : undefined),
        20_000, 'four copy events');
      expect(events.map((e) => e.event).sort()).toEqual(['video_copied_dbox',
        'video_copied_ftp', 'video_copied_ftp', 'video_copied_s3']);
      const byEvent = (e: string) => events.find((x) => x.event === e)?.data ?? {};
      const encoded = folder.split('/').map(encodeURIComponent).join('/');
      expect(byEvent('video_copied_s3')).toEqual({ s3UploadStatus: 'upload success',
        videoName: name, type: 'mp4', size, id,
        url: `${srv.s3.endpoint}/customer-bucket/${encoded}/${name}.mp4`,
        snapshotUrl: `${srv.s3.endpoint}/customer-bucket/${encoded}/${name}.jpg`,
        bucket: 'customer-bucket', region: 'us-east-1', acl: 'public-read', payload: 'p&q' });
      expect(byEvent('video_copied_ftp')).toMatchObject({ ftpUploadStatus: 'upload success',
        videoName: name, type: 'mp4', size, id, audioCodec: 'AAC', videoCodec: 'H.264',
        httpReferer: 'https://x.test/', payload: 'p&q', width: expect.any(String) as unknown });
      expect(byEvent('video_copied_dbox')).toEqual({ dboxUploadStatus: 'upload success',
        videoName: name, type: 'mp4', size, id, checksum_md5: done.checksum_md5,
        checksum_sha1: done.checksum_sha1, payload: 'p&q' });
    });

  it('retries a failed delivery, shows where it stands, and uses a PUT at the next attempt',
    async () => {
      const acct = await t.account();
      const credId = await create(acct, '/ftp', { ...sftpUser(), sftp_password: 'wrong',
        sftp_dir: `retry-${dialect}` });
      const id = await upload(acct);

      const failing = await eventually(async () => {
        const row = (await deliveries(acct, id))?.[0];
        return Number(row?.attempts) >= 2 ? row : undefined;
      }, 40_000, 'two failed attempts');
      expect(failing?.status).toBe('pending');
      expect(failing?.last_error).toMatch(/refused the login; check sftp_username and sftp_pass/);
      expect(failing?.last_attempt_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      const waiting = await video(acct, id);
      expect(waiting.sftped).toBe('0');
      expect(Number(waiting.retry_interval)).toBeGreaterThan(0);
      expect(waiting.last_retry_time).toMatch(/^\d{4}-/);

      const put = await t.api(acct.api_key, 'PUT', `/ftp/${credId}`,
        { sftp_password: srv.user.password });
      expect(put.status).toBe(200);
      const done = await eventually(async () => {
        const v = await video(acct, id);
        return v.sftped === '1' ? v : undefined;
      }, 30_000, 'delivery after the new password');
      expect(done.retry_interval).toBe('-1');
      const row = (await deliveries(acct, id))?.[0];
      expect(row).toMatchObject({ status: 'delivered', last_error: null });
    });

  it('gives up when the schedule is used up, leaving the last reason readable', async () => {
    const acct = await t.account();
    await create(acct, '/ftp', { ftp_host: '127.0.0.1', ftp_port: '1', ftp_username: 'u',
      ftp_password: 'p' });
    const id = await upload(acct);
    const row = await eventually(async () => {
      const r = (await deliveries(acct, id))?.[0];
      return r?.status === 'failed' ? r : undefined;
    }, 30_000, 'the delivery to give up');
    expect(row.attempts).toBe('6');
    expect(row.last_error).toMatch(/127\.0\.0\.1:1 refused the connection; check the host/);
    expect(row.next_attempt_time).toBeNull();
    const v = await video(acct, id);
    expect(v).toMatchObject({ ftped: '0', retry_interval: '-1' });
    expect(v.last_retry_time).toMatch(/^\d{4}-/);
  });

  it('gives up at once on an address it may not reach, and says why', async () => {
    const acct = await t.account();
    await create(acct, '/ftp', { sftp_host: '169.254.169.254', sftp_username: 'u',
      sftp_password: 'p' });
    const id = await upload(acct);
    const row = await eventually(async () => {
      const r = (await deliveries(acct, id))?.[0];
      return r?.status === 'failed' ? r : undefined;
    }, 30_000, 'the delivery to give up');
    expect(row.attempts).toBe('1');
    expect(row.last_error).toMatch(/169\.254\.169\.254 is a .*metadata address.*OUTBOUND_ALLOW/);
    const v = await video(acct, id);
    expect(v).toMatchObject({ sftped: '0', retry_interval: '-1', not_stored: '0' });
  });

  it('do_not_store: the stored copies go once every delivery succeeded', async () => {
    const acct = await t.account();
    const env = await t.api(acct.api_key, 'PUT', `/environment/${acct.environment.id}`,
      { do_not_store: '1' });
    expect(env.status, env.text).toBe(200);
    await create(acct, '/dropbox', { dbox_token: srv.dropboxToken,
      dbox_folder: `nostore-${dialect}` });
    await create(acct, '/ftp', { ...sftpUser(), sftp_password: srv.user.password,
      sftp_dir: `nostore-${dialect}` });
    const id = await upload(acct);
    const done = await eventually(async () => {
      const v = await video(acct, id);
      return v.not_stored === '1' ? v : undefined;
    }, 40_000, 'not_stored');
    expect(done).toMatchObject({ dboxed: '1', sftped: '1', pipeS3Link: null,
      snapshotURL: null });
    const media = path.join(t.dataDir, 'media', acct.account_hash);
    const left = await readdir(media).catch(() => [] as string[]);
    expect(left.filter((f) => f.startsWith(String(done.name)))).toEqual([]);
    const link = await fetch(`${t.url}/media/${acct.account_hash}/${String(done.name)}.mp4`);
    expect(link.status).toBe(404);
    expect((await stat(path.join(srv.sftp.root, `nostore-${dialect}`,
      `${String(done.name)}.mp4`))).size).toBe(Number(done.size));
  });

  it('tests a set of credentials: writes and removes a file, or says what is wrong',
    async () => {
      const acct = await t.account();
      const ftpId = await create(acct, '/ftp', { ftp_host: '127.0.0.1',
        ftp_port: String(srv.ftp.port), ftp_username: srv.user.username,
        ftp_password: srv.user.password, ftp_dir: `probe-${dialect}`, ...sftpUser(),
        sftp_password: 'wrong' });
      const amzId = await create(acct, '/amazon', { amz_key: S3_KEY, amz_secret: S3_KEY,
        amz_bucket: 'customer-bucket', amz_bucket_region: 'us-east-1' });
      const dboxId = await create(acct, '/dropbox', { dbox_token: 'revoked' });
      const run = async (p: string, body?: Json) => {
        const res = await t.api(acct.api_key, 'POST', p, body);
        expect(res.status, res.text).toBe(200);
        return res.json.test_result as Json;
      };

      const ftp = await run(`/ftp/${ftpId}/test`, { protocol: 'ftp' });
      expect(ftp).toMatchObject({ target: 'ftp', success: '1', step: 'done' });
      expect(ftp.message).toMatch(/wrote standpipe-test-\w+\.txt .* and removed it/);
      expect(await readdir(path.join(srv.ftp.root, `probe-${dialect}`))).toEqual([]);

      const sftp = await run(`/ftp/${ftpId}/test`, { protocol: 'sftp' });
      expect(sftp).toMatchObject({ success: '0', step: 'connect', retryable: '0' });
      expect(sftp.message).toMatch(/refused the login; check sftp_username and sftp_password/);
      expect(await run(`/amazon/${amzId}/test`)).toMatchObject({ success: '1' });
      const dbox = await run(`/dropbox/${dboxId}/test`);
      expect(dbox).toMatchObject({ success: '0', step: 'write' });
      expect(dbox.message).toMatch(/dbox_token/);

      // A changed bucket is what the next test (and the next delivery) uses.
      await t.api(acct.api_key, 'PUT', `/amazon/${amzId}`, { amz_bucket: 'another-bucket' });
      const moved = await run(`/amazon/${amzId}/test`);
      expect(moved.message).toMatch(/"another-bucket" does not exist; check amz_bucket/);

      const missing = await t.api(acct.api_key, 'POST', `/ftp/${ftpId}/test`, {});
      expect(missing.status).toBe(400);
      expect(missing.json.message).toMatch(/protocol/);
      const other = await t.account();
      expect((await t.api(other.api_key, 'POST', `/ftp/${ftpId}/test`,
        { protocol: 'ftp' })).status).toBe(404);
    });
});

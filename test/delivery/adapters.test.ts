import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { dropboxDestination } from '../../src/delivery/dropbox.js';
import { ftpDestination } from '../../src/delivery/ftp.js';
import { s3Destination } from '../../src/delivery/s3.js';
import { sftpDestination } from '../../src/delivery/sftp.js';
import type { ConnectOptions, Destination, LocalFile } from '../../src/delivery/types.js';
import { AppError } from '../../src/lib/errors.js';
import { parseAllowList } from '../../src/lib/outbound.js';
import type { LookupResolver } from '../../src/lib/outbound.js';
import { createS3Client } from '../../src/storage/s3.js';
import { S3_KEY, startDeliveryServers, startFtpServer } from './servers.js';
import type { DeliveryServers } from './servers.js';
import { makeTestTls } from './tls.js';
import type { TestTls } from './tls.js';

const FOLDER = `Récordings/a b+c&d "q" 'e'/日本`;
const NAMES = ['with space.mp4', 'plus+and&amp.jpg', `quote"s'.txt`, 'Ünïcödé 日本_raw.webm'];
/** ftp-srv, the test's FTP server, drops every double quote from a command line. */
const folderFor = (kind: string) => (kind.startsWith('FTP') ? FOLDER.replace(/"/g, '') : FOLDER);
const nameFor = (kind: string, name: string) =>
  (kind.startsWith('FTP') ? name.replace(/"/g, '') : name);

/** Resolves the test's own names to loopback, and counts what it was asked. */
function stubResolver(names: Record<string, string[]>) {
  const asked: string[] = [];
  const resolver: LookupResolver = (host, _options, callback) => {
    asked.push(host);
    const found = names[host];
    if (found === undefined) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${host}`);
      err.code = 'ENOTFOUND';
      callback(err, []);
      return;
    }
    callback(null, found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  return { resolver, asked };
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort();
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('delivery adapters against real servers on 127.0.0.1', () => {
  let dir: string;
  let tls: TestTls;
  let srv: DeliveryServers;
  let files: LocalFile[];
  let o: ConnectOptions;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-adapters-'));
    tls = await makeTestTls(dir);
    srv = await startDeliveryServers(dir, tls);
    o = { allow: parseAllowList('127.0.0.1,::1'), timeoutMs: 5000, extraCa: tls.ca };
    files = [];
    for (const [i, name] of NAMES.entries()) {
      const file = path.join(dir, `local-${i}`);
      const data = randomBytes(1000 + i * 7919);
      await writeFile(file, data);
      files.push({ path: file, name, size: data.length, contentType: 'application/octet-stream' });
    }
  });

  afterAll(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  const user = () => srv.user;
  const destinations: [string, () => Destination][] = [
    ['FTP', () => ftpDestination({ host: '127.0.0.1', port: srv.ftp.port, ...creds(),
      folder: folderFor('FTP') }, o)],
    ['FTPS', () => ftpDestination({ host: '127.0.0.1', port: srv.ftps.port, ...creds(),
      folder: folderFor('FTP') }, o)],
    ['SFTP', () => sftpDestination({ host: '127.0.0.1', port: srv.sftp.port, ...creds(),
      folder: FOLDER }, o)],
    ['S3', () => s3Destination({ key: S3_KEY, secret: S3_KEY, bucket: 'customer-bucket',
      region: 'us-east-1', acl: 'public-read', folder: FOLDER }, { ...o,
      endpoint: srv.s3.endpoint })],
    ['Dropbox', () => dropboxDestination({ token: srv.dropboxToken, folder: FOLDER },
      { ...o, apiUrl: srv.dropbox.url, contentUrl: srv.dropbox.url })],
  ];
  function creds() {
    return { username: user().username, password: user().password };
  }

  /** The bytes that arrived for `name`, read from the server's own storage. */
  async function arrived(kind: string, name: string): Promise<Buffer | undefined> {
    const key = `${folderFor(kind)}/${nameFor(kind, name)}`;
    const fromDisk = (root: string) => readFile(path.join(root, key)).catch(() => undefined);
    if (kind === 'FTP') return fromDisk(srv.ftp.root);
    if (kind === 'FTPS') return fromDisk(srv.ftps.root);
    if (kind === 'SFTP') return fromDisk(srv.sftp.root);
    if (kind === 'Dropbox') return srv.dropbox.files.get(`/${key}`.toLowerCase())?.data;
    const client = createS3Client({ endpoint: srv.s3.endpoint, region: 'us-east-1',
      accessKeyId: S3_KEY, secretAccessKey: S3_KEY, forcePathStyle: true });
    const res = await client.send(new GetObjectCommand({ Bucket: 'customer-bucket', Key: key }));
    return Buffer.from(await res.Body?.transformToByteArray() ?? []);
  }

  it.each(destinations)('%s: hostile names and folders arrive unchanged, sizes read back',
    async (kind, make) => {
      const dest = make();
      const session = await dest.open(AbortSignal.timeout(10_000));
      const mine = files.map((f) => ({ ...f, name: nameFor(kind, f.name) }));
      const removed = mine[2]?.name ?? '';
      try {
        for (const file of mine) {
          await session.put(file, AbortSignal.timeout(10_000));
          expect(await session.size(file.name)).toBe(file.size);
        }
        expect(await session.size('not-there.mp4')).toBeNull();
        await session.remove(removed);
        expect(await session.size(removed)).toBeNull();
      } finally {
        await session.close();
      }
      for (const file of files.filter((f) => f.name !== NAMES[2])) {
        const data = await arrived(kind, file.name);
        expect(data && sha(data), `${kind} ${file.name}`).toBe(sha(await readFile(file.path)));
      }
    });

  it('writes nothing outside the configured folder on disk-backed servers', async () => {
    for (const [kind, root] of [['FTP', srv.ftp.root], ['FTPS', srv.ftps.root],
      ['SFTP', srv.sftp.root]] as const) {
      for (const file of await listFiles(root)) {
        expect(file.startsWith(`${folderFor(kind)}/`)).toBe(true);
      }
    }
    for (const key of srv.dropbox.files.keys()) {
      expect(key.startsWith(`/${FOLDER}/`.toLowerCase())).toBe(true);
    }
  });

  it('refuses ".." in a folder or a name before connecting, for every destination', () => {
    for (const folder of ['../up', 'a/../../b', 'x/..', 'a\\..\\b']) {
      expect(() => ftpDestination({ host: '127.0.0.1', port: 21, username: '', password: '',
        folder }, o)).toThrow(/ftp_dir .*"\.\."/);
      expect(() => sftpDestination({ host: '127.0.0.1', port: 22, username: '', password: '',
        folder }, o)).toThrow(/sftp_dir/);
      expect(() => s3Destination({ key: 'k', secret: 's', bucket: 'b', region: 'r', acl:
        'private', folder }, { ...o, endpoint: '' })).toThrow(/amz_folder/);
      expect(() => dropboxDestination({ token: 't', folder }, { ...o, apiUrl: '',
        contentUrl: '' })).toThrow(/dbox_folder/);
    }
    const dest = s3Destination({ key: 'k', secret: 's', bucket: 'b', region: 'us-east-1',
      acl: 'private', folder: '' }, { ...o, endpoint: '' });
    expect(() => dest.urlOf('..')).toThrow(AppError);
    expect(() => dest.urlOf('a/b.mp4')).toThrow(/not a file name/);
  });

  it('connects to the address it checked: a name known only to the resolver works', async () => {
    const { resolver, asked } = stubResolver({ 'storage.customer.test': ['127.0.0.1'] });
    for (const port of [srv.ftps.port, srv.ftp.port]) {
      const dest = ftpDestination({ host: 'storage.customer.test', port, ...creds(),
        folder: 'by-name' }, { ...o, resolver });
      const session = await dest.open(AbortSignal.timeout(10_000));
      await session.put(files[0] as LocalFile, AbortSignal.timeout(10_000));
      expect(await session.size(NAMES[0] ?? '')).toBe(files[0]?.size);
      await session.close();
    }
    const sftp = sftpDestination({ host: 'storage.customer.test', port: srv.sftp.port,
      ...creds(), folder: '/abs/by-name' }, { ...o, resolver });
    const session = await sftp.open(AbortSignal.timeout(10_000));
    await session.put(files[1] as LocalFile, AbortSignal.timeout(10_000));
    await session.close();
    expect(await readFile(path.join(srv.sftp.root, 'abs/by-name', NAMES[1] ?? ''))).toEqual(
      await readFile(files[1]?.path ?? ''));
    expect(asked).toEqual(['storage.customer.test', 'storage.customer.test',
      'storage.customer.test']);
  });

  it('FTPS with implicit TLS (port 990 elsewhere) checks the certificate too', async () => {
    const implicit = await startFtpServer(path.join(dir, 'implicit'), srv.user, tls, true);
    try {
      const make = (extraCa: string | null) => ftpDestination({ host: '127.0.0.1',
        port: implicit.port, ...creds(), folder: 'imp', implicitTls: true }, { ...o, extraCa });
      const session = await make(tls.ca).open(AbortSignal.timeout(10_000));
      await session.put(files[0] as LocalFile, AbortSignal.timeout(10_000));
      await session.close();
      expect(await readFile(path.join(implicit.root, 'imp', NAMES[0] ?? ''))).toEqual(
        await readFile(files[0]?.path ?? ''));
      await expect(make(null).open(AbortSignal.timeout(10_000))).rejects
        .toThrow(/certificate .* is not trusted/);
    } finally {
      await implicit.close();
    }
  });

  it('S3 uploads in parts above the threshold and the object is whole', async () => {
    const big = path.join(dir, 'big.bin');
    const data = randomBytes(11 * 1024 * 1024 + 123);
    await writeFile(big, data);
    const dest = s3Destination({ key: S3_KEY, secret: S3_KEY, bucket: 'customer-bucket',
      region: 'us-east-1', acl: 'private', folder: 'big' }, { ...o, endpoint: srv.s3.endpoint,
      multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    const session = await dest.open(AbortSignal.timeout(10_000));
    await session.put({ path: big, name: 'big.mp4', size: data.length, contentType:
      'video/mp4' }, AbortSignal.timeout(20_000));
    expect(await session.size('big.mp4')).toBe(data.length);
    await session.close();
    const uploads = await readdir(path.join(srv.s3.root, 'customer-bucket', 'big'));
    expect(uploads.some((f) => f.startsWith('big.mp4'))).toBe(true);
    expect(dest.urlOf('big.mp4')).toBe(`${srv.s3.endpoint}/customer-bucket/big/big.mp4`);
  });

  it('Dropbox uses an upload session for large files, in order', async () => {
    const big = path.join(dir, 'dbox.bin');
    const data = randomBytes(300 * 1024 + 5);
    await writeFile(big, data);
    const dest = dropboxDestination({ token: srv.dropboxToken, folder: 'Sessions é' }, { ...o,
      apiUrl: srv.dropbox.url, contentUrl: srv.dropbox.url, singleUploadMax: 64 * 1024,
      chunkSize: 100 * 1024 });
    srv.dropbox.calls.length = 0;
    const session = await dest.open(AbortSignal.timeout(10_000));
    await session.put({ path: big, name: 'long clip.mp4', size: data.length,
      contentType: 'video/mp4' }, AbortSignal.timeout(10_000));
    expect(srv.dropbox.calls).toEqual(['/2/files/upload_session/start',
      ...Array<string>(4).fill('/2/files/upload_session/append_v2'),
      '/2/files/upload_session/finish']);
    expect(srv.dropbox.files.get('/sessions é/long clip.mp4')?.data.equals(data)).toBe(true);
  });

  describe('failures are told in words that say what to change', () => {
    const messageOf = async (dest: Destination): Promise<AppError> => {
      try {
        const session = await dest.open(AbortSignal.timeout(10_000));
        await session.put(files[0] as LocalFile, AbortSignal.timeout(10_000));
        await session.close();
      } catch (err) {
        expect(err).toBeInstanceOf(AppError);
        return err as AppError;
      }
      throw new Error('expected a failure');
    };

    it('wrong passwords, keys, buckets and tokens', async () => {
      const bad = { username: srv.user.username, password: 'wrong' };
      expect((await messageOf(ftpDestination({ host: '127.0.0.1', port: srv.ftp.port, ...bad,
        folder: '' }, o))).message).toMatch(/refused the login.*ftp_username and ftp_password/);
      expect((await messageOf(sftpDestination({ host: '127.0.0.1', port: srv.sftp.port,
        ...bad, folder: '' }, o))).message).toMatch(/refused the login.*sftp_password/);
      const s3 = { key: S3_KEY, secret: S3_KEY, bucket: 'customer-bucket', region: 'us-east-1',
        acl: 'private', folder: '' };
      const s3o = { ...o, endpoint: srv.s3.endpoint };
      // s3rver knows its access key but does not check version 4 signatures.
      expect((await messageOf(s3Destination({ ...s3, key: 'AKIAUNKNOWN' }, s3o))).message)
        .toMatch(/does not know the access key in amz_key/);
      expect((await messageOf(s3Destination({ ...s3, bucket: 'no-such-bucket' }, s3o))).message)
        .toMatch(/"no-such-bucket" does not exist; check amz_bucket/);
      expect((await messageOf(s3Destination({ ...s3, key: '' }, s3o))).message)
        .toMatch(/amz_key and amz_secret are not set/);
      expect((await messageOf(dropboxDestination({ token: 'expired', folder: '' }, { ...o,
        apiUrl: srv.dropbox.url, contentUrl: srv.dropbox.url }))).message)
        .toMatch(/dbox_token/);
    });

    it('a closed port, an unknown name and an untrusted certificate', async () => {
      const closed = await messageOf(ftpDestination({ host: '127.0.0.1', port: 1, ...creds(),
        folder: '' }, o));
      expect(closed.message).toMatch(/refused the connection; check the host and port/);
      expect(closed.retryable).toBe(true);
      const { resolver } = stubResolver({});
      const unknown = await messageOf(sftpDestination({ host: 'nowhere.customer.test',
        port: 22, ...creds(), folder: '' }, { ...o, resolver }));
      expect(unknown.message).toMatch(/does not resolve/);
      const untrusted = await messageOf(ftpDestination({ host: '127.0.0.1',
        port: srv.ftps.port, ...creds(), folder: '' }, { ...o, extraCa: null }));
      expect(untrusted.message).toMatch(/certificate .* is not trusted.*STANDPIPE_TLS_CA_FILE/);
    });
  });
});

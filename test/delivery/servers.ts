/**
 * Real servers on 127.0.0.1 for the delivery tests: FTP and FTPS (ftp-srv), SFTP (ssh2),
 * S3 (s3rver), and a stand-in that speaks Dropbox's HTTP API. Each keeps its files in a
 * folder of its own, so a test reads what arrived straight from the disk.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { FtpSrv } from 'ftp-srv';
import S3rver from 's3rver';

import { startDropboxStandIn } from './dropbox-stand-in.js';
import type { DropboxStandIn } from './dropbox-stand-in.js';
import { startSftpServer } from './sftp-server.js';
import type { SftpServer } from './sftp-server.js';
import type { TestTls } from './tls.js';

export type { DropboxStandIn, SftpServer };

export interface FtpServer {
  port: number;
  root: string;
  logins: number;
  close(): Promise<void>;
}

const quiet: Record<string, unknown> = {};
for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
  quiet[level] = () => undefined;
}
quiet.child = () => quiet;

export async function startFtpServer(
  root: string,
  user: { username: string; password: string },
  tls?: TestTls,
  implicit = false,
): Promise<FtpServer> {
  await mkdir(root, { recursive: true });
  const server = new FtpSrv({
    url: `${implicit ? 'ftps' : 'ftp'}://127.0.0.1:0`,
    pasv_url: '127.0.0.1',
    pasv_min: 30000,
    pasv_max: 39999,
    anonymous: false,
    greeting: 'standpipe test FTP',
    tls: tls === undefined ? false : { key: tls.key, cert: tls.cert },
    log: quiet,
  });
  const state = { logins: 0 };
  server.on('login', ({ username, password }, resolve, reject) => {
    state.logins += 1;
    if (username === user.username && password === user.password) resolve({ root, cwd: '/' });
    else reject(new Error('bad user name or password'));
  });
  server.on('client-error', () => undefined);
  await server.listen();
  const inner = (server as unknown as { server: { address(): AddressInfo } }).server;
  return {
    port: inner.address().port,
    root,
    get logins() {
      return state.logins;
    },
    close: async () => {
      await server.close();
    },
  };
}

export interface S3Server {
  endpoint: string;
  root: string;
  close(): Promise<void>;
}

/** s3rver accepts the key pair S3RVER / S3RVER and checks signatures made with it. */
export const S3_KEY = 'S3RVER';

export async function startS3Server(root: string, buckets: string[]): Promise<S3Server> {
  await mkdir(root, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: root,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  return { endpoint: `http://127.0.0.1:${address.port}`, root, close: () => server.close() };
}

export function sftpHostKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'sec1', format: 'pem' }).toString();
}

export interface DeliveryServers {
  ftp: FtpServer;
  ftps: FtpServer;
  sftp: SftpServer;
  s3: S3Server;
  dropbox: DropboxStandIn;
  user: { username: string; password: string };
  dropboxToken: string;
  close(): Promise<void>;
}

/** All of them at once, each in a folder under `dir`. */
export async function startDeliveryServers(dir: string, tls: TestTls): Promise<DeliveryServers> {
  // ftp-srv drops every double quote from a command line, so the password has none.
  const user = { username: 'pipe.user', password: `pw+&'${randomBytes(4).toString('hex')}` };
  const dropboxToken = `sl.${randomBytes(16).toString('hex')}`;
  const [ftp, ftps, sftp, s3, dropbox] = await Promise.all([
    startFtpServer(path.join(dir, 'ftp'), user),
    startFtpServer(path.join(dir, 'ftps'), user, tls),
    startSftpServer(path.join(dir, 'sftp'), user, sftpHostKey()),
    startS3Server(path.join(dir, 's3'), ['customer-bucket', 'media-bucket']),
    startDropboxStandIn(dropboxToken),
  ]);
  return {
    ftp, ftps, sftp, s3, dropbox, user, dropboxToken,
    close: async () => {
      await Promise.all([ftp.close(), ftps.close(), sftp.close(), s3.close(), dropbox.close()]);
    },
  };
}

/**
 * A small SFTP server over a local folder, enough for uploads: open, write, close, stat,
 * mkdir, remove and realpath. Paths are resolved inside the folder, so nothing a client sends
 * reaches outside it; the tests still check that nothing tried to.
 */
import { constants } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { Server, utils } from 'ssh2';
import type { Attributes, SFTPWrapper } from 'ssh2';

const { OK, FAILURE, NO_SUCH_FILE } = utils.sftp.STATUS_CODE;

export interface SftpServer {
  port: number;
  root: string;
  logins: number;
  /** Every path a client named, as sent. */
  paths: string[];
  close(): Promise<void>;
}

function attrsOf(s: Stats): Attributes {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size,
    atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
}

function openFlags(flags: number): number {
  const { READ, WRITE, APPEND, CREAT, TRUNC, EXCL } = utils.sftp.OPEN_MODE;
  let out = (flags & READ) && (flags & WRITE) ? constants.O_RDWR
    : flags & WRITE ? constants.O_WRONLY : constants.O_RDONLY;
  if (flags & APPEND) out |= constants.O_APPEND;
  if (flags & CREAT) out |= constants.O_CREAT;
  if (flags & TRUNC) out |= constants.O_TRUNC;
  if (flags & EXCL) out |= constants.O_EXCL;
  return out;
}

function serve(sftp: SFTPWrapper, root: string, paths: string[]) {
  const handles = new Map<number, FileHandle>();
  let next = 1;
  const real = (p: string) => {
    paths.push(p);
    return path.join(root, path.posix.resolve('/', p));
  };
  const fail = (reqid: number, err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? NO_SUCH_FILE : FAILURE;
    sftp.status(reqid, code);
  };
  const handleOf = (buf: Buffer) => handles.get(buf.readUInt32BE(0));
  const newHandle = (fh: FileHandle) => {
    const id = next++;
    handles.set(id, fh);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id, 0);
    return buf;
  };

  sftp.on('REALPATH', (reqid, p) => {
    const resolved = path.posix.resolve('/', p);
    sftp.name(reqid, [{ filename: resolved, longname: resolved, attrs: {} as Attributes }]);
  });
  const doStat = (reqid: number, p: string) => {
    stat(real(p)).then((s) => sftp.attrs(reqid, attrsOf(s)), (err) => fail(reqid, err));
  };
  sftp.on('STAT', doStat);
  sftp.on('LSTAT', doStat);
  sftp.on('OPEN', (reqid, p, flags) => {
    open(real(p), openFlags(flags)).then((fh) => sftp.handle(reqid, newHandle(fh)),
      (err) => fail(reqid, err));
  });
  sftp.on('WRITE', (reqid, handle, offset, data) => {
    const fh = handleOf(handle);
    if (fh === undefined) return sftp.status(reqid, FAILURE);
    fh.write(data, 0, data.length, offset).then(() => sftp.status(reqid, OK),
      (err) => fail(reqid, err));
  });
  sftp.on('FSTAT', (reqid, handle) => {
    const fh = handleOf(handle);
    if (fh === undefined) return sftp.status(reqid, FAILURE);
    fh.stat().then((s) => sftp.attrs(reqid, attrsOf(s)), (err) => fail(reqid, err));
  });
  sftp.on('FSETSTAT', (reqid) => sftp.status(reqid, OK));
  sftp.on('SETSTAT', (reqid) => sftp.status(reqid, OK));
  sftp.on('CLOSE', (reqid, handle) => {
    const id = handle.readUInt32BE(0);
    const fh = handles.get(id);
    handles.delete(id);
    if (fh === undefined) return sftp.status(reqid, FAILURE);
    fh.close().then(() => sftp.status(reqid, OK), (err) => fail(reqid, err));
  });
  sftp.on('MKDIR', (reqid, p) => {
    mkdir(real(p)).then(() => sftp.status(reqid, OK), (err) => fail(reqid, err));
  });
  sftp.on('REMOVE', (reqid, p) => {
    rm(real(p)).then(() => sftp.status(reqid, OK), (err) => fail(reqid, err));
  });
  sftp.on('end', () => {
    for (const fh of handles.values()) void fh.close();
  });
}

export async function startSftpServer(
  root: string,
  user: { username: string; password: string },
  hostKey: string,
): Promise<SftpServer> {
  await mkdir(root, { recursive: true });
  const state = { logins: 0, paths: [] as string[] };
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (auth) => {
      if (auth.method !== 'password') return auth.reject(['password']);
      state.logins += 1;
      if (auth.username === user.username && auth.password === user.password) auth.accept();
      else auth.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('sftp', (acceptSftp) => serve(acceptSftp(), root, state.paths));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    root,
    get logins() {
      return state.logins;
    },
    paths: state.paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

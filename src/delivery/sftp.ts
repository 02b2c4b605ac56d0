import { Client } from 'ssh2';
import type { SFTPWrapper, Stats } from 'ssh2';

import { AppError } from '../lib/errors.js';
import { resolveChecked } from './connect.js';
import { badSetting, explainNetworkError } from './errors.js';
import { checkFileName, joinRemote, parseFolder } from './paths.js';
import type { ConnectOptions, Destination, DestinationSession, LocalFile } from './types.js';

export interface SftpSettings {
  host: string;
  port: number;
  username: string;
  password: string;
  folder: string;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02) the messages name. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

function sftpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function explainSftpError(err: unknown, where: string, doing: string): AppError {
  if (err instanceof AppError) return err;
  const level = (err as { level?: unknown } | null)?.level;
  const message = err instanceof Error ? err.message : String(err);
  if (level === 'client-authentication') {
    return new AppError('upstream', `${where} refused the login; check sftp_username and ` +
      'sftp_password', { cause: err });
  }
  if (level === 'client-timeout') {
    return new AppError('timeout', `${where} did not complete the SSH handshake in time`,
      { cause: err });
  }
  if (sftpCode(err) === PERMISSION_DENIED) {
    return new AppError('upstream', `${where} refused ${doing} (permission denied); check ` +
      'that sftp_username may write to sftp_dir', { cause: err });
  }
  if (sftpCode(err) !== undefined) {
    return new AppError('upstream', `${where} failed ${doing}: ${message}`, { cause: err });
  }
  return explainNetworkError(err, where);
}

function call<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}

async function statOrNull(sftp: SFTPWrapper, path: string): Promise<Stats | null> {
  try {
    return await call<Stats>((cb) => sftp.stat(path, cb));
  } catch (err) {
    if (sftpCode(err) === NO_SUCH_FILE) return null;
    throw err;
  }
}

/** Creates each missing directory of `segments`, tolerating one made meanwhile by another. */
async function ensureDir(sftp: SFTPWrapper, absolute: boolean, segments: string[]) {
  for (let i = 1; i <= segments.length; i += 1) {
    const dir = joinRemote({ absolute, segments: segments.slice(0, i) });
    const found = await statOrNull(sftp, dir);
    if (found?.isDirectory() === true) continue;
    if (found !== null) throw new AppError('upstream', `"${dir}" exists and is not a folder`);
    try {
      await call<undefined>((cb) => sftp.mkdir(dir, (err) => cb(err, undefined)));
    } catch (err) {
      if ((await statOrNull(sftp, dir))?.isDirectory() !== true) throw err;
    }
  }
}

function connect(client: Client, address: string, s: SftpSettings, timeoutMs: number) {
  return new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    // Servers that take passwords only as keyboard-interactive get it for every prompt.
    client.on('keyboard-interactive', (_name, _info, _lang, prompts, finish) => {
      finish(prompts.map(() => s.password));
    });
    client.connect({
      host: address,
      port: s.port,
      username: s.username,
      password: s.password,
      tryKeyboard: true,
      readyTimeout: timeoutMs,
      // A server that stops answering mid-transfer is noticed instead of waited on forever.
      keepaliveInterval: Math.max(1000, Math.floor(timeoutMs / 3)),
      keepaliveCountMax: 3,
    });
  });
}

/** An SFTP server, into the configured directory, connected at the checked address. */
export function sftpDestination(s: SftpSettings, o: ConnectOptions): Destination {
  const folder = parseFolder(s.folder, 'sftp_dir');
  const label = `sftp://${s.host}:${s.port}/${folder.segments.join('/')}`;
  const where = `the SFTP server ${s.host}:${s.port}`;
  const pathOf = (name: string) => joinRemote(folder, checkFileName(name));

  const open = async (signal: AbortSignal): Promise<DestinationSession> => {
    if (s.host === '') throw badSetting('sftp_host', 'sftp_host is not set');
    const checked = await resolveChecked(s.host, o.allow, o.resolver);
    const client = new Client();
    const onAbort = () => client.end();
    signal.addEventListener('abort', onAbort, { once: true });
    client.on('error', () => undefined);

    let sftp: SFTPWrapper;
    let step = 'connecting';
    try {
      await connect(client, checked.address, s, o.timeoutMs);
      step = 'opening SFTP';
      sftp = await call<SFTPWrapper>((cb) => client.sftp((err, w) => cb(err, w)));
      step = `creating the folder "${s.folder}"`;
      await ensureDir(sftp, folder.absolute, folder.segments);
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      client.end();
      throw explainSftpError(err, where, step);
    }

    return {
      async put(file: LocalFile) {
        try {
          await call<undefined>((cb) => sftp.fastPut(file.path, pathOf(file.name),
            (err) => cb(err, undefined)));
        } catch (err) {
          throw explainSftpError(err, where, `writing ${file.name}`);
        }
      },
      async size(name: string) {
        try {
          return (await statOrNull(sftp, pathOf(name)))?.size ?? null;
        } catch (err) {
          throw explainSftpError(err, where, `reading the size of ${name}`);
        }
      },
      async remove(name: string) {
        try {
          await call<undefined>((cb) => sftp.unlink(pathOf(name), (err) => cb(err, undefined)));
        } catch (err) {
          throw explainSftpError(err, where, `removing ${name}`);
        }
      },
      async close() {
        signal.removeEventListener('abort', onAbort);
        client.end();
      },
    };
  };

  return { target: 'sftp', label, open, urlOf: () => null };
}

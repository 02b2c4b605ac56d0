import { createReadStream } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';

import { Client, FTPError } from 'basic-ftp';

import { AppError } from '../lib/errors.js';
import { resolveChecked, trustedCa } from './connect.js';
import { badSetting, explainNetworkError } from './errors.js';
import { checkFileName, joinRemote, parseFolder } from './paths.js';
import type { ConnectOptions, Destination, DestinationSession, LocalFile } from './types.js';

export interface FtpSettings {
  host: string;
  port: number;
  username: string;
  password: string;
  folder: string;
  /** TLS from the first byte; by default only on port 990. */
  implicitTls?: boolean;
}

/** Implicit TLS from the first byte is what port 990 means; elsewhere TLS is asked for. */
const IMPLICIT_TLS_PORT = 990;

function explainFtpError(err: unknown, where: string, doing: string): AppError {
  if (!(err instanceof FTPError)) return explainNetworkError(err, where);
  const reply = `"${err.code} ${err.message.replace(/^\d{3}[ -]?/, '').trim()}"`;
  if (err.code === 530) {
    return new AppError('upstream', `${where} refused the login (${reply}); check ftp_username ` +
      'and ftp_password', { cause: err });
  }
  if (err.code === 552 || err.code === 452) {
    return new AppError('upstream', `${where} has no room left (${reply}) while ${doing}`,
      { cause: err });
  }
  if (err.code === 550 || err.code === 553) {
    return new AppError('upstream', `${where} refused ${doing} (${reply}); check that ` +
      'ftp_username may write to ftp_dir', { cause: err });
  }
  return new AppError('upstream', `${where} answered ${reply} while ${doing}`, { cause: err });
}

/**
 * An FTP or FTPS server, into the configured directory. TLS is used whenever the server
 * offers it (AUTH TLS), from the start on port 990, with the certificate checked against the
 * host name. Data connections go to the address already checked, never to one the server
 * names in its PASV answer.
 */
export function ftpDestination(s: FtpSettings, o: ConnectOptions): Destination {
  const folder = parseFolder(s.folder, 'ftp_dir');
  const label = `ftp://${s.host}:${s.port}/${folder.segments.join('/')}`;
  const where = `the FTP server ${s.host}:${s.port}`;

  const open = async (signal: AbortSignal): Promise<DestinationSession> => {
    if (s.host === '') throw badSetting('ftp_host', 'ftp_host is not set');
    const checked = await resolveChecked(s.host, o.allow, o.resolver);
    const client = new Client(o.timeoutMs);
    const onAbort = () => client.close();
    signal.addEventListener('abort', onAbort, { once: true });
    const ca = trustedCa(o.extraCa);
    const named = isIP(checked.host) === 0;
    // The identity the certificate must carry; the socket itself is always opened to the
    // checked address, so `host` here never leads to a second lookup.
    const tls: ConnectionOptions = {
      ...(named ? { servername: checked.host } : {}),
      ...(ca === undefined ? {} : { ca }),
    };

    let step = 'connecting';
    try {
      if (s.implicitTls ?? s.port === IMPLICIT_TLS_PORT) {
        await client.connectImplicitTLS(checked.address, s.port, tls);
      } else {
        await client.connect(checked.address, s.port);
        step = 'starting TLS';
        await startTlsIfOffered(client, { ...tls, host: checked.host });
      }
      step = 'logging in';
      await client.sendIgnoringError('OPTS UTF8 ON');
      await client.login(s.username, s.password);
      await client.useDefaultSettings();
      step = `creating the folder "${s.folder}"`;
      if (folder.segments.length > 0) await client.ensureDir(joinRemote(folder));
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      client.close();
      throw explainFtpError(err, where, step);
    }

    return {
      async put(file: LocalFile) {
        try {
          await client.uploadFrom(createReadStream(file.path), checkFileName(file.name));
        } catch (err) {
          throw explainFtpError(err, where, `writing ${file.name}`);
        }
      },
      async size(name: string) {
        return remoteSize(client, checkFileName(name)).catch((err: unknown) => {
          throw explainFtpError(err, where, `reading the size of ${name}`);
        });
      },
      async remove(name: string) {
        try {
          await client.remove(checkFileName(name));
        } catch (err) {
          throw explainFtpError(err, where, `removing ${name}`);
        }
      },
      async close() {
        signal.removeEventListener('abort', onAbort);
        client.close();
      },
    };
  };

  return { target: 'ftp', label, open, urlOf: () => null };
}

/** A server that does not know AUTH answers 5xx and is spoken to in the clear. */
async function startTlsIfOffered(client: Client, tls: ConnectionOptions): Promise<void> {
  try {
    await client.useTLS(tls);
  } catch (err) {
    if (err instanceof FTPError && err.code >= 500 && err.code < 600) return;
    throw err;
  }
}

/** SIZE where the server has it; otherwise the size in the folder's listing. */
async function remoteSize(client: Client, name: string): Promise<number | null> {
  try {
    return await client.size(name);
  } catch (err) {
    if (!(err instanceof FTPError)) throw err;
    if (err.code === 550) return null;
    const listing = await client.list();
    return listing.find((entry) => entry.name === name && entry.isFile)?.size ?? null;
  }
}

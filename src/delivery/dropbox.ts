import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

import { AppError } from '../lib/errors.js';
import { assertUrlHostAllowed, guardedAgent } from './connect.js';
import { badSetting, explainNetworkError } from './errors.js';
import { checkFileName, parseFolder } from './paths.js';
import type { ConnectOptions, Destination, DestinationSession, LocalFile } from './types.js';

export interface DropboxSettings {
  token: string;
  folder: string;
}

export interface DropboxOptions extends ConnectOptions {
  apiUrl: string;
  contentUrl: string;
  /** Files up to this size go up in one request; Dropbox takes at most 150 MiB in one. */
  singleUploadMax?: number;
  /** The size of each part of an upload session. */
  chunkSize?: number;
}

const MIB = 1024 * 1024;

interface Reply {
  status: number;
  text: string;
  json: Record<string, unknown> | null;
}

/**
 * Dropbox reads the argument header as ASCII: every other character travels as a JSON
 * \u escape, which keeps names with accents or emoji intact.
 */
export function dropboxArg(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function explainDropboxReply(reply: Reply, doing: string): AppError {
  const summary = typeof reply.json?.error_summary === 'string' ? reply.json.error_summary : '';
  const said = summary || reply.text.slice(0, 300);
  if (reply.status === 401) {
    return new AppError('upstream', 'Dropbox refused the access token in dbox_token (expired, ' +
      'revoked or mistyped); create a new token and PUT it to /dropbox/:id');
  }
  if (reply.status === 409 && summary.includes('insufficient_space')) {
    return new AppError('upstream', `the Dropbox account is full while ${doing}`);
  }
  if (reply.status === 409 && /no_write_permission|disallowed_name|malformed_path/.test(summary)) {
    return new AppError('upstream', `Dropbox does not allow ${doing} (${summary}); check ` +
      'dbox_folder');
  }
  if (reply.status === 429) {
    return new AppError('rate_limited', `Dropbox asked to slow down while ${doing}`);
  }
  return new AppError('upstream', `Dropbox answered ${reply.status} while ${doing}: ${said}`);
}

/** A customer's Dropbox, through the HTTP API, under the configured folder. */
export function dropboxDestination(s: DropboxSettings, o: DropboxOptions): Destination {
  const folder = parseFolder(s.folder, 'dbox_folder');
  const pathOf = (name: string) => `/${[...folder.segments, checkFileName(name)].join('/')}`;
  const singleMax = o.singleUploadMax ?? 140 * MIB;
  const chunkSize = o.chunkSize ?? 32 * MIB;
  const label = `dropbox:/${folder.segments.join('/')}`;

  const open = async (): Promise<DestinationSession> => {
    if (s.token === '') throw badSetting('dbox_token', 'dbox_token is not set');
    const api = new URL(o.apiUrl);
    const content = new URL(o.contentUrl);
    assertUrlHostAllowed(api, o.allow);
    assertUrlHostAllowed(content, o.allow);

    const send = (base: URL, endpoint: string, headers: Record<string, string>,
      body: Buffer | Readable, doing: string, signal?: AbortSignal): Promise<Reply> =>
      request(base, endpoint, { authorization: `Bearer ${s.token}`, ...headers }, body, o,
        signal).catch((err: unknown) => {
          throw explainNetworkError(err, `Dropbox (${base.host}) while ${doing}`);
        });
    const rpc = async (endpoint: string, arg: unknown, doing: string) =>
      send(api, endpoint, { 'content-type': 'application/json' },
        Buffer.from(JSON.stringify(arg)), doing);
    const upload = async (endpoint: string, arg: unknown, body: Buffer | Readable,
      length: number, doing: string, signal: AbortSignal) => {
      const reply = await send(content, endpoint, {
        'content-type': 'application/octet-stream',
        'content-length': String(length),
        'dropbox-api-arg': dropboxArg(arg),
      }, body, doing, signal);
      if (reply.status !== 200) throw explainDropboxReply(reply, doing);
      return reply;
    };

    const put = async (file: LocalFile, signal: AbortSignal) => {
      const commit = { path: pathOf(file.name), mode: 'overwrite', autorename: false,
        mute: true };
      const doing = `writing ${commit.path}`;
      if (file.size <= singleMax) {
        await upload('/2/files/upload', commit, createReadStream(file.path), file.size, doing,
          signal);
        return;
      }
      const started = await upload('/2/files/upload_session/start', { close: false },
        Buffer.alloc(0), 0, doing, signal);
      const sessionId = started.json?.session_id;
      if (typeof sessionId !== 'string') throw new AppError('upstream', 'Dropbox gave no session');
      for (let offset = 0; offset < file.size; offset += chunkSize) {
        const end = Math.min(file.size, offset + chunkSize);
        await upload('/2/files/upload_session/append_v2',
          { cursor: { session_id: sessionId, offset }, close: end === file.size },
          createReadStream(file.path, { start: offset, end: end - 1 }), end - offset, doing,
          signal);
      }
      await upload('/2/files/upload_session/finish',
        { cursor: { session_id: sessionId, offset: file.size }, commit }, Buffer.alloc(0), 0,
        doing, signal);
    };

    return {
      put,
      async size(name: string) {
        const doing = `reading the size of ${pathOf(name)}`;
        const reply = await rpc('/2/files/get_metadata', { path: pathOf(name) }, doing);
        if (reply.status === 409 && /not_found/.test(reply.text)) return null;
        if (reply.status !== 200) throw explainDropboxReply(reply, doing);
        const size = reply.json?.size;
        return reply.json?.['.tag'] === 'file' && typeof size === 'number' ? size : null;
      },
      async remove(name: string) {
        const doing = `removing ${pathOf(name)}`;
        const reply = await rpc('/2/files/delete_v2', { path: pathOf(name) }, doing);
        if (reply.status !== 200) throw explainDropboxReply(reply, doing);
      },
      async close() {
        return undefined;
      },
    };
  };

  return { target: 'dbox', label, open, urlOf: () => null };
}

/** One POST through the guarded agent; the reply is read whole (Dropbox's are small). */
function request(base: URL, endpoint: string, headers: Record<string, string>,
  body: Buffer | Readable, o: ConnectOptions, signal?: AbortSignal): Promise<Reply> {
  const transport = base.protocol === 'https:' ? https : http;
  const prefix = base.pathname.replace(/\/+$/, '');
  return new Promise((resolve, reject) => {
    const req = transport.request({
      method: 'POST',
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: base.port === '' ? undefined : Number(base.port),
      path: prefix + endpoint,
      headers: Buffer.isBuffer(body) ? { ...headers, 'content-length': String(body.length) }
        : headers,
      agent: guardedAgent(base.protocol, o),
      ...(signal === undefined ? {} : { signal }),
    });
    req.setTimeout(o.timeoutMs, () => {
      const err: NodeJS.ErrnoException = new Error(`timed out after ${o.timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      req.destroy(err);
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | null = null;
        try {
          const parsed: unknown = JSON.parse(text);
          if (typeof parsed === 'object' && parsed !== null) {
            json = parsed as Record<string, unknown>;
          }
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    if (Buffer.isBuffer(body)) req.end(body);
    else body.on('error', (err) => req.destroy(err)).pipe(req);
  });
}

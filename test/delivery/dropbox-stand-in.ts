/**
 * A local HTTP server that answers Dropbox's upload and file API as Dropbox documents it:
 * files/upload, upload_session/start, append_v2 and finish on the content host's paths;
 * files/get_metadata and files/delete_v2 on the API host's. Files are kept in memory by their
 * lower-cased path, as Dropbox compares paths without case.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DropboxFile {
  path: string;
  data: Buffer;
}

export interface DropboxStandIn {
  url: string;
  /** Stored files by lower-cased path. */
  files: Map<string, DropboxFile>;
  /** Endpoints called, in order, e.g. "/2/files/upload_session/append_v2". */
  calls: string[];
  /** Answer every call with this status (and a Dropbox-style error) while set. */
  failWith: number | null;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
  });
  res.end(text);
}

function badPath(p: unknown): boolean {
  return typeof p !== 'string' || !p.startsWith('/') || p.endsWith('/') ||
    p.split('/').slice(1).some((s) => s === '' || s === '.' || s === '..');
}

export async function startDropboxStandIn(token: string): Promise<DropboxStandIn> {
  const files = new Map<string, DropboxFile>();
  const sessions = new Map<string, Buffer[]>();
  const calls: string[] = [];
  const state: { failWith: number | null } = { failWith: null };

  const metadata = (f: DropboxFile) => ({
    '.tag': 'file', name: f.path.slice(f.path.lastIndexOf('/') + 1), path_lower:
      f.path.toLowerCase(), path_display: f.path, id: `id:${randomBytes(6).toString('hex')}`,
    size: f.data.length,
  });
  const commit = (res: ServerResponse, arg: Record<string, unknown>, data: Buffer) => {
    if (badPath(arg.path)) {
      return send(res, 409, { error_summary: 'path/malformed_path/', error: { '.tag': 'path' } });
    }
    const file = { path: String(arg.path), data };
    files.set(file.path.toLowerCase(), file);
    return send(res, 200, metadata(file));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const endpoint = req.url ?? '';
    calls.push(endpoint);
    const body = await readBody(req);
    if (req.method !== 'POST') return send(res, 405, 'method not allowed');
    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, { error_summary: 'invalid_access_token/...',
        error: { '.tag': 'invalid_access_token' } });
    }
    if (state.failWith !== null) {
      return send(res, state.failWith, { error_summary: 'internal_error/...' });
    }
    let arg: Record<string, unknown> = {};
    const header = req.headers['dropbox-api-arg'];
    try {
      if (typeof header === 'string') {
        // Dropbox reads this header as ASCII; anything else is refused.
        if (/[^\x20-\x7e]/.test(header)) throw new Error('not ASCII');
        arg = JSON.parse(header) as Record<string, unknown>;
      } else if (body.length > 0 && !endpoint.includes('upload')) {
        arg = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      }
    } catch {
      return send(res, 400, `Error in call to API function "${endpoint}": could not decode ` +
        'input as JSON');
    }

    switch (endpoint) {
      case '/2/files/upload':
        return commit(res, arg, body);
      case '/2/files/upload_session/start': {
        const id = randomBytes(8).toString('hex');
        sessions.set(id, [body]);
        return send(res, 200, { session_id: id });
      }
      case '/2/files/upload_session/append_v2':
      case '/2/files/upload_session/finish': {
        const cursor = arg.cursor as { session_id: string; offset: number };
        const parts = sessions.get(cursor.session_id);
        if (parts === undefined) return send(res, 409, { error_summary: 'not_found/' });
        const have = parts.reduce((n, p) => n + p.length, 0);
        if (have !== cursor.offset) {
          return send(res, 409, { error_summary: 'incorrect_offset/',
            error: { '.tag': 'incorrect_offset', correct_offset: have } });
        }
        parts.push(body);
        if (endpoint.endsWith('append_v2')) return send(res, 200, null);
        sessions.delete(cursor.session_id);
        return commit(res, arg.commit as Record<string, unknown>, Buffer.concat(parts));
      }
      case '/2/files/get_metadata':
      case '/2/files/delete_v2': {
        const file = files.get(String(arg.path).toLowerCase());
        if (file === undefined) {
          return send(res, 409, { error_summary: 'path/not_found/',
            error: { '.tag': 'path', path: { '.tag': 'not_found' } } });
        }
        if (endpoint.endsWith('delete_v2')) {
          files.delete(file.path.toLowerCase());
          return send(res, 200, { metadata: metadata(file) });
        }
        return send(res, 200, metadata(file));
      }
      default:
        return send(res, 404, 'unknown endpoint');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, 'stand-in failed'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    calls,
    get failWith() {
      return state.failWith;
    },
    set failWith(value: number | null) {
      state.failWith = value;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * Small helpers shared by the security tests: raw multipart bodies, file listings of a data
 * directory, reads of the database behind a test server, and a slowed-down ffmpeg.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { locateMediaBinaries } from '../../src/media/binaries.js';
import { readResponse } from '../helpers/harness.js';
import type { ApiResponse, TestServer } from '../helpers/harness.js';
import { filesUnder } from '../helpers/harness.js';

export { filesUnder };

/** Files a server keeps for recordings: the media store and uploads in progress. */
export async function storedFiles(srv: TestServer): Promise<string[]> {
  const media = await filesUnder(path.join(srv.dataDir, 'media'));
  const uploads = await filesUnder(path.join(srv.dataDir, 'uploads'));
  return [...media, ...uploads];
}

export type Part =
  | { name: string; value: string }
  | { name: string; filename: string; data: Buffer; type?: string };

export const BOUNDARY = 'sEcUrItYbOuNdArY7d1f';

/**
 * A multipart/form-data body built byte by byte, so that file names can hold anything a
 * hostile client would send (quotes, CR/LF, NUL) without a client library cleaning them.
 */
export function multipartBody(parts: Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if ('filename' in part) {
      head += `; filename="${part.filename}"\r\n` +
        `Content-Type: ${part.type ?? 'application/octet-stream'}`;
    }
    chunks.push(Buffer.from(`${head}\r\n\r\n`, 'latin1'));
    chunks.push('data' in part ? part.data : Buffer.from(part.value, 'utf8'));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

export async function parseResponse(res: Response): Promise<ApiResponse> {
  return readResponse(res);
}

export async function postMultipart(url: string, parts: Part[],
  headers: Record<string, string> = {}): Promise<ApiResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
    body: multipartBody(parts),
  });
  return parseResponse(res);
}

/**
 * Sends the start of an HTTP request on a raw socket and returns the socket, for requests a
 * test cuts off halfway.
 */
export async function openRawRequest(baseUrl: string, head: string,
  body: Buffer): Promise<net.Socket> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(head);
  socket.write(body);
  return socket;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An ffmpeg that runs the real one and then waits `afterMs` before exiting, so that a
 * conversion is still in progress, its input already read, when a test acts.
 * `-version` answers at once. Returns the script's path and the real ffprobe.
 */
export async function slowFfmpeg(afterMs: number): Promise<{ ffmpeg: string; ffprobe: string }> {
  const real = locateMediaBinaries(process.env);
  const dir = await mkdtemp(path.join(tmpdir(), 'standpipe-slow-ffmpeg-'));
  const script = path.join(dir, 'ffmpeg');
  const seconds = (afterMs / 1000).toFixed(3);
  await writeFile(script, [
    '#!/bin/sh',
    'for arg in "$@"; do',
    `  if [ "$arg" = "-version" ]; then exec '${real.ffmpeg}' "$@"; fi`,
    'done',
    `'${real.ffmpeg}' "$@"`,
    'status=$?',
    `sleep ${seconds}`,
    'exit $status',
    '',
  ].join('\n'));
  await chmod(script, 0o755);
  return { ffmpeg: script, ffprobe: real.ffprobe };
}

/** Rows of one table of the server's database, whatever the dialect. */
export async function tableRows(srv: TestServer,
  table: 'jobs' | 'webhook_deliveries' | 'recordings'): Promise<Record<string, unknown>[]> {
  const rows = await srv.server.ctx.db.kysely.selectFrom(table).selectAll().execute();
  return rows as unknown as Record<string, unknown>[];
}

export interface Sink {
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A loopback TCP listener that counts connections and drops each one at once. */
export async function startSink(host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<Sink> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/**
 * Settings that keep the storage deliveries a server may attempt (S3, Dropbox) on this
 * machine, pointed at a sink, so that no test ever reaches a real service.
 */
export function loopbackDeliveryEnv(sinkPort: number): Record<string, string> {
  const base = `http://127.0.0.1:${sinkPort}`;
  return {
    STANDPIPE_AMAZON_ENDPOINT: base,
    STANDPIPE_DROPBOX_API_URL: base,
    STANDPIPE_DROPBOX_CONTENT_URL: base,
  };
}

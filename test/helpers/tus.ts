import { connect } from 'node:net';

/** A tus request as a test sends it, with Tus-Resumable unless told otherwise. */
export async function tus(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<Response> {
  return fetch(url, {
    method,
    headers: { 'tus-resumable': '1.0.0', ...headers },
    ...(body === undefined ? {} : { body: new Uint8Array(body) }),
  });
}

export function encodeMetadata(meta: Record<string, string>): string {
  return Object.entries(meta)
    .map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`).join(',');
}

/** Creates an upload and answers with its absolute URL. */
export async function createUpload(
  base: string,
  length: number,
  meta: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ res: Response; url: string }> {
  const res = await tus(`${base}/tus`, 'POST', {
    'upload-length': String(length), 'upload-metadata': encodeMetadata(meta), ...headers,
  });
  const location = res.headers.get('location');
  return { res, url: location === null ? '' : new URL(location, base).toString() };
}

export async function patch(url: string, offset: number, body: Buffer): Promise<Response> {
  return tus(url, 'PATCH', {
    'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream',
  }, body);
}

/**
 * Sends a PATCH that announces `announced` bytes, writes only `sent` of them and drops the
 * connection, as a network failure mid-upload would.
 */
export async function interruptedPatch(
  url: string,
  offset: number,
  data: Buffer,
  announced: number,
): Promise<void> {
  const target = new URL(url);
  await new Promise<void>((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(`PATCH ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n` +
        'Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n' +
        `Upload-Offset: ${offset}\r\nContent-Length: ${announced}\r\n\r\n`);
      socket.write(data, () => {
        // Give the server a moment to read what was sent before the line goes dead.
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 200);
      });
    });
    socket.on('error', reject);
  });
}

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

export interface IngestOptions {
  file: string;
  url: string;
  accountHash: string;
  envCode: string;
  payload?: string | undefined;
  progress?: ((sent: number, total: number) => void) | undefined;
}

/**
 * Uploads a local file the way the recorder does (POST /upload, multipart), streaming it
 * from disk so that any size goes through in constant memory.
 */
export async function ingestFile(options: IngestOptions): Promise<{ id: string; name: string }> {
  const info = await stat(options.file);
  if (!info.isFile()) throw new Error(`${options.file} is not a file`);
  const boundary = `----standpipe${randomBytes(12).toString('hex')}`;
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const filename = path.basename(options.file).replace(/["\r\n\\]/g, '_');
  const head = Buffer.from(
    field('accountHash', options.accountHash) + field('eid', options.envCode) +
    (options.payload === undefined ? '' : field('payload', options.payload)) +
    `--${boundary}\r\nContent-Disposition: form-data; name="FileInput"; ` +
    `filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const total = head.length + info.size + tail.length;

  const target = new URL('/upload', options.url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(total),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: { message?: string; videos?: { id: string; name: string }[] } = {};
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          reject(new Error(`server answered ${res.statusCode}: ${text.slice(0, 200)}`));
          return;
        }
        const video = body.videos?.[0];
        if (res.statusCode !== undefined && res.statusCode < 300 && video !== undefined) {
          resolve({ id: video.id, name: video.name });
        } else {
          reject(new Error(`upload refused (${res.statusCode}): ${body.message ?? text}`));
        }
      });
    });
    req.on('error', reject);
    let sent = 0;
    const report = (n: number) => {
      sent += n;
      options.progress?.(sent, total);
    };
    req.write(head);
    report(head.length);
    const stream = createReadStream(options.file);
    stream.on('data', (chunk) => report(chunk.length));
    stream.on('error', (err) => req.destroy(err));
    stream.on('end', () => {
      req.end(tail);
      report(tail.length);
    });
    stream.pipe(req, { end: false });
  });
}

export function progressBar(stream: NodeJS.WriteStream) {
  let last = -1;
  return (sent: number, total: number) => {
    const pct = Math.floor((sent / total) * 100);
    if (pct === last) return;
    last = pct;
    const width = 30;
    const done = Math.round((pct / 100) * width);
    stream.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${pct}% ` +
      `${(sent / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB`);
    if (sent >= total) stream.write('\n');
  };
}

import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Body bytes that went through to the server. */
  forwarded: number;
  cut: boolean;
}

export interface CutProxy {
  url: string;
  readonly requests: readonly SeenRequest[];
  readonly cuts: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 that reads the HTTP/1.1 requests passing through it and, the
 * first time a PATCH goes by, forwards only `fraction` of its body and then drops both
 * connections: a network failure halfway through an upload.
 */
export async function startCutProxy(targetPort: number, fraction = 0.5): Promise<CutProxy> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let cuts = 0;

  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let head = Buffer.alloc(0);
    let current: SeenRequest | null = null;
    let remaining = 0;
    let cutAt = -1;

    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      let data = chunk;
      while (data.length > 0) {
        if (current === null) {
          head = Buffer.concat([head, data]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          const text = head.subarray(0, end).toString('latin1');
          const rest = head.subarray(end + 4);
          upstream.write(head.subarray(0, end + 4));
          head = Buffer.alloc(0);
          current = parseHead(text);
          requests.push(current);
          remaining = Number(current.headers['content-length'] ?? '0');
          cutAt = current.method === 'PATCH' && cuts === 0 ? Math.floor(remaining * fraction) : -1;
          data = rest;
          if (remaining === 0) current = null;
          continue;
        }
        const take = Math.min(remaining, data.length);
        let part = data.subarray(0, take);
        if (cutAt >= 0 && current.forwarded + part.length >= cutAt) {
          part = part.subarray(0, cutAt - current.forwarded);
          upstream.write(part, () => setTimeout(drop, 50));
          current.forwarded += part.length;
          current.cut = true;
          cuts += 1;
          client.pause();
          return;
        }
        upstream.write(part);
        current.forwarded += part.length;
        remaining -= take;
        data = data.subarray(take);
        if (remaining === 0) current = null;
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get cuts() {
      return cuts;
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

function parseHead(text: string): SeenRequest {
  const [line = '', ...rest] = text.split('\r\n');
  const [method = '', path = ''] = line.split(' ');
  const headers: Record<string, string> = {};
  for (const header of rest) {
    const colon = header.indexOf(':');
    if (colon <= 0) continue;
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  return { method, path, headers, forwarded: 0, cut: false };
}

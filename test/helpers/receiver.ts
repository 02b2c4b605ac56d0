/**
 * A real HTTP server on a loopback address that records what reaches it and answers as a
 * test scripts it: status, headers, body, a delay, a hang or a redirect.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  /** Position in arrival order, starting at 1. */
  index: number;
  method: string;
  /** The request target exactly as sent: path and query, still percent-encoded. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The JSON body, or the JSON in a form body's `payload` field; undefined if neither. */
  json: unknown;
  /** The `payload` field of a form body, as decoded text. */
  formPayload: string | undefined;
  receivedAt: number;
}

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer; the connection stays open until the client gives up or close(). */
  hang?: boolean;
  /** Send the status line and headers, then never finish the body. */
  hangBody?: boolean;
  /** Answer 302 (or `status` if given) with this Location. */
  redirectTo?: string;
}

export type Responder = (req: RecordedRequest) => ScriptedResponse;

export interface ReceiverOptions {
  /** Loopback address to listen on: 127.0.0.1 (default) or ::1. */
  host?: '127.0.0.1' | '::1';
}

export interface Receiver {
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted so far, including ones that never sent a request. */
  readonly connections: number;
  readonly port: number;
  readonly origin: string;
  url(path?: string): string;
  /** Answer the next unanswered request with this; queued replies are used in order. */
  reply(response: ScriptedResponse | Responder): void;
  /** Answer with this whenever no queued reply is left (initially 200 "ok"). */
  setDefault(response: ScriptedResponse | Responder): void;
  /** Resolves with the n-th request (1-based) once it has arrived in full. */
  waitFor(n: number, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function record(req: IncomingMessage, body: string, index: number): RecordedRequest {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  let formPayload: string | undefined;
  let json: unknown;

  if (type === 'application/x-www-form-urlencoded') {
    formPayload = new URLSearchParams(body).get('payload') ?? undefined;
    json = formPayload === undefined ? undefined : parseJson(formPayload);
  } else {
    json = parseJson(body);
  }

  return {
    index,
    method: req.method ?? '',
    path: req.url ?? '',
    headers: req.headers,
    body,
    json,
    formPayload,
    receivedAt: Date.now(),
  };
}

function answer(res: ServerResponse, script: ScriptedResponse): void {
  if (script.hang === true) return;

  const headers: Record<string, string> = { ...script.headers };
  let status = script.status ?? 200;
  if (script.redirectTo !== undefined) {
    status = script.status ?? 302;
    headers.location = script.redirectTo;
  }

  if (script.hangBody === true) {
    res.writeHead(status, headers);
    res.write(script.body ?? '');
    return;
  }
  res.writeHead(status, headers);
  res.end(script.body ?? (status >= 200 && status < 300 ? 'ok' : ''));
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const host = options.host ?? '127.0.0.1';
  const requests: RecordedRequest[] = [];
  const queue: Array<ScriptedResponse | Responder> = [];
  let fallback: ScriptedResponse | Responder = { status: 200 };
  let connections = 0;
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = record(req, Buffer.concat(chunks).toString('utf8'), requests.length + 1);
      requests.push(recorded);
      for (const wake of waiters) wake();

      const next = queue.shift() ?? fallback;
      const script = typeof next === 'function' ? next(recorded) : next;
      if (script.delayMs === undefined) {
        answer(res, script);
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) answer(res, script);
      }, script.delayMs);
      timers.add(timer);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    requests,
    get connections() {
      return connections;
    },
    port,
    origin,
    url: (path = '/') => origin + (path.startsWith('/') ? path : `/${path}`),
    reply: (response) => {
      queue.push(response);
    },
    setDefault: (response) => {
      fallback = response;
    },
    waitFor: (n, timeoutMs = 5000) =>
      new Promise<RecordedRequest>((resolve, reject) => {
        const check = (): boolean => {
          const found = requests[n - 1];
          if (found === undefined) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`request ${n} did not arrive within ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = (): void => {
          check();
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        if (!check()) waiters.add(wake);
      }),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hung requests would otherwise keep the server open forever.
        server.closeAllConnections();
      });
    },
  };
}

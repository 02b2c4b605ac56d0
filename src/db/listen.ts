import type pg from 'pg';
import type { Logger } from 'pino';

import { pgDriver } from './pg.js';

/**
 * The channel that announces new jobs: one per schema, so that installations sharing a
 * PostgreSQL database in separate schemas do not wake each other.
 */
export function jobsChannel(schema: string | undefined): string {
  return `standpipe_jobs${schema === undefined ? '' : `_${schema}`}`.slice(0, 63);
}

export interface Listener {
  close(): Promise<void>;
}

const RECONNECT_MS = 1000;

/**
 * Keeps one PostgreSQL connection that LISTENs on `channel` and calls `onNotify` for every
 * notification. A lost connection is opened again after a pause; meanwhile nothing is
 * missed for long, because workers still poll.
 */
export function listen(url: string, channel: string, onNotify: () => void,
  log: Logger): Listener {
  const target = new URL(url);
  target.searchParams.delete('schema');
  let current: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    const client = new (pgDriver().Client)({ connectionString: target.toString() });
    let lost = false;
    const reconnect = (err?: unknown) => {
      if (lost || closed) return;
      lost = true;
      if (current === client) current = null;
      log.warn({ err }, 'job announcements interrupted; reconnecting');
      client.end().catch(() => undefined);
      timer = setTimeout(() => void connect(), RECONNECT_MS);
      timer.unref();
    };
    client.on('notification', () => onNotify());
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    try {
      await client.connect();
      // The channel name is built from a checked schema name, so it needs no escaping.
      await client.query(`LISTEN "${channel}"`);
      current = client;
      if (closed) await client.end();
    } catch (err) {
      reconnect(err);
    }
  };
  void connect();

  return {
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await current?.end().catch(() => undefined);
    },
  };
}

import { formatDateTime } from '../lib/format.js';
import { html } from './html.js';
import type { Html } from './html.js';

export type Tone = 'green' | 'amber' | 'red' | 'gray' | 'blue';

export function badge(text: string, tone: Tone, title?: string): Html {
  return html`<span class="badge badge-${tone}" title="${title ?? ''}">${text}</span>`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? ''}`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

export function when(ms: number | null | undefined, timeZone: string): string {
  if (ms === null || ms === undefined) return '—';
  return formatDateTime(ms, timeZone).slice(0, 16);
}

const STATUS_TONES: Record<string, Tone> = {
  converted: 'green', delivered: 'green', recorded: 'amber', pending: 'amber', failed: 'red',
  cancelled: 'gray',
};

const STATUS_TEXT: Record<string, string> = {
  converted: 'Converted', recorded: 'Converting', failed: 'Failed', delivered: 'Delivered',
  pending: 'Pending', cancelled: 'Cancelled',
};

export function statusBadge(status: string, title?: string): Html {
  return badge(STATUS_TEXT[status] ?? status, STATUS_TONES[status] ?? 'gray', title);
}

export const TARGET_NAMES: Record<string, string> = {
  s3: 'Amazon S3', ftp: 'FTP', sftp: 'SFTP', dbox: 'Dropbox',
};

import type { FastifyInstance } from 'fastify';

import type { Account, Environment, Recording, RecordingDelivery } from '../../db/schema.js';
import { AppError } from '../../lib/errors.js';
import { uintToIpv4 } from '../../lib/format.js';
import {
  newestRecordings, recordingStatusCounts, storageDeliveriesOf, webhookDeliveriesOfRecording,
  webhookStatusOf,
} from '../../repositories/dashboard.js';
import { listEnvironments } from '../../repositories/environments.js';
import { findRecording } from '../../repositories/recordings.js';
import { mediaKeys } from '../../services/recording-view.js';
import {
  TARGET_NAMES, badge, bytes, duration, statusBadge, when,
} from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import type { Kit } from '../kit.js';
import { emptyState, postButton } from '../layout.js';

const PAGE = 25;

type WebhookSummary = Map<number, Record<string, number>>;

/** Links relative to this server: the pages' CSP allows media from here only. */
function links(account: Account, rec: Recording) {
  const keys = mediaKeys(account.account_hash, rec);
  const stored = rec.not_stored === 0;
  return {
    mp4: rec.has_mp4 === 1 && stored ? `/media/${keys.mp4}` : null,
    snapshot: rec.has_snapshot === 1 && stored ? `/media/${keys.snapshot}` : null,
    original: rec.has_original === 1 && stored ? `/media/${keys.original}` : null,
  };
}

export async function recordingPages(app: FastifyInstance, kit: Kit) {
  const ctx = kit.ctx;
  const db = ctx.db.kysely;
  const tz = ctx.config.timeZone;

  app.get<{ Querystring: { before?: string; env?: string } }>('/recordings',
    async (request, reply) => {
      const { account } = kit.user(request);
      const before = /^\d{1,15}$/.test(request.query.before ?? '')
        ? Number(request.query.before) : undefined;
      const envId = /^\d{1,9}$/.test(request.query.env ?? '') ? Number(request.query.env)
        : undefined;
      const [recs, counts, envs] = await Promise.all([
        newestRecordings(db, account.id, { beforeId: before, envId, limit: PAGE }),
        recordingStatusCounts(db, account.id),
        listEnvironments(db, account.id),
      ]);
      const ids = recs.map((r) => r.id);
      const [storage, hooks] = await Promise.all([storageDeliveriesOf(db, account.id, ids),
        webhookStatusOf(db, account.id, ids)]);
      const summary: WebhookSummary = new Map();
      for (const row of hooks) {
        const entry = summary.get(row.recordingId) ?? {};
        entry[row.status] = row.n;
        summary.set(row.recordingId, entry);
      }
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const envName = new Map(envs.map((e) => [e.env_id, e.env_name]));
      const body = html`
        ${stats(total, counts)}
        ${filter(envs, envId)}
        ${recs.length === 0 ? emptyState('No recordings yet',
          'Put the embed code of an environment on a page; recordings show up here as ' +
          'soon as they are uploaded.',
          html`<a class="btn btn-primary" href="/dashboard/environments">Get the embed code</a>`)
          : html`<div class="card card-flush"><table class="table recordings">
            <thead><tr><th scope="col"><span class="sr">Snapshot</span></th>
              <th scope="col">Recording</th><th scope="col">Recorded</th>
              <th scope="col">Duration</th><th scope="col">Size</th><th scope="col">Status</th>
              <th scope="col">Deliveries</th></tr></thead>
            <tbody>${recs.map((rec) => row(account, rec, envName.get(rec.env_id) ?? '',
              storage.filter((d) => d.recording_id === rec.id), summary.get(rec.id) ?? {}, tz))}
            </tbody></table></div>`}
        ${recs.length === PAGE ? html`<p class="pager"><a class="btn" href="/dashboard/recordings?before=${
          recs[recs.length - 1]?.id ?? 0}${envId === undefined ? '' : `&env=${envId}`}">
          Older recordings →</a></p>` : ''}`;
      return kit.page(request, reply, { title: 'Recordings', active: 'recordings', body,
        subtitle: 'Everything recorded or uploaded to your environments, newest first.' });
    });

  app.get<{ Params: { id: string } }>('/recordings/:id', async (request, reply) => {
    const { account, session } = kit.user(request);
    const id = /^\d{1,15}$/.test(request.params.id) ? Number(request.params.id) : 0;
    const rec = await findRecording(db, account.id, id);
    if (rec === undefined) throw new AppError('not_found', 'recording not found');
    const [envs, storage, hooks] = await Promise.all([listEnvironments(db, account.id),
      storageDeliveriesOf(db, account.id, [rec.id]),
      webhookDeliveriesOfRecording(db, account.id, rec.id)]);
    const env = envs.find((e) => e.env_id === rec.env_id);
    const media = links(account, rec);
    const csrf = session.csrf_token;
    const actions = html`<div class="actions">
      ${media.mp4 === null ? '' : html`<a class="btn" href="${media.mp4}" download>Download MP4</a>`}
      ${media.original === null ? '' : html`<a class="btn" href="${media.original}" download>
        Original (${rec.original_ext})</a>`}
      ${postButton(csrf, `/dashboard/recordings/${rec.id}/delete`, 'Delete', { tone: 'danger',
        confirm: 'Delete this recording and all its files? This cannot be undone.' })}</div>`;
    const body = html`<div class="grid-2">
      <section class="card player-card" aria-label="Playback">${player(rec, media)}</section>
      <section class="card"><h2>Details</h2>${details(rec, env, tz)}</section></div>
      <section class="card"><h2>Storage deliveries</h2>${storageTable(storage, tz)}</section>
      <section class="card"><h2>Webhooks</h2>${hookTable(hooks, csrf, rec.id, tz)}</section>`;
    return kit.page(request, reply, { title: rec.name, active: 'recordings', body, actions,
      subtitle: html`Recorded ${when(rec.created_at, tz)} in ${env?.env_name ?? 'an environment'}
        · #${rec.id} ${statusBadge(rec.status, rec.failure_reason ?? undefined)}` });
  });

  app.post<{ Params: { id: string } }>('/recordings/:id/delete', async (request, reply) => {
    const answer = await kit.api(request, 'DELETE', `/video/${request.params.id}`);
    return kit.outcome(reply, answer.ok ? '/dashboard/recordings'
      : `/dashboard/recordings/${request.params.id}`, answer, 'The recording was deleted.');
  });
}

function stats(total: number, counts: Record<string, number>): Html {
  const card = (label: string, value: number, tone: string) =>
    html`<div class="stat stat-${tone}"><span class="stat-value">${value}</span>
      <span class="stat-label">${label}</span></div>`;
  return html`<div class="stats">${card('Recordings', total, 'blue')}
    ${card('Converted', counts.converted ?? 0, 'green')}
    ${card('Converting', counts.recorded ?? 0, 'amber')}
    ${card('Failed', counts.failed ?? 0, 'red')}</div>`;
}

function filter(envs: Environment[], envId: number | undefined): Html {
  if (envs.length < 2) return html``;
  return html`<form class="filter" method="get" action="/dashboard/recordings">
    <label>Environment <select name="env" data-autosubmit>
      <option value="">All environments</option>
      ${envs.map((e) => html`<option value="${e.env_id}" ${e.env_id === envId ? 'selected' : ''}>
        ${e.env_name}</option>`)}</select></label>
    <noscript><button class="btn btn-sm" type="submit">Filter</button></noscript></form>`;
}

function row(account: Account, rec: Recording, envName: string, storage: RecordingDelivery[],
  hooks: Record<string, number>, tz: string): Html {
  const media = links(account, rec);
  const href = `/dashboard/recordings/${rec.id}`;
  const thumb = media.snapshot === null
    ? html`<span class="thumb thumb-empty" aria-hidden="true"></span>`
    : html`<img class="thumb" src="${media.snapshot}" alt="" loading="lazy">`;
  return html`<tr>
    <td class="thumb-cell"><a href="${href}" tabindex="-1" aria-hidden="true">${thumb}</a></td>
    <td><a class="strong" href="${href}">${rec.name}</a>
      <div class="muted small">#${rec.id} · ${envName}${rec.payload === '' ? ''
        : html` · <span class="mono">${rec.payload.slice(0, 40)}</span>`}</div></td>
    <td class="nowrap">${when(rec.created_at, tz)}</td>
    <td class="num">${duration(rec.length)}</td>
    <td class="num nowrap">${bytes(rec.size ?? rec.original_size)}</td>
    <td>${statusBadge(rec.status, rec.failure_reason ?? undefined)}</td>
    <td><div class="badges">${storage.map((d) => badge(TARGET_NAMES[d.target] ?? d.target,
      d.status === 'delivered' ? 'green' : d.status === 'failed' ? 'red' : 'amber',
      `${d.status}${d.last_error === null ? '' : `: ${d.last_error}`}`))}
      ${webhookBadge(hooks, storage.length === 0)}</div></td></tr>`;
}

function webhookBadge(hooks: Record<string, number>, nothingElse: boolean): Html {
  const total = Object.values(hooks).reduce((a, b) => a + b, 0);
  if (total === 0) return nothingElse ? html`<span class="muted small">—</span>` : html``;
  const delivered = hooks.delivered ?? 0;
  const tone = (hooks.failed ?? 0) > 0 ? 'red' : delivered === total ? 'green' : 'amber';
  return badge(`Webhooks ${delivered}/${total}`, tone, `${delivered} of ${total} delivered`);
}

function player(rec: Recording, media: ReturnType<typeof links>): Html {
  if (media.mp4 !== null) {
    return html`<video class="player" controls preload="metadata" playsinline
      ${media.snapshot === null ? '' : html`poster="${media.snapshot}"`} src="${media.mp4}">
      <a href="${media.mp4}">Download the MP4</a></video>`;
  }
  const text = rec.status === 'failed' ? `Conversion failed: ${rec.failure_reason ?? 'unknown'}`
    : rec.not_stored === 1 ? 'Stored only at your own storage destinations.'
      : 'Converting. This page refreshes when it is ready.';
  return html`<div class="player player-empty" ${rec.status === 'recorded'
    ? html`data-refresh="4"` : ''}><p>${text}</p></div>`;
}

function details(rec: Recording, env: Environment | undefined, tz: string): Html {
  const item = (term: string, value: Html | string) =>
    html`<div><dt>${term}</dt><dd>${value === '' ? '—' : value}</dd></div>`;
  const res = rec.width === null ? '' : `${rec.width} × ${rec.height ?? ''}`;
  return html`<dl class="details">
    ${item('Environment', env === undefined ? '' : `${env.env_name} (${env.env_code})`)}
    ${item('Recorded', when(rec.created_at, tz))}
    ${item('Duration', duration(rec.length))}
    ${item('Resolution', res)}
    ${item('MP4 size', bytes(rec.size))}
    ${item('Original', `${rec.original_container ?? rec.original_ext}, ${
      bytes(rec.original_size)}`)}
    ${item('Codecs', [rec.video_codec, rec.audio_codec].filter((c) => c !== null).join(' / '))}
    ${item('Source', rec.source)}
    ${item('Camera', rec.camera_name ?? '')}
    ${item('Microphone', rec.microphone_name ?? '')}
    ${item('IP address', uintToIpv4(rec.ipv4))}
    ${item('Page', rec.http_referer ?? '')}
    ${item('Payload', rec.payload === '' ? '' : html`<code class="wrap">${rec.payload}</code>`)}
    ${item('MD5', rec.checksum_md5 === null ? '' : html`<code>${rec.checksum_md5}</code>`)}
  </dl>`;
}

function storageTable(rows: RecordingDelivery[], tz: string): Html {
  if (rows.length === 0) {
    return html`<p class="muted">No storage destination is set for this environment.
      <a href="/dashboard/storage">Add one</a>.</p>`;
  }
  return html`<table class="table"><thead><tr><th scope="col">Destination</th>
    <th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Delivered</th>
    <th scope="col">Last error</th></tr></thead><tbody>
    ${rows.map((d) => html`<tr><td>${TARGET_NAMES[d.target] ?? d.target}</td>
      <td>${statusBadge(d.status)}</td><td class="num">${d.attempts}</td>
      <td class="nowrap">${when(d.delivered_at, tz)}</td>
      <td class="small">${d.last_error ?? ''}</td></tr>`)}</tbody></table>`;
}

type HookRow = Awaited<ReturnType<typeof webhookDeliveriesOfRecording>>[number];

function hookTable(rows: HookRow[], csrf: string, recordingId: number, tz: string): Html {
  if (rows.length === 0) {
    return html`<p class="muted">No webhook was sent about this recording.
      <a href="/dashboard/webhooks">Set up a webhook</a>.</p>`;
  }
  return html`<table class="table"><thead><tr><th scope="col">Event</th>
    <th scope="col">Webhook</th><th scope="col">Status</th><th scope="col">HTTP</th>
    <th scope="col">Sent</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
    <tbody>${rows.map((d) => html`<tr><td><code>${d.event}</code></td>
      <td class="url"><a href="/dashboard/webhooks/${d.webhook_id}">${d.webhook}</a></td>
      <td>${statusBadge(d.status, d.last_error ?? undefined)}</td>
      <td class="num">${d.last_status_code ?? '—'}</td>
      <td class="nowrap">${when(d.delivered_at ?? d.created_at, tz)}</td>
      <td class="right">${postButton(csrf, `/dashboard/webhooks/${d.webhook_id}/deliveries/${
        d.id}/redeliver?back=recording-${recordingId}`, 'Redeliver', { small: true })}</td>
    </tr>`)}</tbody></table>`;
}

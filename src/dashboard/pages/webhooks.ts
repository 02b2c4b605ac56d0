import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { Environment, Webhook, WebhookDelivery } from '../../db/schema.js';
import { AppError } from '../../lib/errors.js';
import { webhookDeliveryCounts } from '../../repositories/dashboard.js';
import { listDeliveries } from '../../repositories/deliveries.js';
import { listEnvironments } from '../../repositories/environments.js';
import { EVENT_FLAGS, findWebhook, listWebhooks } from '../../repositories/webhooks.js';
import { badge, statusBadge, when } from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import { capitalize, pick } from '../kit.js';
import type { Kit } from '../kit.js';
import type { Notice } from '../layout.js';
import { csrfField, emptyState, postButton } from '../layout.js';
import { codeBlock } from './environments.js';

const EVENTS = Object.entries(EVENT_FLAGS) as [string, string][];
const DEFAULT_EVENTS = new Set(['webhook_recorded', 'webhook_converted', 'webhook_copied_pipe_s3']);
const FIELDS = ['webhook', 'env_id', 'format', 'active', ...EVENTS.map(([, flag]) => flag)];

export async function webhookPages(app: FastifyInstance, kit: Kit) {
  const ctx = kit.ctx;
  const db = ctx.db.kysely;
  const tz = ctx.config.timeZone;

  const listPage = async (request: FastifyRequest, reply: FastifyReply,
    extra: { notice?: Notice; secret?: string } = {}) => {
    const { account, session } = kit.user(request);
    const [hooks, envs, counts] = await Promise.all([listWebhooks(db, account.id),
      listEnvironments(db, account.id), webhookDeliveryCounts(db, account.id)]);
    const envName = new Map(envs.map((e) => [e.env_id, e.env_name]));
    const body = html`${extra.secret === undefined ? '' : secretPanel(extra.secret)}
      ${hooks.length === 0 ? emptyState('No webhooks yet', 'A webhook tells your server when ' +
        'a recording arrives, is converted and is stored.')
        : html`<div class="card card-flush"><table class="table">
        <thead><tr><th scope="col">URL</th><th scope="col">Environment</th>
          <th scope="col">Events</th><th scope="col">Deliveries</th><th scope="col">State</th>
          </tr></thead><tbody>${hooks.map((hook) => html`<tr>
          <td class="url"><a class="strong" href="/dashboard/webhooks/${hook.id}">${hook.webhook}</a>
            <div class="muted small">${hook.format === 'form' ? 'Form field payload' : 'JSON'}
            </div></td>
          <td>${envName.get(hook.env_id) ?? hook.env_id}</td>
          <td><div class="chips">${events(hook)}</div></td>
          <td>${deliverySummary(counts.filter((c) => c.webhookId === hook.id))}</td>
          <td>${hook.active === 1 ? badge('Active', 'green') : badge('Paused', 'gray')}</td>
        </tr>`)}</tbody></table></div>`}
      <section class="card"><h2>Add a webhook</h2>
        ${webhookForm(session.csrf_token, '/dashboard/webhooks', envs, null)}</section>`;
    return kit.page(request, reply, { title: 'Webhooks', active: 'webhooks', body,
      notice: extra.notice, subtitle: 'Signed POST requests to your server at each step of a ' +
        'recording, as Pipe sends them.' });
  };

  const detailPage = async (request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply, extra: { notice?: Notice; secret?: string } = {}) => {
    const { account, session } = kit.user(request);
    const id = /^\d{1,15}$/.test(request.params.id) ? Number(request.params.id) : 0;
    const hook = await findWebhook(db, account.id, id);
    if (hook === undefined) throw new AppError('not_found', 'webhook not found');
    const [envs, log] = await Promise.all([listEnvironments(db, account.id),
      listDeliveries(db, account.id, hook.id, 100)]);
    const csrf = session.csrf_token;
    const base = `/dashboard/webhooks/${hook.id}`;
    const actions = html`<div class="actions">
      <form method="post" action="${base}/test" class="inline test-form">${csrfField(csrf)}
        <label class="sr" for="test-event">Event</label>
        <select id="test-event" name="event">
          <option>video_recorded</option><option>video_converted</option>
          <option>video_copied_pipe_s3</option></select>
        <button class="btn" type="submit">Send test event</button></form>
      ${postButton(csrf, `${base}/secret`, 'New signing secret', { confirm: 'Issue a new ' +
        'signing secret? The current one stops signing at once.' })}
      ${postButton(csrf, `${base}/delete`, 'Delete', { tone: 'danger',
        confirm: 'Delete this webhook? Deliveries still pending are dropped.' })}</div>`;
    const body = html`${extra.secret === undefined ? '' : secretPanel(extra.secret)}
      <section class="card card-flush"><div class="card-pad"><h2>Delivery log</h2>
        <p class="muted small">The newest 100 deliveries, kept ${ctx.config.retentionDays} days.
        </p></div>${logTable(log, csrf, base, tz)}</section>
      <section class="card"><h2>Settings</h2>${webhookForm(csrf, base, envs, hook)}</section>`;
    return kit.page(request, reply, { title: 'Webhook', active: 'webhooks', body, actions,
      notice: extra.notice, subtitle: html`<span class="url">${hook.webhook}</span>` });
  };

  app.get('/webhooks', async (request, reply) => listPage(request, reply));
  app.get<{ Params: { id: string } }>('/webhooks/:id', async (request, reply) =>
    detailPage(request, reply));

  app.post('/webhooks', async (request, reply) => {
    const answer = await kit.api(request, 'POST', '/webhook', pick(kit.form(request), FIELDS));
    if (!answer.ok) return kit.outcome(reply, '/dashboard/webhooks', answer, '');
    const details = answer.json.webhook_details as { webhook_secret: string }[] | undefined;
    return listPage(request, reply, { notice: { tone: 'success', text: 'The webhook was ' +
      'added.' }, secret: details?.[0]?.webhook_secret ?? '' });
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id', async (request, reply) => {
    const { env_id: _env, ...fields } = pick(kit.form(request), FIELDS);
    const answer = await kit.api(request, 'PUT', `/webhook/${request.params.id}`, fields);
    return kit.outcome(reply, `/dashboard/webhooks/${request.params.id}`, answer,
      'The webhook was saved.');
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/delete', async (request, reply) => {
    const answer = await kit.api(request, 'DELETE', `/webhook/${request.params.id}`);
    return kit.outcome(reply, '/dashboard/webhooks', answer, 'The webhook was deleted.');
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/test', async (request, reply) => {
    const event = kit.form(request).event ?? 'video_recorded';
    const answer = await kit.api(request, 'POST', `/webhook/${request.params.id}/test`,
      { event });
    const sent = (answer.json.deliveries as Record<string, string | null>[] | undefined)?.[0];
    const text = !answer.ok ? capitalize(answer.message)
      : sent?.status === 'delivered' ? `Test ${event} delivered: HTTP ${sent.http_status ?? ''}.`
        : `Test ${event} failed: ${sent?.error ?? `HTTP ${sent?.http_status ?? '?'}`}.`;
    return kit.done(reply, `/dashboard/webhooks/${request.params.id}`,
      { tone: answer.ok && sent?.status === 'delivered' ? 'success' : 'error', text });
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/secret', async (request, reply) => {
    const answer = await kit.api(request, 'POST', `/webhook/${request.params.id}/secret`, {});
    if (!answer.ok) return kit.outcome(reply, `/dashboard/webhooks/${request.params.id}`, answer,
      '');
    const details = answer.json.webhook_details as { webhook_secret: string }[] | undefined;
    return detailPage(request, reply, { notice: { tone: 'success', text: 'A new signing ' +
      'secret was issued.' }, secret: details?.[0]?.webhook_secret ?? '' });
  });

  app.post<{ Params: { id: string; did: string }; Querystring: { back?: string } }>(
    '/webhooks/:id/deliveries/:did/redeliver', async (request, reply) => {
      const { id, did } = request.params;
      const answer = await kit.api(request, 'POST',
        `/webhook/${id}/deliveries/${did}/redeliver`, {});
      const back = /^recording-(\d{1,15})$/.exec(request.query.back ?? '');
      const to = back === null ? `/dashboard/webhooks/${id}` : `/dashboard/recordings/${back[1]}`;
      return kit.outcome(reply, to, answer, 'The event is being sent again.');
    });
}

function events(hook: Webhook): Html[] {
  return EVENTS.filter(([, flag]) => hook[flag as keyof Webhook] === 1)
    .map(([event]) => html`<span class="chip">${event.replace(/^video_/, '')}</span>`);
}

function deliverySummary(counts: { status: string; n: number }[]): Html {
  if (counts.length === 0) return html`<span class="muted small">none yet</span>`;
  const n = (status: string) => counts.find((c) => c.status === status)?.n ?? 0;
  return html`<div class="badges">${badge(`${n('delivered')} delivered`, 'green')}
    ${n('failed') > 0 ? badge(`${n('failed')} failed`, 'red') : ''}
    ${n('pending') > 0 ? badge(`${n('pending')} pending`, 'amber') : ''}</div>`;
}

function secretPanel(secret: string): Html {
  return html`<section class="card card-highlight"><h2>Signing secret</h2>
    <p>Copy it now: it is shown only this once. Receivers use it to check the
      <code>webhook-signature</code> header.</p>${codeBlock('new-secret', secret)}</section>`;
}

function webhookForm(csrf: string, action: string, envs: Environment[], hook: Webhook | null) {
  const checked = (flag: string) => hook === null ? DEFAULT_EVENTS.has(flag)
    : hook[flag as keyof Webhook] === 1;
  return html`<form method="post" action="${action}" class="stack">${csrfField(csrf)}
    <label>URL <input type="url" name="webhook" required maxlength="200"
      placeholder="https://example.com/hooks/pipe" value="${hook?.webhook ?? ''}"></label>
    <div class="row-fields">
      ${hook === null ? html`<label>Environment <select name="env_id">${envs.map((e) =>
        html`<option value="${e.env_id}">${e.env_name}</option>`)}</select></label>` : ''}
      <label>Body <select name="format">
        <option value="json" ${hook?.format === 'form' ? '' : 'selected'}>JSON</option>
        <option value="form" ${hook?.format === 'form' ? 'selected' : ''}>Form field
          "payload"</option></select></label>
      ${hook === null ? '' : html`<label class="check inline-check">
        <input type="hidden" name="active" value="0">
        <input type="checkbox" name="active" value="1" ${hook.active === 1 ? 'checked' : ''}>
        <span>Active</span></label>`}
    </div>
    <fieldset><legend>Events</legend><div class="check-grid">
      ${EVENTS.map(([event, flag]) => html`<label class="check">
        <input type="hidden" name="${flag}" value="0">
        <input type="checkbox" name="${flag}" value="1" ${checked(flag) ? 'checked' : ''}>
        <span><code>${event}</code></span></label>`)}</div></fieldset>
    <div><button class="btn btn-primary" type="submit">${hook === null ? 'Add webhook'
      : 'Save webhook'}</button></div></form>`;
}

function logTable(log: WebhookDelivery[], csrf: string, base: string, tz: string): Html {
  if (log.length === 0) {
    return html`<p class="muted card-pad">Nothing was sent yet. Send a test event to try it.</p>`;
  }
  return html`<table class="table"><thead><tr><th scope="col">Sent</th>
    <th scope="col">Event</th><th scope="col">Recording</th><th scope="col">Status</th>
    <th scope="col">Attempts</th><th scope="col">HTTP</th><th scope="col">Time</th>
    <th scope="col">Error</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
    <tbody>${log.map((d) => html`<tr>
      <td class="nowrap">${when(d.created_at, tz)}</td><td><code>${d.event}</code></td>
      <td>${d.recording_id === null ? html`<span class="muted">test</span>`
        : html`<a href="/dashboard/recordings/${d.recording_id}">#${d.recording_id}</a>`}</td>
      <td>${statusBadge(d.status)}</td><td class="num">${d.attempts}</td>
      <td class="num">${d.last_status_code ?? '—'}</td>
      <td class="num">${d.last_duration_ms === null ? '—' : `${d.last_duration_ms} ms`}</td>
      <td class="small error-cell">${d.last_error ?? ''}</td>
      <td class="right">${postButton(csrf, `${base}/deliveries/${d.id}/redeliver`, 'Redeliver',
        { small: true })}</td></tr>`)}</tbody></table>`;
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { keepSessionAfterKeyRotation, signOutEverywhere } from '../../services/sessions.js';
import { serializeCookie, sessionCookieName } from '../cookies.js';
import { badge, when } from '../format.js';
import { html } from '../html.js';
import { capitalize } from '../kit.js';
import type { Kit } from '../kit.js';
import type { Notice } from '../layout.js';
import { csrfField, postButton } from '../layout.js';
import { codeBlock } from './environments.js';

interface Revealed {
  title: string;
  text: string;
  value: string;
}

export async function accountPages(app: FastifyInstance, kit: Kit) {
  const ctx = kit.ctx;

  const page = async (request: FastifyRequest, reply: FastifyReply,
    extra: { notice?: Notice; revealed?: Revealed } = {}) => {
    const { account, session } = kit.user(request);
    const csrf = session.csrf_token;
    const shown = extra.revealed;
    const body = html`${shown === undefined ? '' : html`<section class="card card-highlight">
        <h2>${shown.title}</h2><p>${shown.text}</p>${codeBlock('revealed', shown.value)}
      </section>`}
      <div class="grid-2">
      <section class="card"><h2>Account</h2><dl class="details">
        <div><dt>Name</dt><dd>${account.name}</dd></div>
        <div><dt>Email</dt><dd>${account.email}</dd></div>
        <div><dt>Created</dt><dd>${when(account.created_at, ctx.config.timeZone)}</dd></div>
        <div><dt>API requests</dt><dd>${account.api_requests}</dd></div>
        <div><dt>Dashboard password</dt><dd>${account.password_hash === null
          ? badge('Not set', 'gray') : badge('Set', 'green')}</dd></div></dl>
        <h3>Account hash</h3>
        <p class="muted small">Public: it goes into every embed code.</p>
        ${codeBlock('account-hash', account.account_hash)}
      </section>
      <section class="card"><h2>API key</h2>
        <p>The key is stored hashed, so it cannot be shown again. A new key replaces it at
          once: update every client that uses the old one.</p>
        ${postButton(csrf, '/dashboard/account/api-key', 'Issue a new API key',
          { tone: 'primary', confirm: 'Issue a new API key? The current key stops working ' +
            'at once.' })}
        <h2 class="spaced">Webhook key</h2>
        <p>Signs <code>X-Pipe-Signature</code>. During a grace period the old key signs too,
          in <code>X-Pipe-Signature-Previous</code>.</p>
        <form method="post" action="/dashboard/account/webhook-key" class="row-form"
          data-confirm="Issue a new webhook key?">${csrfField(csrf)}
          <label>Old key keeps signing for <select name="grace_seconds">
            <option value="0">no time</option><option value="3600">1 hour</option>
            <option value="86400" selected>1 day</option><option value="604800">7 days</option>
          </select></label><button class="btn" type="submit">Issue a new webhook key</button>
        </form>
        <h2 class="spaced">Password</h2>
        <p>An operator sets it on the server:</p>
        ${codeBlock('password-command',
          `standpipe account password --account-hash ${account.account_hash}`)}
        <h2 class="spaced">Sessions</h2>
        ${postButton(csrf, '/dashboard/account/sessions', 'Sign out everywhere',
          { tone: 'danger', confirm: 'Sign out of the dashboard in every browser?' })}
      </section></div>`;
    return kit.page(request, reply, { title: 'Account', active: 'account', body,
      notice: extra.notice, subtitle: 'Keys, password and sessions of this account.' });
  };

  app.get('/account', async (request, reply) => page(request, reply));

  app.post('/account/api-key', async (request, reply) => {
    const answer = await kit.api(request, 'POST', '/account/api-key', {});
    const key = (answer.json.account_details as { api_key?: string }[] | undefined)?.[0]?.api_key;
    if (!answer.ok || key === undefined) {
      return kit.done(reply, '/dashboard/account', { tone: 'error',
        text: capitalize(answer.message) });
    }
    await keepSessionAfterKeyRotation(ctx, kit.user(request));
    return page(request, reply, { revealed: { title: 'New API key', value: key,
      text: 'Copy it now: it is shown only this once. The old key no longer works.' } });
  });

  app.post('/account/webhook-key', async (request, reply) => {
    const grace = kit.form(request).grace_seconds ?? '0';
    const answer = await kit.api(request, 'POST', '/account/webhook-key',
      { grace_seconds: grace });
    const key = (answer.json.account_details as { webhook_key?: string }[] | undefined)?.[0]
      ?.webhook_key;
    if (!answer.ok || key === undefined) {
      return kit.done(reply, '/dashboard/account', { tone: 'error',
        text: capitalize(answer.message) });
    }
    return page(request, reply, { revealed: { title: 'New webhook key', value: key,
      text: 'Copy it now: it is shown only this once. Give it to every webhook receiver.' } });
  });

  app.post('/account/sessions', async (request, reply) => {
    await signOutEverywhere(ctx, kit.user(request).account);
    void reply.header('set-cookie', serializeCookie(ctx.config, sessionCookieName(ctx.config), '',
      { maxAgeSeconds: 0 }));
    return reply.redirect('/dashboard/login?out=1', 303);
  });
}

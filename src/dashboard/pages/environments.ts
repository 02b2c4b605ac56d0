import type { FastifyInstance } from 'fastify';

import type { Account, Environment } from '../../db/schema.js';
import { listEnvironments } from '../../repositories/environments.js';
import { badge } from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import { pick } from '../kit.js';
import type { Kit } from '../kit.js';
import { csrfField } from '../layout.js';

const SWITCHES: [string, string, string][] = [
  ['collect_ip', 'Keep visitors’ IP addresses', 'The address each recording came from.'],
  ['collect_ua', 'Keep browser details', 'The user agent of the recording browser.'],
  ['collect_referer', 'Keep the page address', 'The page the recorder was on.'],
  ['collect_device_names', 'Keep camera and microphone names', 'As the browser reports them.'],
  ['do_not_store', 'Do not keep copies here', 'Remove them once every storage delivery ' +
    'succeeded.'],
  ['filmstrip', 'Make filmstrips', 'Ten frames of each new recording in one image.'],
];

/** The embed code for a page, as Pipe's embed code 2.0 with this server as the host. */
export function embedCode(publicUrl: string, account: Account, env: Environment): string {
  return `<link rel="stylesheet" href="${publicUrl}/2.0/pipe.css">
<script src="${publicUrl}/2.0/pipe.js"></script>
<piperecorder id="custom-id" pipe-width="640" pipe-height="390"
  pipe-accounthash="${account.account_hash}" pipe-eid="${env.env_code}"
  pipe-mrt="600" pipe-avrec="1"></piperecorder>`;
}

export function embedScript(publicUrl: string, account: Account, env: Environment): string {
  return `<link rel="stylesheet" href="${publicUrl}/2.0/pipe.css">
<script src="${publicUrl}/2.0/pipe.js"></script>
<div id="custom-id"></div>
<script>
  PipeSDK.insert('custom-id', {
    size: { width: 640, height: 390 },
    accountHash: '${account.account_hash}', eid: '${env.env_code}', mrt: 600, avrec: 1,
    payload: ''
  }, function (recorder) {
    recorder.onSaveOk = function (recorderId, streamName, streamDuration, cameraName,
      micName, audioCodec, videoCodec, fileType, videoId) {
      // the recording is uploaded: store videoId with your own data
    };
  });
</script>`;
}

export async function environmentPages(app: FastifyInstance, kit: Kit) {
  const ctx = kit.ctx;

  app.get('/environments', async (request, reply) => {
    const { account, session } = kit.user(request);
    const envs = await listEnvironments(ctx.db.kysely, account.id);
    const csrf = session.csrf_token;
    const body = html`${envs.map((env) => envCard(ctx.config.publicUrl, account, env, csrf))}
      <section class="card"><h2>New environment</h2>
        <p class="muted">Each environment has its own embed code, webhooks and storage, for
          example one for production and one for testing.</p>
        <form method="post" action="/dashboard/environments" class="row-form">${csrfField(csrf)}
          <label>Name <input name="env_name" required maxlength="100"
            placeholder="Staging"></label>
          <button class="btn btn-primary" type="submit">Create environment</button></form>
      </section>`;
    return kit.page(request, reply, { title: 'Environments', active: 'environments', body,
      subtitle: 'Copy an environment’s embed code into the page where people record.' });
  });

  app.post('/environments', async (request, reply) => {
    const answer = await kit.api(request, 'POST', '/environment',
      pick(kit.form(request), ['env_name'], true));
    return kit.outcome(reply, '/dashboard/environments', answer, 'The environment was created.');
  });

  app.post<{ Params: { id: string } }>('/environments/:id', async (request, reply) => {
    const form = kit.form(request);
    const fields = pick(form, ['env_name', 'lifecycle_days', ...SWITCHES.map((s) => s[0])], true);
    const answer = await kit.api(request, 'PUT', `/environment/${request.params.id}`, fields);
    return kit.outcome(reply, '/dashboard/environments', answer, 'The settings were saved.');
  });
}

function envCard(publicUrl: string, account: Account, env: Environment, csrf: string): Html {
  const id = env.id;
  const flags = [
    env.do_not_store === 1 ? badge('Not stored here', 'blue') : '',
    env.collect_ip === 0 || env.collect_ua === 0 || env.collect_referer === 0 ||
      env.collect_device_names === 0 ? badge('Collects less', 'blue') : '',
    env.lifecycle_days === null ? '' : badge(`Deleted after ${env.lifecycle_days} days`, 'gray'),
  ];
  return html`<section class="card" aria-labelledby="env-${id}">
    <div class="card-head"><div><h2 id="env-${id}">${env.env_name}</h2>
      <p class="muted small">Environment ${env.env_id} · code <code>${env.env_code}</code></p></div>
      <div class="badges">${flags}</div></div>
    <h3>Embed code</h3>
    ${codeBlock(`embed-${id}`, embedCode(publicUrl, account, env))}
    <details><summary>JavaScript version (PipeSDK.insert)</summary>
      ${codeBlock(`embed-js-${id}`, embedScript(publicUrl, account, env))}</details>
    <details><summary>Settings</summary>
      <form method="post" action="/dashboard/environments/${id}" class="stack settings">
        ${csrfField(csrf)}
        <label>Name <input name="env_name" value="${env.env_name}" required maxlength="100">
        </label>
        <fieldset><legend>What recordings keep</legend>
        ${SWITCHES.map(([name, label, hint]) => html`<label class="check">
          <input type="hidden" name="${name}" value="0">
          <input type="checkbox" name="${name}" value="1"
            ${(env[name as keyof Environment] as number) === 1 ? 'checked' : ''}>
          <span>${label}<small>${hint}</small></span></label>`)}</fieldset>
        <label>Delete recordings after (days)
          <input name="lifecycle_days" inputmode="numeric" pattern="[0-9]*"
            value="${env.lifecycle_days ?? ''}" placeholder="Keep them"></label>
        <div><button class="btn btn-primary" type="submit">Save settings</button></div>
      </form></details>
  </section>`;
}

export function codeBlock(id: string, code: string): Html {
  return html`<div class="code-block"><pre id="${id}" tabindex="0"><code>${code}</code></pre>
    <button class="btn btn-sm copy" type="button" data-copy="${id}">Copy</button></div>`;
}

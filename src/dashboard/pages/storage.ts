import type { FastifyInstance } from 'fastify';

import type { Environment } from '../../db/schema.js';
import { listCredentials } from '../../repositories/credentials.js';
import type { CredentialTable } from '../../repositories/credentials.js';
import { listEnvironments } from '../../repositories/environments.js';
import { badge } from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import { capitalize, pick } from '../kit.js';
import type { Kit } from '../kit.js';
import { csrfField } from '../layout.js';

interface Field {
  name: string;
  label: string;
  /** Write-only: the column that holds it sealed; the page only says whether it is set. */
  sealed?: string;
  options?: string[];
  placeholder?: string;
  numeric?: boolean;
}

interface Kind {
  key: 'amazon' | 'ftp' | 'dropbox';
  title: string;
  intro: string;
  table: CredentialTable;
  fields: Field[];
  tests: { label: string; body: Record<string, string> }[];
}

const KINDS: Kind[] = [
  {
    key: 'amazon', title: 'Amazon S3', table: 'amazon_credentials',
    intro: 'Copies of each recording go to your bucket, under the folder you choose.',
    fields: [
      { name: 'amz_bucket', label: 'Bucket', placeholder: 'my-recordings' },
      { name: 'amz_bucket_region', label: 'Region', placeholder: 'us-east-1' },
      { name: 'amz_folder', label: 'Folder', placeholder: 'pipe/' },
      { name: 'amz_acl', label: 'Access', options: ['private', 'public-read',
        'bucket-owner-full-control'] },
      { name: 'amz_key', label: 'Access key ID', sealed: 'amz_key_enc' },
      { name: 'amz_secret', label: 'Secret access key', sealed: 'amz_secret_enc' },
    ],
    tests: [{ label: 'Test connection', body: {} }],
  },
  {
    key: 'ftp', title: 'FTP and SFTP', table: 'ftp_credentials',
    intro: 'FTP uses TLS whenever the server offers it; SFTP logs in with a password.',
    fields: [
      { name: 'ftp_host', label: 'FTP host', placeholder: 'ftp.example.com' },
      { name: 'ftp_port', label: 'FTP port', numeric: true, placeholder: '21' },
      { name: 'ftp_username', label: 'FTP user' },
      { name: 'ftp_password', label: 'FTP password', sealed: 'ftp_password_enc' },
      { name: 'ftp_dir', label: 'FTP folder', placeholder: 'recordings/' },
      { name: 'sftp_host', label: 'SFTP host', placeholder: 'sftp.example.com' },
      { name: 'sftp_port', label: 'SFTP port', numeric: true, placeholder: '22' },
      { name: 'sftp_username', label: 'SFTP user' },
      { name: 'sftp_password', label: 'SFTP password', sealed: 'sftp_password_enc' },
      { name: 'sftp_dir', label: 'SFTP folder', placeholder: 'recordings/' },
    ],
    tests: [{ label: 'Test FTP', body: { protocol: 'ftp' } },
      { label: 'Test SFTP', body: { protocol: 'sftp' } }],
  },
  {
    key: 'dropbox', title: 'Dropbox', table: 'dropbox_credentials',
    intro: 'Recordings are uploaded to a folder of the Dropbox app the token belongs to.',
    fields: [
      { name: 'dbox_folder', label: 'Folder', placeholder: '/Recordings' },
      { name: 'dbox_token', label: 'Access token', sealed: 'dbox_token_enc' },
    ],
    tests: [{ label: 'Test connection', body: {} }],
  },
];

type Row = Record<string, unknown> & { id: number; env_id: number };

export async function storagePages(app: FastifyInstance, kit: Kit) {
  const ctx = kit.ctx;
  const db = ctx.db.kysely;

  app.get('/storage', async (request, reply) => {
    const { account, session } = kit.user(request);
    const envs = await listEnvironments(db, account.id);
    const sets = await Promise.all(KINDS.map((k) => listCredentials(db, k.table, account.id)));
    const body = html`${KINDS.map((kind, i) => kindCard(kind,
      (sets[i] ?? []) as unknown as Row[], envs, session.csrf_token))}`;
    return kit.page(request, reply, { title: 'Storage', active: 'storage', body,
      subtitle: 'Where converted recordings are copied. Passwords, keys and tokens can be ' +
        'replaced but never read back.' });
  });

  for (const kind of KINDS) {
    const names = kind.fields.map((f) => f.name);
    app.post(`/storage/${kind.key}`, async (request, reply) => {
      const answer = await kit.api(request, 'POST', `/${kind.key}`,
        pick(kit.form(request), [...names, 'env_id']));
      return kit.outcome(reply, '/dashboard/storage', answer, `${kind.title} was added.`);
    });
    app.post<{ Params: { id: string } }>(`/storage/${kind.key}/:id`, async (request, reply) => {
      // An empty secret field means "keep the stored one"; other fields may be emptied.
      const form = kit.form(request);
      const optional = kind.fields.filter((f) => f.sealed !== undefined || f.numeric === true)
        .map((f) => f.name);
      const fields = pick(form, names.filter((n) => !optional.includes(n)), true);
      Object.assign(fields, pick(form, optional));
      const answer = await kit.api(request, 'PUT', `/${kind.key}/${request.params.id}`, fields);
      return kit.outcome(reply, '/dashboard/storage', answer, `${kind.title} was saved.`);
    });
    app.post<{ Params: { id: string } }>(`/storage/${kind.key}/:id/test`,
      async (request, reply) => {
        const protocol = kit.form(request).protocol;
        const answer = await kit.api(request, 'POST', `/${kind.key}/${request.params.id}/test`,
          protocol === undefined ? {} : { protocol });
        const result = answer.json.test_result as Record<string, string> | undefined;
        const passed = answer.ok && result?.success === '1';
        const text = !answer.ok ? capitalize(answer.message) : passed
          ? `${kind.title}: the test file was written and removed.`
          : `${kind.title} test failed at "${result?.step ?? '?'}": ${result?.message ?? ''}`;
        return kit.done(reply, '/dashboard/storage', { tone: passed ? 'success' : 'error', text });
      });
  }
}

function kindCard(kind: Kind, rows: Row[], envs: Environment[], csrf: string): Html {
  const envName = new Map(envs.map((e) => [e.env_id, e.env_name]));
  return html`<section class="card" aria-labelledby="kind-${kind.key}">
    <div class="card-head"><div><h2 id="kind-${kind.key}">${kind.title}</h2>
      <p class="muted small">${kind.intro}</p></div></div>
    ${rows.map((row) => html`<details class="cred" open>
      <summary><strong>${kind.title} #${row.id}</strong>
        <span class="muted">· ${envName.get(row.env_id) ?? `environment ${row.env_id}`}</span>
      </summary>
      ${fieldsForm(kind, csrf, `/dashboard/storage/${kind.key}/${row.id}`, row, null)}
      <div class="actions">${kind.tests.map((t) => html`<form method="post" class="inline"
        action="/dashboard/storage/${kind.key}/${row.id}/test">${csrfField(csrf)}
        ${Object.entries(t.body).map(([k, v]) => html`<input type="hidden" name="${k}"
          value="${v}">`)}<button class="btn btn-sm" type="submit">${t.label}</button></form>`)}
      </div></details>`)}
    <details class="cred" ${rows.length === 0 ? 'open' : ''}>
      <summary><strong>Add ${kind.title}</strong></summary>
      ${fieldsForm(kind, csrf, `/dashboard/storage/${kind.key}`, null, envs)}</details>
  </section>`;
}

function fieldsForm(kind: Kind, csrf: string, action: string, row: Row | null,
  envs: Environment[] | null): Html {
  const input = (f: Field) => {
    const id = `${kind.key}-${row?.id ?? 'new'}-${f.name}`;
    if (f.sealed !== undefined) {
      const set = row !== null && row[f.sealed] !== null && row[f.sealed] !== undefined;
      return html`<label for="${id}"><span class="label-row">${f.label}
        ${set ? badge('Saved', 'green') : ''}</span>
        <input id="${id}" type="password" name="${f.name}" autocomplete="new-password"
          placeholder="${set ? 'Saved — type to replace' : 'Not set'}"></label>`;
    }
    const stored = row === null ? '' : row[f.name];
    const value = typeof stored === 'string' || typeof stored === 'number' ? String(stored) : '';
    if (f.options !== undefined) {
      return html`<label for="${id}"><span class="label-row">${f.label}</span>
        <select id="${id}" name="${f.name}">
        ${f.options.map((o) => html`<option ${o === value ? 'selected' : ''}>${o}</option>`)}
        </select></label>`;
    }
    return html`<label for="${id}"><span class="label-row">${f.label}</span>
      <input id="${id}" name="${f.name}"
      value="${value}" placeholder="${f.placeholder ?? ''}"
      ${f.numeric === true ? html`inputmode="numeric"` : ''}></label>`;
  };
  return html`<form method="post" action="${action}" class="stack">${csrfField(csrf)}
    <div class="form-grid">
      ${envs === null ? '' : html`<label><span class="label-row">Environment</span>
        <select name="env_id">${envs.map((e) =>
        html`<option value="${e.env_id}">${e.env_name}</option>`)}</select></label>`}
      ${kind.fields.map(input)}</div>
    <div><button class="btn btn-primary" type="submit">${row === null ? 'Add' : 'Save'}</button>
    </div></form>`;
}

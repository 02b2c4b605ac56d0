import Type from 'typebox';

import { PUBLIC } from './kit.js';
import type { Operation, Parameter, Paths, Response, Security } from './kit.js';

const HTML = { 'text/html': { schema: Type.String() } };
const SESSION: Security = [{ session: [] }];

const page = (description: string): Response => ({ description, content: HTML });
const redirect = (description: string): Response => ({
  description, headers: { Location: { description: 'Where to go.', schema: Type.String() } },
});

const PAGE_ANSWERS = {
  200: page('The page.'),
  303: redirect('No session: to the sign-in page.'),
  404: page('No such page or object.'),
};

const FORM_ANSWERS = {
  200: page('A page showing a new key or secret, this once.'),
  303: redirect('Back to the page, with a message saying how it went.'),
  403: page('No session, a form without the session\'s _csrf token, or one sent from ' +
    'another site.'),
};

/** A form's fields; they go on to the REST API named, with its own checks. */
const form = (api: string) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: Type.Unsafe<unknown>({
    type: 'object',
    properties: { _csrf: { type: 'string', description: 'The session\'s CSRF token, from ' +
      'the page.' } },
    required: ['_csrf'],
    additionalProperties: { type: 'string' },
    description: `The page's form fields; they are sent on to ${api}.`,
  }) } },
});

const ID = (name = 'id'): Parameter =>
  ({ name, in: 'path', required: true, schema: Type.String() });

type Entry = [method: 'get' | 'post', path: string, summary: string, api?: string];

/** Every page and form of the dashboard, and the REST API call a form turns into. */
const ENTRIES: Entry[] = [
  ['get', '/dashboard/recordings', 'Recordings page'],
  ['get', '/dashboard/recordings/{id}', 'One recording'],
  ['post', '/dashboard/recordings/{id}/delete', 'Delete a recording', 'DELETE /video/{id}'],
  ['get', '/dashboard/environments', 'Environments page'],
  ['post', '/dashboard/environments', 'Create an environment', 'POST /environment'],
  ['post', '/dashboard/environments/{id}', 'Change an environment', 'PUT /environment/{id}'],
  ['get', '/dashboard/webhooks', 'Webhooks page'],
  ['post', '/dashboard/webhooks', 'Add a webhook', 'POST /webhook'],
  ['get', '/dashboard/webhooks/{id}', 'One webhook and its deliveries'],
  ['post', '/dashboard/webhooks/{id}', 'Change a webhook', 'PUT /webhook/{id}'],
  ['post', '/dashboard/webhooks/{id}/delete', 'Remove a webhook', 'DELETE /webhook/{id}'],
  ['post', '/dashboard/webhooks/{id}/test', 'Send a test event', 'POST /webhook/{id}/test'],
  ['post', '/dashboard/webhooks/{id}/secret', 'New signing secret',
    'POST /webhook/{id}/secret'],
  ['post', '/dashboard/webhooks/{id}/deliveries/{did}/redeliver', 'Send a delivery again',
    'POST /webhook/{id}/deliveries/{deliveryId}/redeliver'],
  ['get', '/dashboard/storage', 'Storage page'],
  ['get', '/dashboard/account', 'Account page'],
  ['post', '/dashboard/account/api-key', 'New API key', 'POST /account/api-key'],
  ['post', '/dashboard/account/webhook-key', 'New webhook key', 'POST /account/webhook-key'],
  ['post', '/dashboard/account/sessions', 'Sign out everywhere'],
  ...(['amazon', 'ftp', 'dropbox'] as const).flatMap((kind): Entry[] => [
    ['post', `/dashboard/storage/${kind}`, `Add ${kind} credentials`, `POST /${kind}`],
    ['post', `/dashboard/storage/${kind}/{id}`, `Change ${kind} credentials`,
      `PUT /${kind}/{id}`],
    ['post', `/dashboard/storage/${kind}/{id}/test`, `Test ${kind} credentials`,
      `POST /${kind}/{id}/test`],
  ]),
];

function operation([method, path, summary, api]: Entry): Operation {
  const ids = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ID(m[1]));
  const name = path.slice('/dashboard'.length).replace(/\{(\w+)\}/g, '$1')
    .split(/[/-]/).filter((w) => w !== '')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return {
    operationId: `dashboard${method === 'get' ? 'Page' : 'Form'}${name}`, summary,
    tags: ['dashboard'], security: SESSION,
    ...(ids.length === 0 ? {} : { parameters: ids }),
    ...(method === 'post' ? { requestBody: form(api ?? 'no API call') } : {}),
    responses: method === 'get' ? PAGE_ANSWERS : FORM_ANSWERS,
  };
}

const asset = (operationId: string, type: string): Operation => ({
  operationId, summary: 'The dashboard\'s own asset', tags: ['dashboard'], security: PUBLIC,
  responses: { 200: { description: 'The file.', content: { [type]: { schema: Type.String() } } },
    304: { description: 'The client has this version already.' } },
});

/**
 * The dashboard: HTML pages for one signed-in account. Its forms change nothing themselves:
 * each one calls the REST API operation named in its description.
 */
export const dashboardPaths: Paths = {
  '/dashboard': { get: {
    operationId: 'dashboardHome', summary: 'To the recordings page', tags: ['dashboard'],
    security: SESSION, responses: { 303: redirect('To the recordings, or to sign in.') },
  } },
  '/dashboard/logout': { post: {
    operationId: 'dashboardSignOut', summary: 'Sign out', tags: ['dashboard'], security: SESSION,
    requestBody: form('no API call'),
    responses: { 303: redirect('The session ends when _csrf matches; to the sign-in page.') },
  } },
  '/dashboard/assets/dashboard.css': { get: asset('dashboardStyle', 'text/css') },
  '/dashboard/assets/dashboard.js': { get: asset('dashboardScript', 'application/javascript') },
  '/dashboard/login': {
    get: {
      operationId: 'dashboardSignInPage', summary: 'Sign-in page', tags: ['dashboard'],
      security: PUBLIC,
      parameters: [
        { name: 'next', in: 'query', description: 'Dashboard page to go to after.',
          schema: Type.String() },
        { name: 'out', in: 'query', description: '"1" says the user just signed out.',
          schema: Type.String() },
      ],
      responses: { 200: page('The page.'), 303: redirect('Signed in already: to `next`.') },
    },
    post: {
      operationId: 'dashboardSignIn', summary: 'Sign in by password or API key',
      tags: ['dashboard'], security: PUBLIC,
      requestBody: { required: true, content: { 'application/x-www-form-urlencoded': {
        schema: Type.Object({
          _login: Type.String({ description: 'The token the sign-in page set as a cookie.' }),
          method: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['password', 'key'],
            description: 'How to sign in; "password" when left out.' })),
          email: Type.Optional(Type.String()),
          password: Type.Optional(Type.String()),
          api_key: Type.Optional(Type.String()),
          next: Type.Optional(Type.String()),
        }),
      } } },
      responses: {
        303: redirect('Signed in: the session cookie is set; to `next`.'),
        401: page('Wrong email and password, or API key.'),
        403: page('The sign-in form expired.'),
        429: page('Too many failed attempts from this address.'),
      },
    },
  },
};

for (const entry of ENTRIES) {
  const [method, path] = entry;
  dashboardPaths[path] = { ...dashboardPaths[path], [method]: operation(entry) };
}

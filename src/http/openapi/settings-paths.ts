import Type from 'typebox';
import type { TSchema } from 'typebox';

import { choiceIn, envIdIn, flagIn, jsonBody, textIn, wholeIn } from './inputs.js';
import { errors, exact, ok, pathId, schemaRef, text } from './kit.js';
import type { Operation, Paths } from './kit.js';

const READ = errors(401, 429);
const WRITE = errors(401, 403, 429);
const BODY = errors(400, 413, 415);
const webhookId = pathId('id', 'The webhook\'s id.');

const WEBHOOK_FIELDS = {
  webhook: Type.String({ maxLength: 200, description: 'The receiver: an absolute http:// or ' +
    'https:// URL. Loopback, private and link-local hosts are refused unless the operator ' +
    'allows them.' }),
  webhook_recorded: flagIn('Send video_recorded; on by default.'),
  webhook_transcoded: flagIn('Send video_transcoded; off by default.'),
  webhook_converted: flagIn('Send video_converted; on by default.'),
  webhook_copied_pipe_s3: flagIn('Send video_copied_pipe_s3; on by default.'),
  webhook_copied_s3: flagIn('Send video_copied_s3; off by default.'),
  webhook_copied_ftp: flagIn('Send video_copied_ftp; off by default.'),
  webhook_copied_dbox: flagIn('Send video_copied_dbox; off by default.'),
  active: flagIn('Whether it is sent; on by default.'),
  format: choiceIn(['json', 'form'], 'JSON body (default), or a form with the JSON in ' +
    '"payload".'),
};

const deliveries = { deliveries: Type.Array(schemaRef('WebhookDelivery')) };

const webhookPaths: Paths = {
  '/webhook': {
    get: {
      operationId: 'listWebhooks', summary: 'List webhooks', tags: ['webhooks'],
      responses: { ...ok(200, 'get', 'The webhooks.', {
        webhook_details: Type.Array(schemaRef('Webhook')),
      }), ...READ },
    },
    post: {
      operationId: 'createWebhook', summary: 'Add a webhook', tags: ['webhooks'],
      description: 'Extension. The answer carries its Standard Webhooks secret, this once.',
      requestBody: jsonBody({ ...WEBHOOK_FIELDS, env_id: envIdIn }, { required: ['webhook'] }),
      responses: { ...ok(201, 'post', 'The new webhook and its secret.', {
        webhook_details: Type.Array(schemaRef('NewWebhook')),
      }), ...BODY, ...WRITE },
    },
  },
  '/webhook/{id}': {
    put: {
      operationId: 'updateWebhook', summary: 'Change a webhook', tags: ['webhooks'],
      description: 'Send at least one field.', parameters: [webhookId],
      requestBody: jsonBody(WEBHOOK_FIELDS, { atLeastOne: true }),
      responses: { ...ok(200, 'put', 'The webhook, changed.', {
        webhook_details: Type.Array(schemaRef('Webhook')),
      }), ...BODY, ...errors(404), ...WRITE },
    },
    delete: {
      operationId: 'deleteWebhook', summary: 'Remove a webhook', tags: ['webhooks'],
      description: 'Extension. Deliveries still pending for it are dropped.',
      parameters: [webhookId],
      responses: { ...ok(200, 'delete', 'Removed.', {},
        Type.String({ pattern: '^Webhook \\d+ deleted$' })), ...errors(404), ...WRITE },
    },
  },
  '/webhook/{id}/deliveries': {
    get: {
      operationId: 'listWebhookDeliveries', summary: 'The webhook\'s delivery log',
      description: 'Extension: newest first.', tags: ['webhooks'],
      parameters: [webhookId, { name: 'limit', in: 'query', required: false,
        description: 'How many, 1 to 500.', schema: Type.Integer({ minimum: 1, maximum: 500,
          default: 50 }) }],
      responses: { ...ok(200, 'get', 'The deliveries.', {
        total_deliveries: Type.Integer({ minimum: 0 }), ...deliveries,
      }), ...errors(400, 404), ...READ },
    },
  },
  '/webhook/{id}/deliveries/{deliveryId}/redeliver': {
    post: {
      operationId: 'redeliverWebhook', summary: 'Send a delivery again',
      description: 'Extension: queues a new delivery of the same body.', tags: ['webhooks'],
      parameters: [webhookId, pathId('deliveryId', 'The delivery\'s id.')],
      responses: { ...ok(202, 'post', 'The new delivery, queued.', deliveries),
        ...errors(404), ...WRITE },
    },
  },
  '/webhook/{id}/test': {
    post: {
      operationId: 'testWebhook', summary: 'Send a test event now',
      description: 'Extension. The body is a sample with `"test": true` in its data; the ' +
        'answer tells how the receiver answered.',
      tags: ['webhooks'], parameters: [webhookId],
      requestBody: jsonBody({ event: choiceIn(['video_recorded', 'video_converted',
        'video_copied_pipe_s3'], 'The event name it carries; video_recorded by default.') },
      { optional: true }),
      responses: { ...ok(200, 'post', 'The delivery.', deliveries), ...BODY, ...errors(404),
        ...WRITE },
    },
  },
  '/webhook/{id}/secret': {
    post: {
      operationId: 'rotateWebhookSecret', summary: 'Issue a new signing secret',
      description: 'Extension. With grace_seconds the old secret keeps signing alongside in ' +
        'webhook-signature that long.',
      tags: ['webhooks'], parameters: [webhookId],
      requestBody: jsonBody({ grace_seconds: wholeIn('Seconds the old secret keeps signing.',
        604_800) }, { optional: true }),
      responses: { ...ok(200, 'post', 'The new secret, shown this once.', {
        webhook_details: Type.Array(exact({ id: text('The webhook\'s id.'),
          webhook_secret: text('The new secret ("whsec_…").') })),
      }), ...BODY, ...errors(404), ...WRITE },
    },
  },
};

const folderIn = (what: string) => textIn(`${what}; ".." segments are refused.`, 500);
const portIn = (what: string) => wholeIn(`${what} port.`, 65_535, 1);
const hostIn = (what: string) => textIn(`${what} host name or address, without scheme.`, 253);

interface CredentialKind {
  path: string;
  key: string;
  schema: string;
  tag: string;
  fields: Record<string, TSchema>;
  /** The body of its test. */
  test: Operation['requestBody'];
}

const KINDS: CredentialKind[] = [
  {
    path: '/amazon', key: 'amazon_details', schema: 'AmazonCredentials', tag: 'Amazon S3',
    fields: {
      amz_key: textIn('Access key id (write-only).', 256),
      amz_secret: textIn('Secret access key (write-only).', 256),
      amz_bucket: textIn('Bucket name.', 63),
      amz_bucket_region: textIn('Region, e.g. us-east-1.', 40),
      amz_folder: folderIn('Folder in the bucket'),
      amz_acl: choiceIn(['private', 'public-read', 'bucket-owner-full-control'], 'Canned ACL.'),
    },
    test: jsonBody({}, { optional: true }),
  },
  {
    path: '/ftp', key: 'ftp_details', schema: 'FtpCredentials', tag: 'FTP and SFTP',
    fields: {
      ftp_host: hostIn('FTP'), ftp_port: portIn('FTP'),
      ftp_username: textIn('FTP user.', 256),
      ftp_password: textIn('FTP password (write-only).', 256), ftp_dir: folderIn('FTP folder'),
      sftp_host: hostIn('SFTP'), sftp_port: portIn('SFTP'),
      sftp_username: textIn('SFTP user.', 256),
      sftp_password: textIn('SFTP password (write-only).', 256),
      sftp_dir: folderIn('SFTP folder'),
    },
    test: jsonBody({ protocol: choiceIn(['ftp', 'sftp'], 'Which of the two to test.') },
      { required: ['protocol'] }),
  },
  {
    path: '/dropbox', key: 'dropbox_details', schema: 'DropboxCredentials', tag: 'Dropbox',
    fields: {
      dbox_token: textIn('Access token (write-only).', 2048),
      dbox_folder: folderIn('Folder in the Dropbox'),
    },
    test: jsonBody({}, { optional: true }),
  },
];

function credentialPaths(kind: CredentialKind): Paths {
  const name = kind.path.charAt(1).toUpperCase() + kind.path.slice(2);
  const id = pathId('id', 'The set\'s id.');
  const details = { [kind.key]: Type.Array(schemaRef(kind.schema)) };
  const test: Operation = {
    operationId: `test${name}`, summary: `Test a set of ${kind.tag} credentials`,
    description: 'Extension: connects, writes a small file in the folder, reads its size ' +
      'back and removes it. A failed test still answers 200, with the step that failed.',
    tags: ['storage'], parameters: [id],
    responses: { ...ok(200, 'post', 'The outcome.', { test_result: schemaRef('CredentialTest') }),
      ...BODY, ...errors(404), ...WRITE },
  };
  if (kind.test !== undefined) test.requestBody = kind.test;
  return {
    [kind.path]: {
      get: {
        operationId: `list${name}`, summary: `List ${kind.tag} credentials`, tags: ['storage'],
        responses: { ...ok(200, 'get', 'The sets; secrets are never shown.', details), ...READ },
      },
      post: {
        operationId: `create${name}`, summary: `Add ${kind.tag} credentials`, tags: ['storage'],
        description: 'Extension: a destination for an environment\'s recordings.',
        requestBody: jsonBody({ ...kind.fields, env_id: envIdIn }),
        responses: { ...ok(201, 'post', 'The new set.', details), ...BODY, ...WRITE },
      },
    },
    [`${kind.path}/{id}`]: {
      put: {
        operationId: `update${name}`, summary: `Change ${kind.tag} credentials`,
        description: 'Send at least one field; "" clears a secret.', tags: ['storage'],
        parameters: [id], requestBody: jsonBody(kind.fields, { atLeastOne: true }),
        responses: { ...ok(200, 'put', 'The set, changed.', details), ...BODY, ...errors(404),
          ...WRITE },
      },
    },
    [`${kind.path}/{id}/test`]: { post: test },
  };
}

/** Webhooks and the customers' storage destinations. */
export const settingsPaths: Paths = Object.assign({}, webhookPaths,
  ...KINDS.map(credentialPaths)) as Paths;

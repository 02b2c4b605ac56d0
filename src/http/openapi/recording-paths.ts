import Type from 'typebox';

import { flagIn, jsonBody, multipartBody, textIn, wholeIn } from './inputs.js';
import { errors, exact, ok, pathId, schemaRef, text } from './kit.js';
import type { Paths } from './kit.js';

const videoId = pathId('id', 'The recording\'s id.');
const envId = pathId('id', 'The environment\'s id (the server-wide one, not env_id).');

const videos = (count?: number) => ({
  total_videos: count === undefined
    ? Type.Integer({ minimum: 0, description: 'How many recordings follow.' })
    : Type.Literal(count),
  videos: Type.Array(schemaRef('Video')),
});

const READ = errors(401, 429);
const WRITE = errors(401, 403, 429);
const BODY = errors(400, 413, 415);

const ENVIRONMENT_FIELDS = {
  env_name: textIn('The environment\'s name, not empty.', 100),
  do_not_store: flagIn('Remove the media store\'s copies once every delivery succeeded.'),
  send_video_email: flagIn('Stored as set.'),
  collect_ip: flagIn('Keep the client\'s address with new recordings.'),
  collect_ua: flagIn('Keep the client\'s User-Agent.'),
  collect_referer: flagIn('Keep the uploading page.'),
  collect_device_names: flagIn('Keep camera and microphone names.'),
  filmstrip: flagIn('Make a filmstrip of each recording converted from now on.'),
  lifecycle_days: Type.Unsafe<string | number | null>({
    anyOf: [{ type: 'string', pattern: '^(\\d{1,5})?$' },
      { type: 'integer', minimum: 1, maximum: 36_500 }, { type: 'null' }],
    description: 'Days after which recordings are anonymized, 1 to 36500; "" or null keeps ' +
      'them.',
  }),
};

const listVideos = (operationId: string, summary: string) => ({
  get: {
    operationId, summary, tags: ['recordings'],
    description: 'Every recording of the account that is not deleted, oldest first.',
    responses: { ...ok(200, 'get', 'The recordings.', videos()), ...READ },
  },
});

/** The recordings, the account and its environments: Pipe's endpoints and extensions. */
export const recordingPaths: Paths = {
  '/video': {
    ...listVideos('listVideos', 'List recordings (same as /video/all)'),
    post: {
      operationId: 'uploadVideo', summary: 'Upload a recording with the API key',
      tags: ['recordings'],
      description: 'Extension. The recording is converted in the background.',
      requestBody: multipartBody('A file and where it goes.', 'file', {
        env_id: 'The env_id of the environment; 1 when left out.',
        payload: 'Free text kept with the recording, at most 500 characters.',
        camera_name: 'The camera\'s name.',
        microphone_name: 'The microphone\'s name.',
        mrt: 'The maximum recording time, whole seconds.',
      }, []),
      responses: { ...ok(201, 'post', 'The recording, as received.', videos(1)), ...BODY,
        ...WRITE },
    },
  },
  '/video/all': listVideos('listAllVideos', 'List recordings'),
  '/video/{id}': {
    get: {
      operationId: 'getVideo', summary: 'Get a recording', tags: ['recordings'],
      parameters: [videoId],
      responses: { ...ok(200, 'get', 'The recording.', videos(1)), ...errors(404), ...READ },
    },
    delete: {
      operationId: 'deleteVideo', summary: 'Delete a recording and its stored files',
      tags: ['recordings'], parameters: [videoId],
      responses: {
        ...ok(200, 'delete', 'Deleted.', {}, Type.String({ pattern: '^Recording \\d+ deleted$' })),
        ...errors(404), ...WRITE,
      },
    },
  },
  '/video/{id}/deliveries': {
    get: {
      operationId: 'listVideoDeliveries', summary: 'Where each copy of a recording stands',
      description: 'Extension: one entry per destination configured for its environment.',
      tags: ['recordings'], parameters: [videoId],
      responses: {
        ...ok(200, 'get', 'The deliveries.', {
          deliveries: Type.Array(schemaRef('RecordingDelivery')),
        }),
        ...errors(404), ...READ,
      },
    },
  },
  '/video/{id}/anonymize': {
    post: {
      operationId: 'anonymizeVideo', summary: 'Erase a recording\'s personal data',
      description: 'Extension: client address, User-Agent, referer, device names and payload ' +
        'are erased; the media stays.',
      tags: ['privacy'], parameters: [videoId],
      responses: { ...ok(200, 'post', 'The recording, anonymized.', videos(1)), ...errors(404),
        ...WRITE },
    },
  },
  '/account': {
    get: {
      operationId: 'getAccount', summary: 'The account and its API request count',
      tags: ['account'],
      responses: {
        ...ok(200, 'get', 'The account.', { account_details: Type.Array(exact({
          api_requests: Type.String({ pattern: '^\\d+$',
            description: 'Requests made with the API key, this one included.' }),
          name: text('The account\'s name.'),
          email: text('The account\'s email address.'),
        })) }),
        ...READ,
      },
    },
  },
  '/account/webhook-key': {
    post: {
      operationId: 'rotateWebhookKey', summary: 'Issue a new webhook key',
      description: 'Extension. The key signs X-Pipe-Signature; with grace_seconds the old key ' +
        'keeps signing in X-Pipe-Signature-Previous that long.',
      tags: ['account'],
      requestBody: jsonBody({ grace_seconds: wholeIn('Seconds the old key keeps signing.',
        604_800) }, { optional: true }),
      responses: {
        ...ok(200, 'post', 'The new key, shown this once.', { account_details: Type.Array(exact({
          webhook_key: text('The new webhook key.'),
        })) }),
        ...BODY, ...WRITE,
      },
    },
  },
  '/account/api-key': {
    post: {
      operationId: 'rotateApiKey', summary: 'Issue a new API key',
      description: 'Extension. The key used for this request stops working at once.',
      tags: ['account'],
      responses: {
        ...ok(200, 'post', 'The new key, shown this once.', { account_details: Type.Array(exact({
          api_key: text('The new API key.'),
        })) }),
        ...WRITE,
      },
    },
  },
  '/environment': {
    get: {
      operationId: 'listEnvironments', summary: 'List environments', tags: ['environments'],
      responses: { ...ok(200, 'get', 'The environments.', {
        environment_details: Type.Array(schemaRef('Environment')),
      }), ...READ },
    },
    post: {
      operationId: 'createEnvironment', summary: 'Create an environment',
      description: 'Extension. The server chooses its id, env_id and env_code.',
      tags: ['environments'],
      requestBody: jsonBody(ENVIRONMENT_FIELDS, { required: ['env_name'] }),
      responses: { ...ok(201, 'post', 'The new environment.', {
        environment_details: Type.Array(schemaRef('Environment')),
      }), ...BODY, ...WRITE },
    },
  },
  '/environment/{id}': {
    get: {
      operationId: 'getEnvironment', summary: 'Get an environment', tags: ['environments'],
      parameters: [envId],
      responses: { ...ok(200, 'get', 'The environment.', {
        environment_details: Type.Array(schemaRef('Environment')),
      }), ...errors(404), ...READ },
    },
    put: {
      operationId: 'updateEnvironment', summary: 'Change an environment',
      description: 'Extension. Send at least one field.', tags: ['environments'],
      parameters: [envId],
      requestBody: jsonBody(ENVIRONMENT_FIELDS, { atLeastOne: true }),
      responses: { ...ok(200, 'put', 'The environment, changed.', {
        environment_details: Type.Array(schemaRef('Environment')),
      }), ...BODY, ...errors(404), ...WRITE },
    },
  },
  '/environment/{id}/anonymize': {
    post: {
      operationId: 'anonymizeEnvironment', summary: 'Erase personal data of older recordings',
      description: 'Extension: as POST /video/{id}/anonymize for each recording of the ' +
        'environment made before `before`.',
      tags: ['privacy'], parameters: [envId],
      requestBody: jsonBody({ before: Type.String({ description: 'A date: "YYYY-MM-DD ' +
        'HH:MM:SS" (UTC) or ISO 8601; one without a zone is UTC.' }) }, { required: ['before'] }),
      responses: {
        ...ok(200, 'post', 'How many recordings were anonymized.', {
          total_videos: Type.Integer({ minimum: 0 }),
        }, Type.String({ pattern: '^\\d+ recordings anonymized$' })),
        ...BODY, ...errors(404), ...WRITE,
      },
    },
  },
};

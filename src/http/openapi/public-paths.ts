import Type from 'typebox';

import { multipartBody } from './inputs.js';
import { PUBLIC, errors, exact, json, ok, pathId, schemaRef } from './kit.js';
import type { Header, Operation, Parameter, Paths, Response } from './kit.js';

const header = (description: string, required = true): Header =>
  ({ description, required, schema: Type.String() });

const inHeader = (name: string, description: string, required = true): Parameter =>
  ({ name, in: 'header', required, description, schema: Type.String() });

const TUS_RESUMABLE = {
  name: 'Tus-Resumable', in: 'header' as const, required: true,
  description: 'The tus version; anything else answers 412.', schema: Type.Literal('1.0.0'),
};

const tusHeaders = (extra: Record<string, Header> = {}) => ({
  'Tus-Resumable': header('"1.0.0".'),
  'Access-Control-Allow-Origin': header('"*": recorders run on customers\' pages.'),
  ...extra,
});

/** Every tus answer carries Tus-Resumable; a HEAD answer has no body. */
const tusError = (description: string, head = false): Response => ({
  description,
  headers: tusHeaders(),
  ...(head ? {} : { content: json(schemaRef('Error')) }),
});

const TUS_ERRORS = {
  400: 'A bad header (the message names it) or metadata.',
  404: 'No such upload, or no environment with this accountHash and eid.',
  409: 'Upload-Offset is not where the upload stands.',
  410: 'The upload expired, or its bytes are not on this server; start a new one.',
  412: 'No Tus-Resumable: 1.0.0.',
  413: 'Upload-Length is over the limit.',
  415: 'A PATCH body that is not application/offset+octet-stream.',
  429: 'Too many uploads from this address, or too many unfinished ones for the account.',
} as const;

const tusErrors = (codes: (keyof typeof TUS_ERRORS)[], head = false) =>
  Object.fromEntries(codes.map((c) => [String(c), tusError(TUS_ERRORS[c], head)]));

const uploadState = {
  'Upload-Offset': header('Bytes received so far.'),
  'Upload-Expires': header('When an untouched upload is removed (HTTP date).'),
  'Standpipe-Video-Id': header('The recording\'s id, once the last byte arrived.', false),
  'Standpipe-Video-Name': header('The recording\'s name, once the last byte arrived.', false),
};

const uploadId = pathId('id', 'The upload\'s id, from Location.');

const options = (operationId: string): Operation => ({
  operationId, summary: 'What this tus server supports', tags: ['uploads'], security: PUBLIC,
  responses: { 204: { description: 'Its capabilities.', headers: tusHeaders({
    'Tus-Version': header('"1.0.0".'),
    'Tus-Extension': header('"creation,termination,expiration".'),
    'Tus-Max-Size': header('The largest Upload-Length taken.'),
    'Access-Control-Allow-Methods': header('The methods, for browsers.'),
  }) } },
});

const patch: Operation = {
  operationId: 'appendUpload', summary: 'Append bytes', tags: ['uploads'], security: PUBLIC,
  description: 'The bytes of a request cut short are kept. The last PATCH makes the ' +
    'recording exactly as POST /upload does.',
  parameters: [uploadId, TUS_RESUMABLE, inHeader('Upload-Offset', 'Where these bytes go: ' +
    'the offset HEAD gave.')],
  requestBody: { required: true, content: { 'application/offset+octet-stream': {
    schema: Type.String({ contentMediaType: 'application/octet-stream' }) } } },
  responses: { 204: { description: 'Appended.', headers: tusHeaders(uploadState) },
    ...tusErrors([400, 404, 409, 410, 412, 415]) },
};

const terminate: Operation = {
  operationId: 'deleteUpload', summary: 'Remove an unfinished upload', tags: ['uploads'],
  security: PUBLIC, parameters: [uploadId, TUS_RESUMABLE],
  responses: { 204: { description: 'Removed.', headers: tusHeaders() },
    ...tusErrors([404, 412]) },
};

const tusPaths: Paths = {
  '/tus': {
    options: options('tusOptions'),
    post: {
      operationId: 'createUpload', summary: 'Start a resumable upload', tags: ['uploads'],
      security: PUBLIC,
      description: 'Both codes and the size are checked before any byte is accepted.',
      parameters: [TUS_RESUMABLE, inHeader('Upload-Length', 'The file\'s size in bytes.'),
        inHeader('Upload-Metadata', 'Comma-separated "key base64(value)" pairs: accountHash, ' +
          'eid, and optionally payload, filename, cameraName, micName and mrt.')],
      responses: {
        201: { description: 'Created.', headers: tusHeaders({
          Location: header('The upload\'s URL, /tus/{id}.'),
          'Upload-Expires': header('When it is removed if untouched (HTTP date).'),
        }) },
        ...tusErrors([400, 404, 412, 413, 429]),
      },
    },
  },
  '/tus/{id}': {
    options: options('tusUploadOptions'),
    head: {
      operationId: 'uploadState', summary: 'Where an upload stands', tags: ['uploads'],
      security: PUBLIC, parameters: [uploadId, TUS_RESUMABLE],
      responses: {
        200: { description: 'Its state; no body.', headers: tusHeaders({
          ...uploadState,
          'Upload-Length': header('Its size.'),
          'Upload-Metadata': header('The metadata it was created with.'),
        }) },
        ...tusErrors([404, 410, 412], true),
      },
    },
    patch,
    delete: terminate,
    post: {
      ...patch, operationId: 'overrideUpload', summary: 'PATCH or DELETE for networks that ' +
        'let only GET and POST through',
      description: 'With X-HTTP-Method-Override: PATCH it appends as PATCH does, with DELETE ' +
        'it removes the upload; anything else answers 405.',
      parameters: [...(patch.parameters ?? []).map((p) => ('name' in p && p.name ===
        'Upload-Offset' ? { ...p, required: false } : p)),
      { name: 'X-HTTP-Method-Override', in: 'header', required: true,
        schema: Type.Unsafe<string>({ type: 'string', enum: ['PATCH', 'DELETE'] }) }],
      requestBody: { ...patch.requestBody, required: false } as Operation['requestBody'],
      responses: { ...patch.responses, ...errors(405) },
    },
  },
};

/** The types stored files are served as, by their extension. */
const MEDIA_TYPES = Object.fromEntries(['video/mp4', 'image/jpeg', 'video/webm', 'video/quicktime',
  'audio/mp4', 'audio/ogg', 'audio/wav', 'audio/mpeg', 'video/x-matroska',
  'application/octet-stream'].map((type) => [type, {
  schema: Type.String({ contentMediaType: type }) }]));

const staticAsset = (operationId: string, summary: string, type: string): Operation => ({
  operationId, summary, tags: ['recorder'], security: PUBLIC,
  parameters: [inHeader('If-None-Match', 'An ETag from an earlier answer.', false)],
  responses: {
    200: { description: 'The file.', headers: { ETag: header('Its version.') },
      content: { [type]: { schema: Type.String() } } },
    304: { description: 'The client has this version already.' },
  },
});

/** What needs no API key: uploads, the recorder, stored media and the process's health. */
export const publicPaths: Paths = {
  '/upload': {
    post: {
      operationId: 'recorderUpload', summary: 'Upload a recording as the recorder does',
      tags: ['uploads'], security: PUBLIC,
      description: 'When accountHash and eid come before the file they are checked before ' +
        'any byte is stored. A wrong pair answers 404 whichever of the two is wrong.',
      requestBody: multipartBody('The account hash, the environment code and the file.',
        'FileInput', {
          accountHash: 'The account hash (32 hex characters).',
          eid: 'The environment\'s env_code.',
          payload: 'Free text kept with the recording, at most 500 characters.',
          capabilities: 'Accepted and ignored.',
          cameraName: 'The camera\'s name.', micName: 'The microphone\'s name.',
          camera_name: 'The camera\'s name.', microphone_name: 'The microphone\'s name.',
          mrt: 'The maximum recording time, whole seconds.',
          recorderId: 'Accepted and ignored.', streamName: 'Accepted and ignored.',
          source: 'Accepted and ignored.',
        }, ['accountHash', 'eid']),
      responses: {
        ...ok(201, 'post', 'The recording, as received.', {
          total_videos: Type.Literal(1), videos: Type.Array(schemaRef('Video')),
        }),
        ...errors(400, 404, 413, 415, 429),
      },
    },
  },
  ...tusPaths,
  '/2.0/pipe.js': { get: staticAsset('recorderScript', 'The recorder\'s script (embed 2.0)',
    'application/javascript') },
  '/2.0/pipe.css': { get: staticAsset('recorderStyle', 'The recorder\'s style sheet',
    'text/css') },
  '/media/{hash}/{file}': {
    get: {
      operationId: 'getMedia', summary: 'A stored file', tags: ['media'], security: PUBLIC,
      description: 'The links pipeS3Link, snapshotURL and the webhooks give out: NAME.mp4, ' +
        'NAME.jpg, NAME_filmstrip.jpg and NAME_raw.EXT. One byte range at a time.',
      parameters: [pathId('hash', 'The account hash.'), pathId('file', 'The file\'s name.'),
        inHeader('Range', 'bytes=a-b, a- or -n.', false)],
      responses: {
        200: { description: 'The whole file.', headers: { 'Content-Length': header('Bytes.') },
          content: MEDIA_TYPES },
        206: { description: 'The range asked for.', headers: {
          'Content-Range': header('bytes a-b/size.') }, content: MEDIA_TYPES },
        ...errors(404),
        416: { description: 'The range is outside the file.', headers: {
          'Content-Range': header('bytes */size.') } },
      },
    },
  },
  '/healthz': { get: {
    operationId: 'health', summary: 'Whether the process answers', tags: ['system'],
    security: PUBLIC,
    responses: { 200: { description: 'It does.', content: json(exact({
      status: Type.Literal('ok') })) } },
  } },
  '/readyz': { get: {
    operationId: 'ready', summary: 'Whether the database and the media store answer',
    tags: ['system'], security: PUBLIC,
    responses: {
      200: { description: 'Ready.', content: json(schemaRef('Readiness')) },
      503: { description: 'Not ready.', content: json(schemaRef('Readiness')) },
    },
  } },
  '/metrics': { get: {
    operationId: 'metrics', summary: 'Prometheus metrics', tags: ['system'],
    description: 'When the operator sets STANDPIPE_METRICS_TOKEN, it must come as a bearer ' +
      'token.',
    security: [{}, { metricsToken: [] }],
    responses: {
      200: { description: 'The metrics.', content: {
        'text/plain; version=0.0.4': { schema: Type.String() } } },
      401: { description: 'The metrics token is missing or wrong.', headers: {
        'WWW-Authenticate': header('"Bearer".') },
      content: json(schemaRef('Error')) },
    },
  } },
  '/openapi.json': { get: {
    operationId: 'openapi', summary: 'This document', tags: ['system'], security: PUBLIC,
    parameters: [inHeader('If-None-Match', 'An ETag from an earlier answer.', false)],
    responses: {
      200: { description: 'OpenAPI 3.1.', headers: { ETag: header('Its version.') },
        content: json(Type.Object({ openapi: Type.String() })) },
      304: { description: 'The client has this version already.' },
    },
  } },
};

import Type from 'typebox';
import type { TProperties } from 'typebox';

import { dateTime, exact, text } from './kit.js';
import type { Operation, Parameter } from './kit.js';

const count = (description: string) => Type.Integer({ minimum: 0, description });
const url = (description: string) => Type.String({ format: 'uri', description });
const status = (value: string) => Type.Literal(value);

const SHARED = {
  id: count('The recording\'s id, a number here (a string in the REST API).'),
  dateTime: dateTime('When it was recorded, in the server\'s time zone.'),
  timeZone: text('The IANA name of that time zone.'),
  payload: text('The recorder\'s payload, "" when none.'),
};

const CONVERTED = {
  videoName: text('The stream name.'),
  duration: count('Whole seconds.'),
  audioCodec: Type.Unsafe<string>({ type: 'string', enum: ['AAC', ''],
    description: '"" when it has no sound.' }),
  videoCodec: Type.Unsafe<string>({ type: 'string', enum: ['H.264', ''],
    description: '"" when it has no picture.' }),
  type: status('mp4'),
  size: count('Bytes of the MP4.'),
  width: Type.String({ pattern: '^\\d+$', description: 'Pixels, as a string.' }),
  height: Type.String({ pattern: '^\\d+$', description: 'Pixels, as a string.' }),
  orientation: Type.Unsafe<string>({ type: 'string', enum: ['landscape', 'portrait'] }),
  ...SHARED,
};

const RECORDED = {
  videoName: text('The stream name.'),
  audioCodec: text('The original\'s audio codec, "" when none.'),
  videoCodec: text('The original\'s video codec, "" when none.'),
  type: text('The original\'s container, e.g. "webm".'),
  ...SHARED,
  httpReferer: text('The page that uploaded it, "" when not kept.'),
  cam_name: text('The camera\'s name, "" when not kept.'),
  mic_name: text('The microphone\'s name, "" when not kept.'),
  ip: text('The client\'s IPv4 address, dotted; "" when not kept.'),
  ua: text('The client\'s User-Agent, "" when not kept.'),
};

const PIPE_S3 = {
  storedStatus: status('stored successful'),
  videoName: text('The stream name.'),
  size: count('Bytes of the MP4.'),
  checksum_md5: text('MD5 of the MP4, hex.'),
  checksum_sha1: text('SHA-1 of the MP4, hex.'),
  id: SHARED.id,
  url: url('The MP4.'),
  rawRecordingUrl: url('The original, NAME_raw.EXT.'),
  snapshotUrl: url('The snapshot, NAME.jpg.'),
  filmstripUrl: url('The filmstrip, NAME_filmstrip.jpg.'),
  cdn: exact({
    cdnRecordingUrl: url('The MP4.'),
    cdnRawRecordingUrl: url('The original.'),
    cdnSnapshotUrl: url('The snapshot.'),
    cdnFilmstripUrl: url('The filmstrip.'),
  }),
  bucket: text('"standpipe".'),
  region: text('The media store\'s region.'),
  payload: SHARED.payload,
};

const COPIED_S3 = {
  s3UploadStatus: status('upload success'),
  videoName: text('The stream name.'),
  type: status('mp4'),
  size: count('Bytes of the MP4.'),
  id: SHARED.id,
  url: text('The MP4 in the bucket.'),
  snapshotUrl: text('The snapshot in the bucket.'),
  bucket: text('The bucket.'),
  region: text('Its region.'),
  acl: text('The canned ACL the objects were written with.'),
  payload: SHARED.payload,
};

const COPIED_FTP = {
  ftpUploadStatus: status('upload success'),
  ...CONVERTED,
  httpReferer: text('The page that uploaded it, "" when not kept.'),
};

const COPIED_DBOX = {
  dboxUploadStatus: status('upload success'),
  videoName: text('The stream name.'),
  type: status('mp4'),
  size: count('Bytes of the MP4.'),
  checksum_md5: text('MD5 of the MP4, hex.'),
  checksum_sha1: text('SHA-1 of the MP4, hex.'),
  id: SHARED.id,
  payload: SHARED.payload,
};

const EVENTS: [name: string, summary: string, data: TProperties][] = [
  ['video_recorded', 'A recording arrived and its original is kept.', RECORDED],
  ['video_converted', 'The MP4 and the snapshot are made.', CONVERTED],
  ['video_transcoded', 'Legacy: the MP4 is made, with its URL.',
    { ...CONVERTED, url: url('The MP4.') }],
  ['video_copied_pipe_s3', 'The files are in the media store.', PIPE_S3],
  ['video_copied_s3', 'The files were copied to the customer\'s S3 bucket.', COPIED_S3],
  ['video_copied_ftp', 'The files were copied by FTP or SFTP.', COPIED_FTP],
  ['video_copied_dbox', 'The files were copied to Dropbox.', COPIED_DBOX],
];

const BASE64 = '[A-Za-z0-9+/]+={0,2}';

const signed = (name: string, description: string, pattern: string, required = true):
Parameter => ({ name, in: 'header', required, description, schema: Type.String({ pattern }) });

const SIGNATURE_HEADERS: Parameter[] = [
  signed('X-Pipe-Signature', 'Pipe\'s signature: base64 of HMAC-SHA1 keyed with the ' +
    'account\'s webhook key, over the webhook URL exactly as entered followed by the JSON ' +
    'text (the body, or the form\'s payload field).', `^${BASE64}$`),
  signed('X-Pipe-Signature-Previous', 'The same with the previous webhook key, while a ' +
    'rotation\'s grace period lasts.', `^${BASE64}$`, false),
  signed('webhook-id', 'Standard Webhooks: the message id ("msg_…"); the same on every ' +
    'attempt of one delivery.', '^msg_[A-Za-z0-9_-]+$'),
  signed('webhook-timestamp', 'Standard Webhooks: seconds since 1970 when it was signed.',
    '^\\d+$'),
  signed('webhook-signature', 'Standard Webhooks: "v1,<base64 HMAC-SHA256>" with the ' +
    'webhook\'s secret over "id.timestamp.body" (the body as sent); two, space-separated, ' +
    'while a rotated secret\'s grace period lasts.', `^v1,${BASE64}( v1,${BASE64})*$`),
];

function event([name, summary, data]: (typeof EVENTS)[number]): { post: Operation } {
  const body = exact({ version: Type.Literal('1.0'), event: Type.Literal(name),
    data: exact(data) });
  return { post: {
    operationId: name, summary, tags: ['webhooks'], parameters: SIGNATURE_HEADERS,
    requestBody: { required: true, content: {
      'application/json': { schema: body },
      'application/x-www-form-urlencoded': { schema: exact({
        payload: Type.String({ contentMediaType: 'application/json',
          description: 'The same JSON text as a JSON webhook\'s body.' }),
      }) },
    } },
    responses: {
      '2XX': { description: 'Delivered.' },
      410: { description: 'The receiver is gone: the webhook is deactivated, nothing is ' +
        'sent again.' },
      default: { description: 'Failed (as are redirects and time-outs): sent again later, ' +
        'after Retry-After when the receiver gives one.' },
    },
  } };
}

/** What the server POSTs to webhook receivers, one entry per event. */
export const webhookEvents = Object.fromEntries(EVENTS.map((e) => [e[0], event(e)]));

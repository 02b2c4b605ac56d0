import Type from 'typebox';
import type { Static, TSchema } from 'typebox';

import type { PipeVideo } from '../../services/recording-view.js';
import type { toPipeEnvironment, toPipeWebhook } from '../../services/views.js';
import type { toDeliveryView } from '../../services/webhooks.js';
import {
  dateTime, digits, exact, flag, nullableDateTime, nullableDigits, nullableText, oneOf, text,
} from './kit.js';

/** Text fields as text: the document may list the values a field takes where the type does not. */
type Widen<T> = {
  [K in keyof T]: T[K] extends string ? string : T[K] extends string | null ? string | null : T[K];
};

/** True when a schema and the server's own view of the object have the same fields and types. */
type Same<A, B> = [Widen<A>] extends [Widen<B>]
  ? ([Widen<B>] extends [Widen<A>] ? true : false) : false;

export const Video = exact({
  id: digits('The recording\'s id.'),
  env_id: digits('The env_id of its environment.'),
  length: Type.Unsafe<string | null>({ type: ['string', 'null'], pattern: '^\\d+\\.\\d{2}$',
    description: 'Duration in seconds with two decimals; null until known.' }),
  size: nullableDigits('Bytes of the MP4; null until converted.'),
  width: nullableDigits('Width of the MP4 in pixels.'),
  height: nullableDigits('Height of the MP4 in pixels.'),
  hasAudio: flag('Whether it has sound.'),
  ytubed: flag('Always "0".'),
  rotation: Type.String({ pattern: '^-?\\d+$', description: 'Rotation of the original, in ' +
    'degrees.' }),
  not_stored: flag('Whether the media store\'s copies were removed after delivery ' +
    '(do_not_store).'),
  retry_interval: Type.String({ pattern: '^-?\\d+$', description: 'Seconds until a failed ' +
    'copy to the customer\'s storage is tried again; "-1" when none is due.' }),
  has_original: flag('Whether the original upload is kept.'),
  has_mp4: flag('Whether the MP4 exists.'),
  has_snapshot: flag('Whether the JPG snapshot exists.'),
  has_filmstrip: flag('Whether a filmstrip exists.'),
  anonymized: flag('Whether its personal data was erased.'),
  datetime: dateTime('When it was recorded, UTC.'),
  last_retry_time: nullableDateTime('When a copy to the customer\'s storage was last ' +
    'retried, UTC.'),
  orig_width: nullableDigits('Width of the original.'),
  orig_height: nullableDigits('Height of the original.'),
  mrt: nullableDigits('The recorder\'s maximum recording time, seconds.'),
  audio_only: flag('Whether it has no picture.'),
  recovered: flag('Always "0".'),
  transcoded: flag('Whether the MP4 was encoded rather than copied from the original.'),
  date_anonymized: nullableDateTime('When its personal data was erased, UTC.'),
  name: text('The stream name: the stem of its file names.'),
  original_container: nullableText('Container of the original, e.g. "webm".'),
  source: text('Where it came from, e.g. "DESK" for the recorder or "API".'),
  payload: text('The recorder\'s payload ("" when none, or once erased).'),
  region: text('The media store\'s region.'),
  ipv4: Type.Unsafe<string | null>({ type: ['string', 'null'], pattern: '^\\d*$',
    description: 'The client\'s IPv4 address as an unsigned 32-bit number; "" once erased.' }),
  ua: nullableText('The client\'s User-Agent; "" once erased.'),
  http_referer: nullableText('The page that uploaded it; "" once erased.'),
  camera_name: nullableText('The camera, as the recorder named it; "" once erased.'),
  microphone_name: nullableText('The microphone, as the recorder named it; "" once erased.'),
  checksum_md5: nullableText('MD5 of the MP4, hex.'),
  checksum_sha1: nullableText('SHA-1 of the MP4, hex.'),
  converted: flag('Whether conversion finished.'),
  datetimeAdjusted: dateTime('When it was recorded, in the server\'s time zone.'),
  timezone: text('The IANA name of that time zone.'),
  pipeS3Link: nullableText('Host and path of the MP4, without scheme; null when not stored.'),
  snapshotURL: nullableText('Host and path of the snapshot, without scheme; null when not ' +
    'stored.'),
  ftped: flag('Whether the FTP copy succeeded.'),
  s3ed: flag('Whether the S3 copy succeeded.'),
  sftped: flag('Whether the SFTP copy succeeded.'),
  dboxed: flag('Whether the Dropbox copy succeeded.'),
  conversion_status: oneOf(['recorded', 'converted', 'failed'] as const, 'Extension: where ' +
    'conversion stands.'),
  failure_reason: nullableText('Extension: why conversion failed.'),
  original_sha256: Type.Unsafe<string | null>({ type: ['string', 'null'],
    pattern: '^[0-9a-f]{64}$', description: 'Extension: SHA-256 of the original as uploaded, ' +
    'hex; null for recordings kept before it was taken.' }),
}, 'A recording, every number a string as in Pipe\'s API.');

export const Environment = exact({
  id: digits('Unique across the server; what GET /environment/{id} takes.'),
  env_id: digits('Counts the account\'s environments from 1; what uploads, webhooks and ' +
    'credentials refer to.'),
  env_code: text('The code the recorder\'s embed sends as eid.'),
  env_name: text('Its name.'),
  do_not_store: flag('Remove the media store\'s copies once every delivery succeeded.'),
  send_video_email: flag('Stored as set.'),
  region: text('The media store\'s region.'),
  collect_ip: flag('Keep the client\'s address with new recordings.'),
  collect_ua: flag('Keep the client\'s User-Agent.'),
  collect_referer: flag('Keep the uploading page.'),
  collect_device_names: flag('Keep camera and microphone names.'),
  lifecycle_days: nullableDigits('Recordings are anonymized this many days after they were ' +
    'made; null keeps them.'),
  filmstrip: flag('Conversion also makes a filmstrip of each new recording, ' +
    'NAME_filmstrip.jpg: ten frames spread over the clip, side by side, 90 pixels high.'),
});

const webhookFields = {
  id: digits('The webhook\'s id.'),
  webhook: text('The receiver\'s URL, exactly as entered (it is part of the signed text).'),
  webhook_recorded: flag('Send video_recorded.'),
  webhook_transcoded: flag('Send video_transcoded.'),
  webhook_converted: flag('Send video_converted.'),
  webhook_copied_pipe_s3: flag('Send video_copied_pipe_s3.'),
  webhook_copied_s3: flag('Send video_copied_s3.'),
  webhook_copied_ftp: flag('Send video_copied_ftp.'),
  webhook_copied_dbox: flag('Send video_copied_dbox.'),
  env_id: digits('The env_id of the environment whose recordings it reports.'),
  active: flag('Whether it is sent at all; a receiver answering 410 turns it off.'),
  format: oneOf(['json', 'form'] as const, 'JSON body, or a form with the JSON in "payload".'),
};

export const Webhook = exact(webhookFields);

export const NewWebhook = exact({
  ...webhookFields,
  webhook_secret: text('The Standard Webhooks signing secret ("whsec_…"), shown this once.'),
});

export const WebhookDelivery = exact({
  id: digits('The delivery\'s id.'),
  webhook_id: digits('The webhook it went to.'),
  event: text('The event name.'),
  recording_id: nullableDigits('The recording it reports; null for a test event.'),
  message_id: text('The webhook-id header it carries ("msg_…").'),
  status: oneOf(['pending', 'delivered', 'failed', 'cancelled'] as const, 'Where it stands.'),
  attempts: digits('Attempts so far.'),
  http_status: nullableDigits('The receiver\'s last HTTP status.'),
  duration_ms: nullableDigits('How long the last attempt took.'),
  error: nullableText('Why the last attempt failed.'),
  next_attempt: nullableDateTime('When it is tried again, while pending.'),
  created: nullableDateTime('When it was queued, in the server\'s time zone.'),
  delivered: nullableDateTime('When the receiver accepted it.'),
});

export const RecordingDelivery = exact({
  id: digits('The delivery\'s id.'),
  target: oneOf(['s3', 'ftp', 'sftp', 'dbox'] as const, 'The kind of destination.'),
  credentials_id: digits('The set of credentials used.'),
  status: oneOf(['pending', 'delivered', 'failed', 'cancelled'] as const, 'Where it stands.'),
  attempts: digits('Attempts so far.'),
  last_error: nullableText('Why the last attempt failed.'),
  last_attempt_time: nullableDateTime('When it was last tried, UTC.'),
  next_attempt_time: nullableDateTime('When it is tried again, UTC.'),
  delivered_time: nullableDateTime('When it succeeded, UTC.'),
  files: Type.Array(exact({
    name: text('The file\'s name at the destination.'),
    size: digits('Its size in bytes.'),
    url: nullableText('Its URL, where the destination gives one.'),
  }), { description: 'The files written.' }),
});

export const CredentialTest = exact({
  target: oneOf(['s3', 'ftp', 'sftp', 'dbox'] as const, 'What was tested.'),
  success: flag('Whether every step worked.'),
  step: oneOf(['settings', 'connect', 'write', 'verify', 'remove', 'done'] as const,
    'The step that failed, or "done".'),
  message: text('What happened, and what to change.'),
  retryable: flag('Whether trying again later may help.'),
});

const credentialBase = { id: digits('The set\'s id.') };
const envRef = { env_id: digits('The env_id of its environment.') };

export const AmazonCredentials = exact({
  ...credentialBase,
  amz_bucket: text('Bucket.'),
  amz_bucket_region: text('Region of the bucket.'),
  amz_acl: text('Canned ACL of the objects written.'),
  amz_folder: text('Folder in the bucket.'),
  ...envRef,
}, 'S3 destination; amz_key and amz_secret are write-only.');

export const FtpCredentials = exact({
  ...credentialBase,
  ftp_host: text('FTP host.'),
  ftp_port: text('FTP port ("" when unset).'),
  ftp_username: text('FTP user.'),
  ftp_dir: text('FTP folder.'),
  sftp_host: text('SFTP host.'),
  sftp_port: text('SFTP port ("" when unset).'),
  sftp_username: text('SFTP user.'),
  sftp_dir: text('SFTP folder.'),
  ...envRef,
}, 'FTP and SFTP destination; ftp_password and sftp_password are write-only.');

export const DropboxCredentials = exact({
  ...credentialBase,
  dbox_folder: text('Folder in the Dropbox.'),
  ...envRef,
}, 'Dropbox destination; dbox_token is write-only.');

export const SCHEMAS: Record<string, TSchema> = {
  Video, Environment, Webhook, NewWebhook, WebhookDelivery, RecordingDelivery, CredentialTest,
  AmazonCredentials, FtpCredentials, DropboxCredentials,
};

// Compile-time guards: a field added to what the server sends, and not here, fails the build.
const _video: Same<Static<typeof Video>, PipeVideo> = true;
const _environment: Same<Static<typeof Environment>, ReturnType<typeof toPipeEnvironment>> =
  true;
const _webhook: Same<Static<typeof Webhook>, ReturnType<typeof toPipeWebhook>> = true;
const _delivery: Same<Static<typeof WebhookDelivery>, ReturnType<typeof toDeliveryView>> = true;

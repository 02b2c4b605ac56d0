import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Times are stored as milliseconds since the epoch; flags as 0 or 1, in both dialects. */
export interface AccountsTable {
  id: Generated<number>;
  name: string;
  email: string;
  api_key_hash: string;
  account_hash: string;
  webhook_key_enc: string;
  previous_webhook_key_enc: string | null;
  previous_webhook_key_until: number | null;
  password_hash: string | null;
  api_requests: Generated<number>;
  created_at: number;
}

export interface EnvironmentsTable {
  id: Generated<number>;
  account_id: number;
  env_id: number;
  env_code: string;
  env_name: string;
  do_not_store: number;
  send_video_email: number;
  region: string;
  created_at: number;
  /** What the recorder's requests may leave behind; all kept unless switched off. */
  collect_ip: Generated<number>;
  collect_ua: Generated<number>;
  collect_referer: Generated<number>;
  collect_device_names: Generated<number>;
  /** Recordings are deleted this many days after they were made; null keeps them. */
  lifecycle_days: number | null;
  /** Conversion also makes a filmstrip (NAME_filmstrip.jpg) of each recording. */
  filmstrip: Generated<number>;
}

export interface WebhooksTable {
  id: Generated<number>;
  account_id: number;
  env_id: number;
  webhook: string;
  webhook_recorded: number;
  webhook_transcoded: number;
  webhook_converted: number;
  webhook_copied_pipe_s3: number;
  webhook_copied_s3: number;
  webhook_copied_ftp: number;
  webhook_copied_dbox: number;
  active: number;
  format: string;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_until: number | null;
  created_at: number;
}

export interface AmazonCredentialsTable {
  id: Generated<number>;
  account_id: number;
  env_id: number;
  amz_key_enc: string | null;
  amz_secret_enc: string | null;
  amz_bucket: Generated<string>;
  amz_bucket_region: Generated<string>;
  amz_acl: Generated<string>;
  amz_folder: Generated<string>;
  created_at: number;
}

export interface FtpCredentialsTable {
  id: Generated<number>;
  account_id: number;
  env_id: number;
  ftp_host: Generated<string>;
  ftp_port: Generated<number>;
  ftp_username: Generated<string>;
  ftp_password_enc: string | null;
  ftp_dir: Generated<string>;
  sftp_host: Generated<string>;
  sftp_port: Generated<number>;
  sftp_username: Generated<string>;
  sftp_password_enc: string | null;
  sftp_dir: Generated<string>;
  created_at: number;
}

export interface DropboxCredentialsTable {
  id: Generated<number>;
  account_id: number;
  env_id: number;
  dbox_token_enc: string | null;
  dbox_folder: Generated<string>;
  created_at: number;
}

export type RecordingStatus = 'recorded' | 'converted' | 'failed';

export interface RecordingsTable {
  id: Generated<number>;
  account_id: number;
  env_id: number;
  name: string;
  status: RecordingStatus;
  failure_reason: string | null;
  original_ext: string;
  original_container: string | null;
  length: number | null;
  created_at: number;
  ipv4: string | null;
  ua: string | null;
  http_referer: string | null;
  camera_name: string | null;
  microphone_name: string | null;
  payload: string;
  mrt: number | null;
  source: string;
  orig_width: number | null;
  orig_height: number | null;
  width: number | null;
  height: number | null;
  size: number | null;
  original_size: number;
  /** SHA-256 of the original as uploaded, taken while it arrived; null before it was kept. */
  original_sha256: string | null;
  has_audio: Generated<number>;
  audio_only: Generated<number>;
  rotation: Generated<number>;
  converted: Generated<number>;
  transcoded: Generated<number>;
  has_original: Generated<number>;
  has_mp4: Generated<number>;
  has_snapshot: Generated<number>;
  has_filmstrip: Generated<number>;
  ftped: Generated<number>;
  s3ed: Generated<number>;
  sftped: Generated<number>;
  dboxed: Generated<number>;
  not_stored: Generated<number>;
  retry_interval: Generated<number>;
  last_retry_time: number | null;
  anonymized: Generated<number>;
  date_anonymized: number | null;
  recovered: Generated<number>;
  checksum_md5: string | null;
  checksum_sha1: string | null;
  region: string;
  audio_codec: string | null;
  video_codec: string | null;
  deleted_at: number | null;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobsTable {
  id: Generated<number>;
  type: string;
  payload: string;
  status: JobStatus;
  run_at: number;
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  recording_id: number | null;
  group_key: string | null;
  created_at: number;
  updated_at: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  account_id: number;
  webhook_id: number;
  recording_id: number | null;
  event: string;
  body: string;
  message_id: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  next_attempt_at: number | null;
  created_at: number;
  delivered_at: number | null;
}

export type RecordingDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

/** Where each copy of a recording to a customer's storage stands. */
export interface RecordingDeliveriesTable {
  id: Generated<number>;
  account_id: number;
  recording_id: number;
  /** 's3', 'ftp', 'sftp' or 'dbox'. */
  target: string;
  credentials_id: number;
  status: RecordingDeliveryStatus;
  attempts: Generated<number>;
  last_error: string | null;
  last_attempt_at: number | null;
  next_attempt_at: number | null;
  delivered_at: number | null;
  /** JSON list of the files written: name, size and, where there is one, URL. */
  files: string | null;
  created_at: number;
}

/** A resumable (tus) upload in progress; kept after it finished until it expires. */
export interface UploadsTable {
  id: string;
  account_id: number;
  env_id: number;
  upload_offset: number;
  upload_length: number;
  /** JSON: the recorder's metadata and the request's, as the environment collects them. */
  metadata: string;
  recording_id: number | null;
  created_at: number;
  updated_at: number;
  expires_at: number;
}

/** A dashboard session; the id is the SHA-256 of the cookie's token, never the token. */
export interface SessionsTable {
  id: string;
  account_id: number;
  csrf_token: string;
  /** Changes when the credential used to sign in changes, which ends the session. */
  auth_fingerprint: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export interface SchedulesTable {
  name: string;
  next_run_at: number;
}

/** Requests counted per client in the current minute; shared by every process. */
export interface RateLimitsTable {
  key: string;
  window_start: number;
  count: number;
}

export interface Database {
  schedules: SchedulesTable;
  accounts: AccountsTable;
  environments: EnvironmentsTable;
  webhooks: WebhooksTable;
  amazon_credentials: AmazonCredentialsTable;
  ftp_credentials: FtpCredentialsTable;
  dropbox_credentials: DropboxCredentialsTable;
  recordings: RecordingsTable;
  jobs: JobsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  recording_deliveries: RecordingDeliveriesTable;
  uploads: UploadsTable;
  sessions: SessionsTable;
  rate_limits: RateLimitsTable;
}

export type Account = Selectable<AccountsTable>;
export type Environment = Selectable<EnvironmentsTable>;
export type Webhook = Selectable<WebhooksTable>;
export type AmazonCredentials = Selectable<AmazonCredentialsTable>;
export type FtpCredentials = Selectable<FtpCredentialsTable>;
export type DropboxCredentials = Selectable<DropboxCredentialsTable>;
export type Recording = Selectable<RecordingsTable>;
export type NewRecording = Insertable<RecordingsTable>;
export type RecordingUpdate = Updateable<RecordingsTable>;
export type Job = Selectable<JobsTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;
export type RecordingDelivery = Selectable<RecordingDeliveriesTable>;
export type Upload = Selectable<UploadsTable>;
export type Session = Selectable<SessionsTable>;

import type { Config } from '../config/index.js';
import type { AmazonCredentials, DropboxCredentials, FtpCredentials } from '../db/schema.js';
import type { SecretBox } from '../lib/secrets.js';
import type { ConnectOptions, DeliveryTarget, Destination } from './types.js';

export type CredentialsRow = AmazonCredentials | FtpCredentials | DropboxCredentials;

/** The table that holds each target's credentials: FTP and SFTP share one set. */
export const TARGET_TABLE = {
  s3: 'amazon_credentials',
  ftp: 'ftp_credentials',
  sftp: 'ftp_credentials',
  dbox: 'dropbox_credentials',
} as const satisfies Record<DeliveryTarget, string>;

export interface DestinationDeps {
  config: Pick<Config, 'outboundAllow' | 'delivery'>;
  secrets: SecretBox;
}

function connectOptions(deps: DestinationDeps): ConnectOptions {
  return {
    allow: deps.config.outboundAllow,
    timeoutMs: deps.config.delivery.timeoutMs,
    extraCa: deps.config.delivery.extraCa,
  };
}

function opened(deps: DestinationDeps, sealed: string | null): string {
  return sealed === null ? '' : deps.secrets.open(sealed);
}

/** Whether a set of credentials names a destination of `target` at all. */
export function isConfigured(target: DeliveryTarget, row: CredentialsRow): boolean {
  if (target === 's3') return 'amz_bucket' in row && row.amz_bucket !== '';
  if (target === 'ftp') return 'ftp_host' in row && row.ftp_host !== '';
  if (target === 'sftp') return 'sftp_host' in row && row.sftp_host !== '';
  return 'dbox_token_enc' in row && row.dbox_token_enc !== null;
}

/**
 * The destination a set of credentials describes now; secrets are opened here only. Each
 * adapter is loaded the first time it is needed: the S3 SDK alone costs a server start a
 * few hundred milliseconds, and most servers deliver to one kind of target or none.
 */
export async function destinationFor(
  target: DeliveryTarget,
  row: CredentialsRow,
  deps: DestinationDeps,
): Promise<Destination> {
  const o = connectOptions(deps);
  const d = deps.config.delivery;
  if (target === 's3' && 'amz_bucket' in row) {
    const { s3Destination } = await import('./s3.js');
    return s3Destination({
      key: opened(deps, row.amz_key_enc),
      secret: opened(deps, row.amz_secret_enc),
      bucket: row.amz_bucket,
      region: row.amz_bucket_region,
      acl: row.amz_acl,
      folder: row.amz_folder,
    }, { ...o, endpoint: d.amazonEndpoint });
  }
  if (target === 'ftp' && 'ftp_host' in row) {
    const { ftpDestination } = await import('./ftp.js');
    return ftpDestination({
      host: row.ftp_host, port: row.ftp_port, username: row.ftp_username,
      password: opened(deps, row.ftp_password_enc), folder: row.ftp_dir,
    }, o);
  }
  if (target === 'sftp' && 'sftp_host' in row) {
    const { sftpDestination } = await import('./sftp.js');
    return sftpDestination({
      host: row.sftp_host, port: row.sftp_port, username: row.sftp_username,
      password: opened(deps, row.sftp_password_enc), folder: row.sftp_dir,
    }, o);
  }
  if (target === 'dbox' && 'dbox_token_enc' in row) {
    const { dropboxDestination } = await import('./dropbox.js');
    return dropboxDestination({
      token: opened(deps, row.dbox_token_enc), folder: row.dbox_folder,
    }, { ...o, apiUrl: d.dropboxApiUrl, contentUrl: d.dropboxContentUrl });
  }
  throw new Error(`credentials ${row.id} do not belong to target ${target}`);
}

import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { ObjectCannedACL } from '@aws-sdk/client-s3';

import { AppError } from '../lib/errors.js';
import { createS3Client, isNotFound, putFile } from '../storage/s3.js';
import { assertUrlHostAllowed, guardedAgent } from './connect.js';
import { badSetting, explainNetworkError } from './errors.js';
import { checkFileName, parseFolder } from './paths.js';
import type { ConnectOptions, Destination, DestinationSession, LocalFile } from './types.js';

export interface S3Settings {
  key: string;
  secret: string;
  bucket: string;
  region: string;
  acl: string;
  folder: string;
}

export interface S3DestinationOptions extends ConnectOptions {
  /** Empty for AWS's regional endpoints; a base URL for an S3-compatible server. */
  endpoint: string;
  multipartThreshold?: number;
  partSize?: number;
}

const ACLS = new Set(['private', 'public-read', 'bucket-owner-full-control']);

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** What S3's error codes mean for the customer who set these credentials. */
function explainS3Error(err: unknown, s: S3Settings, where: string): AppError {
  if (err instanceof AppError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return explainNetworkError(err, where);
  const bucket = `bucket "${s.bucket}"`;
  const cause = { cause: err };
  switch (e.name) {
    case 'InvalidAccessKeyId':
      return new AppError('upstream', `S3 does not know the access key in amz_key; check ` +
        'amz_key', cause);
    case 'SignatureDoesNotMatch':
      return new AppError('upstream', 'S3 refused the request signature: amz_secret does not ' +
        'belong to amz_key; check amz_secret', cause);
    case 'NoSuchBucket':
      return new AppError('upstream', `${bucket} does not exist; check amz_bucket`, cause);
    case 'AccessDenied':
    case 'Forbidden':
      return new AppError('upstream', `the key in amz_key may not write to ${bucket}; allow ` +
        's3:PutObject (and s3:PutObjectAcl when amz_acl is set) in its policy', cause);
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return new AppError('upstream', `${bucket} is not in region "${s.region}"; set ` +
        'amz_bucket_region to the region the bucket was created in', cause);
    case 'AccessControlListNotSupported':
      return new AppError('upstream', `${bucket} does not accept ACLs; set amz_acl to ` +
        '"bucket-owner-full-control" or allow ACLs on the bucket', cause);
    default:
      return new AppError('upstream', `${where} answered ${status} ${e.name ?? ''}: ${e.message ?? ''}`.trim(), cause);
  }
}

/** A customer's S3 bucket, under the configured folder (a key prefix). */
export function s3Destination(s: S3Settings, o: S3DestinationOptions): Destination {
  const prefix = parseFolder(s.folder, 'amz_folder').segments.join('/');
  const keyOf = (name: string) => (prefix === '' ? '' : `${prefix}/`) + checkFileName(name);
  const region = s.region === '' ? 'us-east-1' : s.region;
  const settings = { ...s, region };
  const label = `s3://${s.bucket}/${prefix}`;

  const urlOf = (name: string): string => {
    const key = encodeKey(keyOf(name));
    return o.endpoint === ''
      ? `https://${s.bucket}.s3.${region}.amazonaws.com/${key}`
      : `${o.endpoint}/${s.bucket}/${key}`;
  };

  const open = async (): Promise<DestinationSession> => {
    if (s.key === '' || s.secret === '') {
      throw badSetting('amz_key', 'amz_key and amz_secret are not set; PUT them to /amazon/:id');
    }
    if (s.bucket === '') throw badSetting('amz_bucket', 'amz_bucket is not set');
    if (!ACLS.has(s.acl)) throw badSetting('amz_acl', `amz_acl "${s.acl}" is not supported`);
    const url = new URL(o.endpoint === '' ? `https://s3.${region}.amazonaws.com` : o.endpoint);
    assertUrlHostAllowed(url, o.allow);
    const client = createS3Client({
      endpoint: o.endpoint,
      region,
      accessKeyId: s.key,
      secretAccessKey: s.secret,
      forcePathStyle: o.endpoint !== '',
      agent: guardedAgent(url.protocol, o),
      timeoutMs: o.timeoutMs,
      // The delivery job has its own retry schedule.
      maxAttempts: 1,
    });
    const where = `S3 ${label}`;
    const bucketKey = (name: string) => ({ Bucket: s.bucket, Key: keyOf(name) });

    return {
      async put(file: LocalFile, signal: AbortSignal) {
        try {
          await putFile(client, {
            bucket: s.bucket,
            key: keyOf(file.name),
            file: file.path,
            size: file.size,
            contentType: file.contentType,
            acl: s.acl as ObjectCannedACL,
            ...(o.multipartThreshold === undefined ? {} :
              { multipartThreshold: o.multipartThreshold }),
            ...(o.partSize === undefined ? {} : { partSize: o.partSize }),
          }, signal);
        } catch (err) {
          throw explainS3Error(err, settings, where);
        }
      },
      async size(name: string) {
        try {
          const head = await client.send(new HeadObjectCommand(bucketKey(name)));
          return head.ContentLength ?? null;
        } catch (err) {
          if (isNotFound(err)) return null;
          throw explainS3Error(err, settings, where);
        }
      },
      async remove(name: string) {
        try {
          await client.send(new DeleteObjectCommand(bucketKey(name)));
        } catch (err) {
          throw explainS3Error(err, settings, where);
        }
      },
      async close() {
        client.destroy();
      },
    };
  };

  return { target: 's3', label, open, urlOf };
}

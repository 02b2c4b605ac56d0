import { createReadStream } from 'node:fs';
import type { Agent } from 'node:http';

import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand,
  PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart, ObjectCannedACL } from '@aws-sdk/client-s3';

const MIB = 1024 * 1024;

/** Files larger than this go up in parts, so no single request carries more. */
export const MULTIPART_THRESHOLD = 100 * MIB;
const DEFAULT_PART_SIZE = 16 * MIB;
const MAX_PARTS = 10_000;

// Failures reach the caller as errors; the SDK would also print some of them to the console.
const quiet = () => undefined;
const SILENT = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };

export interface S3ClientOptions {
  /** Empty for AWS's own endpoints. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  agent?: Agent;
  timeoutMs?: number;
  maxAttempts?: number;
}

/**
 * A client with explicit credentials, so the SDK never goes looking for others on the
 * machine. S3-compatible servers get only the checksums a request requires: several reject
 * the newer checksum headers.
 */
export function createS3Client(o: S3ClientOptions): S3Client {
  const compatible = o.endpoint === '' ? {} : {
    endpoint: o.endpoint,
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
  return new S3Client({
    region: o.region,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    forcePathStyle: o.forcePathStyle,
    logger: SILENT,
    ...compatible,
    ...(o.maxAttempts === undefined ? {} : { maxAttempts: o.maxAttempts }),
    requestHandler: {
      ...(o.agent === undefined ? {} : { httpAgent: o.agent, httpsAgent: o.agent }),
      ...(o.timeoutMs === undefined ? {} : {
        requestTimeout: o.timeoutMs, connectionTimeout: o.timeoutMs,
      }),
    },
  });
}

export interface PutFileParams {
  bucket: string;
  key: string;
  file: string;
  size: number;
  contentType?: string;
  acl?: ObjectCannedACL;
  multipartThreshold?: number;
  partSize?: number;
}

/** Uploads a local file: one request up to the threshold, a multipart upload above it. */
export async function putFile(client: S3Client, p: PutFileParams, signal?: AbortSignal) {
  const common = {
    Bucket: p.bucket,
    Key: p.key,
    ...(p.contentType === undefined ? {} : { ContentType: p.contentType }),
    ...(p.acl === undefined ? {} : { ACL: p.acl }),
  };
  const opts = signal === undefined ? {} : { abortSignal: signal };
  if (p.size <= (p.multipartThreshold ?? MULTIPART_THRESHOLD)) {
    await client.send(new PutObjectCommand({
      ...common, Body: createReadStream(p.file), ContentLength: p.size,
    }), opts);
    return;
  }

  const partSize = Math.max(p.partSize ?? DEFAULT_PART_SIZE, Math.ceil(p.size / MAX_PARTS));
  const created = await client.send(new CreateMultipartUploadCommand(common), opts);
  const uploadId = created.UploadId;
  if (uploadId === undefined) throw new Error('the S3 server gave no upload id');
  const target = { Bucket: p.bucket, Key: p.key, UploadId: uploadId };
  try {
    const parts: CompletedPart[] = [];
    for (let start = 0, number = 1; start < p.size; start += partSize, number += 1) {
      const end = Math.min(p.size, start + partSize) - 1;
      const part = await client.send(new UploadPartCommand({
        ...target,
        PartNumber: number,
        Body: createReadStream(p.file, { start, end }),
        ContentLength: end - start + 1,
      }), opts);
      parts.push({ PartNumber: number, ETag: part.ETag });
    }
    await client.send(new CompleteMultipartUploadCommand({
      ...target, MultipartUpload: { Parts: parts },
    }), opts);
  } catch (err) {
    // Parts of an unfinished upload are billed until it is aborted.
    await client.send(new AbortMultipartUploadCommand(target)).catch(() => undefined);
    throw err;
  }
}

/** Whether an SDK error means "no such object" rather than a failure. */
export function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

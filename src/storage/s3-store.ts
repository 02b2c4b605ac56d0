import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

import { AppError } from '../lib/errors.js';
import { checkKey } from './media-store.js';
import type { MediaStore } from './media-store.js';
import { isNotFound, putFile } from './s3.js';

export interface S3StoreOptions {
  bucket: string;
  multipartThreshold?: number;
  partSize?: number;
}

/**
 * The media store in an S3-compatible bucket, under the same keys as on disk. Media links
 * still point at this server, which streams from the bucket: the bucket can stay private and
 * links do not change when the store does.
 */
export class S3MediaStore implements MediaStore {
  readonly kind = 's3';
  readonly #client: S3Client;
  readonly #o: S3StoreOptions;

  constructor(client: S3Client, options: S3StoreOptions) {
    this.#client = client;
    this.#o = options;
  }

  async put(key: string, file: string, options: { move?: boolean } = {}): Promise<void> {
    const { size } = await stat(file);
    await putFile(this.#client, {
      bucket: this.#o.bucket,
      key: checkKey(key),
      file,
      size,
      ...(this.#o.multipartThreshold === undefined ? {} :
        { multipartThreshold: this.#o.multipartThreshold }),
      ...(this.#o.partSize === undefined ? {} : { partSize: this.#o.partSize }),
    });
    if (options.move === true) await rm(file, { force: true });
  }

  async localCopy(key: string, workDir: string): Promise<string> {
    const target = path.join(workDir, path.basename(checkKey(key)));
    await pipeline(await this.open(key), createWriteStream(target));
    return target;
  }

  async open(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const res = await this.#client.send(new GetObjectCommand({
        Bucket: this.#o.bucket,
        Key: checkKey(key),
        ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }),
      }));
      if (!(res.Body instanceof Readable)) throw new Error('the S3 server sent no body');
      return res.Body;
    } catch (err) {
      if (isNotFound(err)) throw new AppError('not_found', `media ${key} missing`);
      throw err;
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const res = await this.#client.send(new HeadObjectCommand({
        Bucket: this.#o.bucket, Key: checkKey(key),
      }));
      return res.ContentLength ?? null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const target = { Bucket: this.#o.bucket, Key: checkKey(key) };
    await this.#client.send(new DeleteObjectCommand(target));
  }

  async ready(): Promise<void> {
    await this.#client.send(new HeadBucketCommand({ Bucket: this.#o.bucket }));
  }
}

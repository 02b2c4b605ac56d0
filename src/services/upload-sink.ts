import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * Bytes are written in batches of about this size. One write per socket chunk (64 KiB) is
 * one hand-off to the thread pool each, and on a two-core machine those hand-offs cost about
 * as much CPU as the rest of the upload. An upload holds at most two batches in memory: the
 * one being written and the one filling up.
 */
export const BATCH_BYTES = 1024 * 1024;

/** A slow upload's bytes wait no longer than this in memory for their batch to fill. */
const BATCH_MAX_AGE_MS = 200;

export interface SinkOptions {
  /** Where in the file the first byte goes. */
  position: number;
  /** How many bytes may be written; a body that goes on past them is cut there. */
  room: number;
  /**
   * Updated with each byte as it arrives, in order, in the same pass that writes it. When
   * `writeArriving` throws, the hash may hold bytes the file does not: throw it away.
   */
  hash: Hash | null;
  /**
   * Starts a datasync each time this many more bytes are written while the body is still
   * arriving, so that the disk works alongside the network and the caller's final datasync
   * finds little left to write.
   */
  syncEvery?: number;
}

export interface SinkResult {
  /** Bytes written from `position` on. */
  written: number;
  /** The body went on past `room`; the rest of it was not read. */
  overflow: boolean;
  /** Why the body ended early (a dropped connection, a destroyed stream); null if it did not. */
  cut: Error | null;
}

/**
 * Writes a body to a file as it arrives and hashes it in the same pass. A body that fails
 * (the client went away, a newer request stopped it) ends the writing, not the call: the
 * bytes that arrived are written and counted, and `cut` says why it ended. A write that
 * fails is thrown, once what was already handed to the file is settled.
 */
export async function writeArriving(
  body: AsyncIterable<Buffer>,
  handle: FileHandle,
  options: SinkOptions,
): Promise<SinkResult> {
  const writer = new BatchWriter(handle, options.position, options.syncEvery ?? 0);
  let taken = 0;
  let overflow = false;
  let cut: Error | null = null;
  try {
    for await (const chunk of body) {
      const room = options.room - taken;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      options.hash?.update(part);
      taken += part.length;
      const wait = writer.add(part);
      if (wait !== undefined) await wait;
      if (part.length < chunk.length) {
        overflow = true;
        break;
      }
      if (writer.failure !== null) break;
    }
  } catch (err) {
    cut = asError(err);
  }
  await writer.finish();
  return { written: writer.written, overflow, cut };
}

/** The SHA-256 of a file's bytes, read once. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: BATCH_BYTES })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Gathers chunks into batches and writes each with one call, the next batch filling while
 * the last one is written. The first write error stops all further writing.
 */
class BatchWriter {
  written = 0;
  failure: Error | null = null;
  readonly #handle: FileHandle;
  readonly #start: number;
  readonly #syncEvery: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingSince = 0;
  #queued = 0;
  #flight: Promise<void> | null = null;
  #sync: Promise<void> | null = null;
  #syncedUpTo = 0;

  constructor(handle: FileHandle, start: number, syncEvery: number) {
    this.#handle = handle;
    this.#start = start;
    this.#syncEvery = syncEvery;
  }

  /** Takes a chunk; answers a promise to wait for when the next batch is full already. */
  add(chunk: Buffer): Promise<void> | undefined {
    const now = performance.now();
    if (this.#pendingBytes === 0) this.#pendingSince = now;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const full = this.#pendingBytes >= BATCH_BYTES;
    if (!full && now - this.#pendingSince < BATCH_MAX_AGE_MS) return undefined;
    if (this.#flight === null) {
      this.#write();
      return undefined;
    }
    return full ? this.#flight.then(() => this.#write()) : undefined;
  }

  /** Writes what is left and waits for every write and datasync started; throws a failure. */
  async finish(): Promise<void> {
    if (this.#flight !== null) await this.#flight;
    if (this.#pendingBytes > 0) {
      this.#write();
      await this.#flight;
    }
    if (this.#sync !== null) await this.#sync;
    if (this.failure !== null) throw this.failure;
  }

  #write(): void {
    const buffers = this.#pending;
    const size = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.failure !== null || size === 0) return;
    const position = this.#start + this.#queued;
    this.#queued += size;
    this.#flight = writeAll(this.#handle, buffers, size, position).then(() => {
      this.written += size;
      this.#startSync();
    }, (err: unknown) => {
      this.failure ??= asError(err);
    }).finally(() => {
      this.#flight = null;
    });
  }

  #startSync(): void {
    if (this.#syncEvery <= 0 || this.#sync !== null) return;
    if (this.written - this.#syncedUpTo < this.#syncEvery) return;
    this.#syncedUpTo = this.written;
    // A datasync that fails may have used up the error, so a later one could pass although
    // these bytes never reached the disk: the failure stands for the whole body.
    this.#sync = this.#handle.datasync().catch((err: unknown) => {
      this.failure ??= asError(err);
    }).finally(() => {
      this.#sync = null;
    });
  }
}

async function writeAll(handle: FileHandle, buffers: Buffer[], size: number, position: number) {
  let done = (await handle.writev(buffers, position)).bytesWritten;
  if (done === size) return;
  // A short write is rare for a regular file; finish it from one buffer.
  const rest = Buffer.concat(buffers, size);
  while (done < size) {
    const { bytesWritten } = await handle.write(rest, done, size - done, position + done);
    done += bytesWritten;
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

import type { AllowList, LookupResolver } from '../lib/outbound.js';

export type DeliveryTarget = 's3' | 'ftp' | 'sftp' | 'dbox';

export const DELIVERY_TARGETS: readonly DeliveryTarget[] = ['s3', 'ftp', 'sftp', 'dbox'];

/** A local file to copy, under the name it gets at the destination. */
export interface LocalFile {
  path: string;
  name: string;
  size: number;
  contentType: string;
}

/**
 * One connection to a destination, rooted at the configured folder: every name is a plain
 * file name inside that folder, never a path.
 */
export interface DestinationSession {
  /** Writes the file, creating the folder where it is missing. */
  put(file: LocalFile, signal: AbortSignal): Promise<void>;
  /** The size in bytes of `name` in the folder, or null when there is no such file. */
  size(name: string): Promise<number | null>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface Destination {
  readonly target: DeliveryTarget;
  /** Where it copies to, for messages: "sftp://host:22/folder". Never holds a secret. */
  readonly label: string;
  open(signal: AbortSignal): Promise<DestinationSession>;
  /** The address of a delivered file that events and the API may show, or null. */
  urlOf(name: string): string | null;
}

/** What every adapter needs from the process: the guard and its limits. */
export interface ConnectOptions {
  allow: AllowList;
  timeoutMs: number;
  extraCa: string | null;
  /** Name resolution instead of the system's; tests use it to stay off the network. */
  resolver?: LookupResolver;
}

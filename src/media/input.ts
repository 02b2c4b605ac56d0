import { resolve } from 'node:path';

/**
 * Demuxers an uploaded file may be read with. Playlist and list formats (hls, concat, image2,
 * ...) are left out on purpose: an upload in one of them could make ffmpeg fetch URLs or read
 * other files on this machine into a recording.
 */
export const ALLOWED_DEMUXERS = [
  'matroska', 'webm', 'mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'ogg', 'wav', 'mp3', 'aac',
  'flac', 'avi', 'flv', 'mpegts', 'mpeg', 'asf', 'caf', 'amr', 'aiff',
].join(',');

/**
 * The arguments that open one local file as input. The `file:` prefix keeps a name that looks
 * like a URL or starts with a dash from being read as anything but a path.
 */
export function inputArgs(file: string): string[] {
  return [
    '-protocol_whitelist', 'file',
    '-format_whitelist', ALLOWED_DEMUXERS,
    '-i', `file:${resolve(file)}`,
  ];
}

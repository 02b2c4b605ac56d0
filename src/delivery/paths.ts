import { badSetting } from './errors.js';

export interface Folder {
  /** Starts at the server's root rather than where the login lands. */
  absolute: boolean;
  segments: string[];
}

/**
 * The configured folder as plain segments. Empty and "." segments are dropped; ".." and
 * control characters are refused, so nothing can be written outside the folder whatever
 * was stored before the API checked it. Every other character is kept as it is.
 */
export function parseFolder(folder: string, field: string): Folder {
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\u0000-\u001f\u007f]/.test(folder)) {
    throw badSetting(field, `${field} must not contain control characters`);
  }
  const parts = folder.split('/');
  if (parts.some((part) => part === '..' || part.split('\\').includes('..'))) {
    throw badSetting(field, `${field} "${folder}" has a ".." segment, which could lead outside ` +
      'the folder; give the folder without it');
  }
  return {
    absolute: folder.startsWith('/'),
    segments: parts.filter((part) => part !== '' && part !== '.'),
  };
}

/** A file name inside the folder: never empty, never a path. */
export function checkFileName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (name === '' || name === '.' || name === '..' || /[/\\\u0000-\u001f\u007f]/.test(name)) {
    throw badSetting('name', `"${name}" is not a file name that can be written safely`);
  }
  return name;
}

/** The folder and a name joined with "/", relative unless the folder is absolute. */
export function joinRemote(folder: Folder, name?: string): string {
  const parts = name === undefined ? folder.segments : [...folder.segments, checkFileName(name)];
  const joined = parts.join('/');
  return folder.absolute ? `/${joined}` : joined;
}

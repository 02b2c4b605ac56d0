import pino from 'pino';

import type { Config } from '../config/index.js';
import type { Context } from '../context.js';
import { NO_MEDIA_TOOLS } from '../media/binaries.js';
import { createContext } from '../runtime.js';

/**
 * The context of a one-off command that runs no media work (creating, exporting an account,
 * setting its password): warnings only, to stderr, and no ffmpeg needed.
 */
export function quietContext(config: Config): Promise<Context> {
  return createContext(config, { log: pino({ level: 'warn' }, pino.destination(2)),
    media: Promise.resolve(NO_MEDIA_TOOLS) });
}

import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

import type { ConfigFlags } from '../config/index.js';
import { loadConfig } from '../config/index.js';
import { setAccountPassword } from '../services/sessions.js';
import { quietContext } from './context.js';

type Input = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/**
 * `standpipe account password`: sets the dashboard password. It is read from the terminal
 * without echo (twice), or as the first line of piped input; never from the command line,
 * where other users of the machine could read it.
 */
export async function accountPassword(
  flags: ConfigFlags,
  accountHash: string,
  input: Input = process.stdin,
  output: Writable = process.stderr,
): Promise<number> {
  let password: string;
  if (input.isTTY === true) {
    password = await readHidden(input, output, 'New password: ');
    const again = await readHidden(input, output, 'Repeat it: ');
    if (again !== password) throw new Error('the two passwords differ; nothing was changed');
  } else {
    password = await firstLine(input);
  }
  const config = loadConfig(flags);
  const ctx = await quietContext(config);
  try {
    const account = await setAccountPassword(ctx, accountHash, password);
    // The address is the one these settings give; without STANDPIPE_PUBLIC_URL it is a
    // guess from STANDPIPE_HOST and STANDPIPE_PORT, and is said to be one.
    const where = config.publicUrlAuto
      ? `/dashboard on the server (${config.publicUrl}/dashboard by these settings)`
      : `${config.publicUrl}/dashboard`;
    output.write(`password set for ${account.email}; sign in at ${where}\n`);
  } finally {
    await ctx.db.close();
  }
  return 0;
}

async function firstLine(input: Readable): Promise<string> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

function readHidden(input: Input, output: Writable, prompt: string): Promise<string> {
  output.write(prompt);
  input.setRawMode?.(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new Error('cancelled'));
          return;
        }
        if (char === '\u007f') value = value.slice(0, -1);
        else value += char;
      }
    };
    const finish = () => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
    };
    input.on('data', onData);
  });
}

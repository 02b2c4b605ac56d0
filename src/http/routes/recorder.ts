import { readFile } from 'node:fs/promises';

import type { FastifyInstance } from 'fastify';

import { assetPath } from '../../lib/assets.js';
import { sendStatic, staticFile } from '../static-file.js';

/** Pages on any site load these, as they load Pipe's from its host. */
const CROSS_ORIGIN = {
  'access-control-allow-origin': '*',
  'cross-origin-resource-policy': 'cross-origin',
};

/**
 * The recorder at the paths Pipe's embed code 2.0 loads it from (/2.0/pipe.js and
 * /2.0/pipe.css), so a page moves by changing the host name only. The tus client and the
 * view are served inside the same script, all wrapped so the page's globals gain only PipeSDK.
 */
export async function recorderRoutes(app: FastifyInstance) {
  const read = (name: string) => readFile(assetPath('recorder', name), 'utf8');
  const [tus, view, pipe, css] = await Promise.all([read('tus-client.js'), read('view.js'),
    read('pipe.js'), read('pipe.css')]);
  const script = staticFile(`(function () {\n${tus}\n${view}\n${pipe}\n})();\n`,
    'application/javascript; charset=utf-8');
  const style = staticFile(css, 'text/css; charset=utf-8');

  app.get('/2.0/pipe.js', async (request, reply) =>
    sendStatic(request, reply, script, CROSS_ORIGIN));
  app.get('/2.0/pipe.css', async (request, reply) =>
    sendStatic(request, reply, style, CROSS_ORIGIN));
}

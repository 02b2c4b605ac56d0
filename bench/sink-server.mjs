// The reference for uploads: a bare Node server that writes the request body to disk.
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';

const file = process.env.SINK_FILE ?? '/dev/null';
const server = createServer((req, res) => {
  pipeline(req, createWriteStream(file)).then(
    () => res.end('ok'),
    () => { res.statusCode = 500; res.end(); },
  );
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`http://127.0.0.1:${typeof address === 'object' ? address.port : 0}\n`);
});

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestTls {
  /** The authority's certificate (PEM) and the file holding it. */
  ca: string;
  caFile: string;
  cert: string;
  key: string;
}

/**
 * A throwaway authority and a server certificate it signed for 127.0.0.1 and localhost,
 * made with openssl for this run only.
 */
export async function makeTestTls(dir: string): Promise<TestTls> {
  const f = (name: string) => path.join(dir, name);
  const ssl = (args: string[]) => run('openssl', args);
  await ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2',
    '-subj', '/CN=standpipe test authority']);
  await ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  await writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:storage.customer.test\n');
  await ssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return {
    ca: await readFile(f('ca.pem'), 'utf8'),
    caFile: f('ca.pem'),
    cert: await readFile(f('server.pem'), 'utf8'),
    key: await readFile(f('server.key'), 'utf8'),
  };
}

/**
 * Free TCP ports on 127.0.0.1, for tests that must know a node's port before it starts (its public
 * URL is written at init). No process is started here, so plain `*.test.ts` files may use it.
 */
import { createServer } from 'node:net';

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

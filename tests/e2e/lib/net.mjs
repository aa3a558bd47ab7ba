// Loopback ports for the servers tests and benchmarks start. No other import, so anything
// may load it before choosing a store backend (tests/nodes load it before careid.mjs).
import net from 'node:net';

/** A TCP port free on 127.0.0.1 right now (listen on 0, read the port, close); taken by
 * whoever binds it first. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

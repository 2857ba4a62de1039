/**
 * A TCP port on 127.0.0.1 that is free now, for processes that must be told their port before they listen (a
 * config naming the node's and the watchtowers' ports; etcd members naming each other's peer URLs).
 *
 * The port is drawn below Linux's ephemeral range (32768 to 60999 by default), not taken from the kernel with port 0:
 * a port the kernel hands out for port 0 lies in that range, and until our process listens on it the kernel may give
 * it to any process's outgoing connection as its local end (a CI run failed so once: a watchtower's listen got
 * EADDRINUSE). Below the range only another listener can take it. Each candidate is checked by listening on it.
 */
import { createServer, type AddressInfo } from 'node:net';

const lowestPort = 20_000;
const candidatePorts = 12_000;
const attempts = 100;
/**
 * Ports this process has handed out, never handed out again: a caller usually listens on its ports only later (etcd
 * members start after all their URLs are chosen), so a port checked free a moment ago may be chosen again meanwhile.
 */
const handedOut = new Set<number>();

export async function freePortBelowEphemeralRange(): Promise<number> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    // Random rather than sequential, so that processes choosing at the same time (parallel test files) rarely collide.
    const port = lowestPort + Math.floor(Math.random() * candidatePorts);
    if (handedOut.has(port)) continue;
    const server = createServer();
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!listening) continue;
    const { port: bound } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    handedOut.add(bound);
    return bound;
  }
  throw new Error(`no free port found from ${lowestPort} to ${lowestPort + candidatePorts - 1}`);
}

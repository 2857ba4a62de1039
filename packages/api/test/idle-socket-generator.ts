/**
 * The idle-socket attacker of the adversarial suite, run as a child process
 * (`node --import tsx idle-socket-generator.ts`) so that its sockets are not
 * the test's descriptors: it opens `count` TCP connections to the server,
 * spread over the loopback source addresses it is given (127.0.0.N, all
 * routed to the loopback interface on Linux), and sends nothing on them. A
 * connection the server closes is opened again after `reconnectDelayMs`, so
 * the attacker keeps as many open as the server lets it. Every second it
 * reports how many are open, and how many the server answered (refused)
 * or closed.
 *
 * Parent → child: {type: 'open', host, port, count, sourceAddresses, reconnectDelayMs}, {type: 'exit'}.
 * Child → parent: {type: 'report', open, opened, refusedAnswers, closed, errors}, {type: 'error', message}.
 */
import { connect, type Socket } from 'node:net';
import { runIfEntryModule, serveParent } from './load-generator.js';

export type IdleSocketParentMessage =
  | { type: 'open'; host: string; port: number; count: number; sourceAddresses: string[]; reconnectDelayMs: number }
  | { type: 'exit' };

export interface IdleSocketReport {
  readonly type: 'report';
  /** Connections open now. */
  readonly open: number;
  /** Connections that reached the server, in total. */
  readonly opened: number;
  /** Connections the server answered with a refusal (429 or 503) before closing. */
  readonly refusedAnswers: number;
  /** Connections the server closed (refused or timed out). */
  readonly closed: number;
  /** Connect errors (EADDRNOTAVAIL, EMFILE on this side, ...). */
  readonly errors: number;
}

export type IdleSocketChildMessage = IdleSocketReport;

function childMain(): void {
  const sockets = new Set<Socket>();
  const counts = { opened: 0, refusedAnswers: 0, closed: 0, errors: 0 };
  let stopping = false;
  serveParent<IdleSocketParentMessage, IdleSocketChildMessage>(
    'idle-socket-generator.ts (the adversarial suite starts it)',
    900_000,
    async (message, send) => {
      if (message.type !== 'open') return;
      const open = (index: number): void => {
        if (stopping) return;
        const localAddress = message.sourceAddresses[index % message.sourceAddresses.length]!;
        const socket = connect({ host: message.host, port: message.port, localAddress });
        let connected = false;
        socket.once('connect', () => {
          connected = true;
          counts.opened += 1;
          sockets.add(socket);
        });
        socket.on('data', (chunk: Buffer) => {
          if (/^HTTP\/1\.1 (429|503)/.test(chunk.toString('latin1', 0, 16))) counts.refusedAnswers += 1;
        });
        socket.on('error', () => {
          if (!connected) counts.errors += 1;
        });
        socket.once('close', () => {
          if (connected) counts.closed += 1;
          sockets.delete(socket);
          // Jittered (0.5 to 1.5 times the delay), so that refused connections do not come back in one wave.
          if (!stopping) setTimeout(() => open(index), message.reconnectDelayMs * (0.5 + Math.random())).unref();
        });
      };
      // Opened in slices, so the attacker's own SYNs do not overflow the listen backlog at once.
      for (let index = 0; index < message.count; index += 1) {
        open(index);
        if (index % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const report = (): void => send({ type: 'report', open: sockets.size, ...counts });
      setInterval(report, 1_000).unref();
      report();
    },
  );
  process.on('exit', () => {
    stopping = true;
    for (const socket of sockets) socket.destroy();
  });
}

runIfEntryModule(import.meta.url, 'idle-socket generator', childMain);

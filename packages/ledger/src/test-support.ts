/**
 * Shared setup of the node tests that open real LevelDB ledgers in temporary
 * directories (attestation-maker.test.ts, recovery.test.ts, history.test.ts): each directory
 * and each opened node is closed and removed after the test, in reverse order.
 */
import type { Genesis } from '@vex/engine';
import { afterEach } from 'vitest';
import { type RecordingLogger, recordingLogger, settableClock, temporaryDirectory } from '../test/helpers.js';
import { ExchangeNode, type NodeOptions } from './exchange-node.js';

export interface OpenedNode {
  readonly node: ExchangeNode;
  readonly clock: ReturnType<typeof settableClock>;
  readonly lines: RecordingLogger['lines'];
  /** Closes the node once; later calls do nothing. */
  readonly close: () => Promise<void>;
}

export interface NodeTestSetup {
  /** Run after each test, last registered first. */
  readonly cleanups: Array<() => Promise<void>>;
  readonly newDirectory: () => Promise<string>;
  readonly openNode: (dataDirectory: string, options?: Partial<NodeOptions>) => Promise<OpenedNode>;
}

/**
 * Registers the after-each cleanup and returns the helpers; call at the top
 * level of a test file. Nodes open with the clock at `startMs`, one verifier
 * thread, `defaults`, then the options of the call.
 */
export function nodeTestSetup(genesis: Genesis, startMs: number, defaults: Partial<NodeOptions> = {}): NodeTestSetup {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const newDirectory = async (): Promise<string> => {
    const created = await temporaryDirectory();
    cleanups.push(created.remove);
    return created.path;
  };
  const openNode = async (dataDirectory: string, options: Partial<NodeOptions> = {}): Promise<OpenedNode> => {
    const clock = settableClock(startMs);
    const log = recordingLogger();
    const node = await ExchangeNode.open({
      dataDirectory,
      genesis,
      logger: log.logger,
      clock: clock.clock,
      verifierThreads: 1,
      ...defaults,
      ...options,
    });
    let closed = false;
    const close = async (): Promise<void> => {
      if (!closed) await node.close();
      closed = true;
    };
    cleanups.push(close);
    return { node, clock, lines: log.lines, close };
  };
  return { cleanups, newDirectory, openNode };
}

/** The exchange under fuzzing, reopenable on the same data directory. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ExchangeNode } from '@vex/ledger';
import { applyListings } from '../../src/bootstrap.js';
import { assetInfoOf, demoConfig, genesisOf } from '../../src/config.js';
import { operatorKeyFromSeed } from '../../src/operator-key.js';
import { buildServer } from '../../src/server.js';
import { TestKey, type TestExchange } from '../../src/test-support.js';
import { snapshotEveryEntries } from './parameters.js';

export interface FuzzExchange extends TestExchange {
  readonly recoveryLines: readonly string[];
}

export async function openExchange(dataDirectory: string, operatorSeed: Uint8Array): Promise<FuzzExchange> {
  const operator = operatorKeyFromSeed(operatorSeed);
  const config = demoConfig();
  const recoveryLines: string[] = [];
  // The ledger's own log, kept only for its "ledger recovered" line (which snapshot recovery started from).
  const ledgerLog = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = chunk.toString();
      if (line.includes('ledger recovered')) recoveryLines.push(line);
      done();
    },
  });
  const node = await ExchangeNode.open({
    dataDirectory,
    genesis: genesisOf(config, operator.publicKey),
    verifierThreads: 1,
    snapshotEveryEntries,
    logger: pino({ level: 'info' }, ledgerLog),
  });
  await applyListings(node, operator, config);
  const app = buildServer({ node, logger: false, rateLimits: false, assets: assetInfoOf(config) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  let closed = false;
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    wsUrl: `ws://127.0.0.1:${address.port}/ws`,
    node,
    app,
    operator,
    operatorKey: new TestKey(operatorSeed),
    dataDirectory,
    recoveryLines,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await node.close();
    },
  };
}

/**
 * First start: list the configured assets and markets by submitting signed
 * operator transactions, exactly as the CLI would. On a restart the listings
 * already in the state are skipped, so starting twice changes nothing.
 */
import { encodeSigningStringBytes, publicKeyFromSeed, signMessage } from '@vex/engine';
import { listingGroups, type ExchangeConfig } from './config.js';
import type { ExchangeNodePort } from './node-port.js';
import type { OperatorKey } from './operator-key.js';

export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
}

/** Lists what the state lacks; returns the symbols it listed. */
export async function applyListings(
  node: ExchangeNodePort,
  operator: OperatorKey,
  config: ExchangeConfig,
  clock: () => number = Date.now,
): Promise<string[]> {
  const listed: string[] = [];
  const groups = listingGroups(config).filter((group) =>
    group.kind === 'asset' ? !node.state.assetsBySymbol.has(group.symbol) : !node.state.marketsBySymbol.has(group.symbol),
  );
  if (groups.length === 0) return listed;
  if (!node.state.operatorKeys.has(operator.publicKey)) {
    throw new BootstrapError(
      `The configuration lists ${groups.map((group) => group.symbol).join(', ')}, but this node's operator key ${operator.publicKey} is not one of the genesis operator keys, so it cannot sign the listings.`,
    );
  }
  const publicKey = publicKeyFromSeed(operator.seed);
  for (const group of groups) {
    // Never behind the log time, so the timestamp is always inside the window.
    const timestampMs = Math.max(Math.floor(clock()), node.state.logTimeMs);
    const message = encodeSigningStringBytes([{ instruction: group.instruction, params: group.params }], timestampMs, 5000);
    const result = await node.submit({ message, publicKey, signature: signMessage(operator.seed, message) });
    if (!result.outcome.accepted) {
      const { code, message: reason } = result.outcome.rejection;
      if (code === 'ALREADY_EXISTS') continue;
      throw new BootstrapError(`Listing ${group.symbol} was rejected: ${code}: ${reason}`);
    }
    listed.push(group.symbol);
  }
  return listed;
}

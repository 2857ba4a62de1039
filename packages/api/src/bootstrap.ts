/**
 * First start: list the configured assets and markets by submitting signed
 * operator transactions, exactly as the CLI would. On a restart the listings
 * already in the state are skipped, so starting twice changes nothing.
 *
 * Start-up must not depend on how busy the machine is (docs/operator.md,
 * "First start"): each listing is signed with the time taken right before its
 * own submission and the protocol's maximum window, and a listing the engine
 * refuses only for its timestamp (the signature workers or the machine were
 * slower than the window) is signed afresh and submitted again. A rejected
 * transaction changes nothing, so the retry is safe.
 */
import { encodeSigningStringBytes, maximumWindowMs, publicKeyFromSeed, signMessage } from '@vex/engine';
import { listingGroups, type ExchangeConfig } from './config.js';
import type { ExchangeNodePort } from './node-port.js';
import type { OperatorKey } from './operator-key.js';

export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
}

/** Submissions of one listing at most; only INVALID_TIMESTAMP rejections are retried, each signed afresh. */
export const maximumListingAttempts = 10;

/** Lists what the state lacks; returns the symbols it listed. */
export async function applyListings(
  node: ExchangeNodePort,
  operator: OperatorKey,
  config: ExchangeConfig,
  clock: () => number = Date.now,
): Promise<string[]> {
  const listed: string[] = [];
  const groups = listingGroups(config).filter((group) =>
    group.kind === 'asset'
      ? !node.state.assetsBySymbol.has(group.symbol)
      : group.kind === 'borrowLend'
        ? node.state.assetsBySymbol.get(group.symbol)?.margin === undefined
        : !node.state.marketsBySymbol.has(group.symbol),
  );
  if (groups.length === 0) return listed;
  if (!node.state.operatorKeys.has(operator.publicKey)) {
    throw new BootstrapError(
      `The configuration lists ${groups.map((group) => group.symbol).join(', ')}, but this node's operator key ${operator.publicKey} is not one of the genesis operator keys, so it cannot sign the listings.`,
    );
  }
  const publicKey = publicKeyFromSeed(operator.seed);
  for (const group of groups) {
    for (let attempt = 1; ; attempt += 1) {
      // Taken right before this submission and never behind the log time, so only the time the
      // submission itself takes (signature check and sequencing) can put it outside the window.
      const timestampMs = Math.max(Math.floor(clock()), node.state.logTimeMs);
      const message = encodeSigningStringBytes(
        [{ instruction: group.instruction, params: group.params }],
        timestampMs,
        maximumWindowMs,
      );
      const result = await node.submit({ message, publicKey, signature: signMessage(operator.seed, message) });
      if (result.outcome.accepted) {
        listed.push(group.symbol);
        break;
      }
      const { code, message: reason } = result.outcome.rejection;
      if (code === 'ALREADY_EXISTS') break;
      if (code === 'INVALID_TIMESTAMP' && attempt < maximumListingAttempts) continue;
      throw new BootstrapError(
        `Listing ${group.symbol} was rejected: ${code}: ${reason}` +
          (attempt > 1 ? ` (after ${attempt} attempts, each signed afresh)` : ''),
      );
    }
  }
  return listed;
}

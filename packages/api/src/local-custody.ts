/**
 * `CUSTODY=local pnpm start` (docs/operator.md, "A local chain"): starts an
 * anvil, deploys one demo ERC-20 per configured asset (anyone may mint them:
 * they are test tokens) and the vault over them, and runs the node's custody
 * service (chain watcher, root committer, payouts) against it. A demo: the
 * chain lives only as long as the process, the committee's keys are made at
 * start and held by this process, so it needs a ledger that has credited no
 * vault deposit of an earlier chain.
 */
import {
  anvilAccount,
  assetListHash,
  chainClients,
  CustodyService,
  deployDemoToken,
  deployVault,
  startAnvil,
  type CustodyNodePort,
} from '@vex/custody';
import type { Attestation, ExchangeState, InclusionProofBody } from '@vex/engine';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { ConfigError, type ExchangeConfig } from './config.js';
import type { CustodyInfo } from './custody-config.js';

/** The local demo's delays: short, so a newcomer sees a root become final and a freeze within minutes. */
export const localFinalityDelaySeconds = 10;
export const localGraceSeconds = 300;

export interface LocalCustody {
  readonly info: CustodyInfo;
  /** Pass to the node as NodeOptions.onAttestationMade before it opens. */
  readonly onAttestationMade: (attestation: Attestation, state: ExchangeState, leafZero: InclusionProofBody) => void;
  /** Starts the service once the node is open and the listings are applied. */
  start(node: CustodyNodePort, operatorSeed: Uint8Array, onError: (error: unknown) => void): void;
  stop(): Promise<void>;
}

/** Starts anvil and deploys the demo tokens and the vault for `config`'s assets, in listing order. */
export async function startLocalCustody(config: ExchangeConfig): Promise<LocalCustody> {
  const anvil = await startAnvil();
  try {
    const operator = chainClients(anvil.rpcUrl, anvil.chainId, anvilAccount(0));
    const tokens: Address[] = [];
    for (const asset of config.assets) tokens.push(await deployDemoToken(operator, asset.symbol, asset.decimals, 0n));
    const committeeKeys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
    const committee = committeeKeys.map((key) => privateKeyToAddress(key));
    const vault = await deployVault(operator, {
      operator: operator.account.address,
      tokens,
      assetListHash: assetListHash(config.assets.map((asset) => asset.symbol)),
      committee,
      committeeThreshold: 2,
      finalityDelaySeconds: localFinalityDelaySeconds,
      graceSeconds: localGraceSeconds,
      forcedExitFee: 10n ** 15n,
    });
    const info: CustodyInfo = {
      chainId: anvil.chainId,
      rpcUrl: anvil.rpcUrl,
      vault,
      tokens: Object.fromEntries(config.assets.map((asset, index) => [asset.symbol, tokens[index]!])),
      committee,
      finalityDelaySeconds: localFinalityDelaySeconds,
      graceSeconds: localGraceSeconds,
    };
    let service: CustodyService | undefined;
    return {
      info,
      onAttestationMade: (attestation, state, leafZero) => service?.attestationObserver(attestation, state, leafZero),
      start(node, operatorSeed, onError) {
        for (const key of node.state.creditedDeposits) {
          if (key.startsWith('Ethereum:vault-')) {
            throw new ConfigError(
              'CUSTODY=local needs a ledger that credited no vault deposit of an earlier chain: ' +
                'start it with a fresh DATA_DIR.',
            );
          }
        }
        service = new CustodyService({ node, operatorSeed, chain: operator, vault, committeeKeys, onError });
        service.start();
      },
      async stop() {
        await service?.stop();
        await anvil.stop();
      },
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

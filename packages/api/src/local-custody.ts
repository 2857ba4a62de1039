/**
 * The local chain of `pnpm start` (docs/operator.md, "A local chain"): on by
 * default for the embedded margin demo (`pnpm start`), required with
 * `CUSTODY=local`, off with `CUSTODY=off` or a config file. Starts an
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

/**
 * `required` (CUSTODY=local): a chain that cannot start stops the node's start. `default` (CUSTODY unset, the
 * embedded margin demo): custody is on if it can be, off with a log line saying why. `off`: no chain.
 */
export type LocalCustodyMode = 'required' | 'default' | 'off';

export function localCustodyMode(variable: string | undefined, embeddedMarginDemo: boolean): LocalCustodyMode {
  if (variable === 'local') return 'required';
  if (variable === 'off') return 'off';
  if (variable !== undefined && variable !== '')
    throw new ConfigError(`CUSTODY must be local or off, not ${variable}.`);
  return embeddedMarginDemo ? 'default' : 'off';
}

/** Starts the local chain in `mode`; in the default mode a chain that cannot start leaves custody off. */
export async function openLocalCustody(
  mode: LocalCustodyMode,
  config: ExchangeConfig,
  warn: (reason: string) => void,
): Promise<LocalCustody | undefined> {
  if (mode === 'off') return undefined;
  try {
    return await startLocalCustody(config, mode);
  } catch (error) {
    if (mode === 'required') throw error;
    warn(`custody off: the local chain (anvil) could not start: ${(error as Error).message}`);
    return undefined;
  }
}

export interface LocalCustody {
  readonly info: CustodyInfo;
  /** Pass to the node as NodeOptions.onAttestationMade before it opens. */
  readonly onAttestationMade: (attestation: Attestation, state: ExchangeState, leafZero: InclusionProofBody) => void;
  /**
   * Starts the service once the node is open and the listings are applied. In the default mode, a ledger
   * that credited deposits of an earlier chain leaves custody off: the chain is stopped, `warn` says why, and
   * the answer is false (serve no custody information then).
   */
  start(
    node: CustodyNodePort,
    operatorSeed: Uint8Array,
    onError: (error: unknown) => void,
    warn: (reason: string) => void,
  ): Promise<boolean>;
  stop(): Promise<void>;
}

/** Starts anvil and deploys the demo tokens and the vault for `config`'s assets, in listing order. */
export async function startLocalCustody(
  config: ExchangeConfig,
  mode: LocalCustodyMode = 'required',
): Promise<LocalCustody> {
  // A block a second: the root committer finalizes by the latest block's time, which an idle
  // automining chain never moves.
  const anvil = await startAnvil({ blockTimeSeconds: 1 });
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
      async start(node, operatorSeed, onError, warn) {
        const earlier = [...node.state.creditedDeposits].some((key) => key.startsWith('Ethereum:vault-'));
        if (earlier && mode === 'required') {
          throw new ConfigError(
            'CUSTODY=local needs a ledger that credited no vault deposit of an earlier chain: ' +
              'start it with a fresh DATA_DIR.',
          );
        }
        if (earlier) {
          warn(
            'custody off: this ledger credited deposits of an earlier local chain, which lived only as long as ' +
              'its process; start with a fresh DATA_DIR for custody on a new one',
          );
          await anvil.stop();
          return false;
        }
        service = new CustodyService({ node, operatorSeed, chain: operator, vault, committeeKeys, onError });
        service.start();
        return true;
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

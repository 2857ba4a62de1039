/**
 * The trader's side of custody (docs/custody.md, docs/client.md): deposit
 * into the vault from an Ethereum key, link an exit address, file a forced
 * exit, freeze the vault, exit with an inclusion proof, and pull what the
 * vault owes. Browser-safe: viem and @vex/custody's browser part only.
 * Where the vault is comes from GET /api/v1/custody (`fetchCustody`).
 */
import {
  accountFromPrivateKey,
  chainClients,
  confirmed,
  demoTokenContract,
  exitProofOfInclusionProof,
  finalRootPrices,
  registeredExitClaim,
  vaultContract,
  type ChainClients,
} from '@vex/custody/browser';
import type { InclusionProof } from '@vex/engine/verify';
import { toHex, type Address, type Hex } from 'viem';
import type { ExchangeClient } from './client.js';
import type { TransactionReceipt } from './types.js';

/** GET /api/v1/custody's answer (docs/api.md). */
export interface CustodyInfo {
  readonly chainId: number;
  readonly rpcUrl: string;
  readonly vault: Address;
  readonly tokens: Readonly<Record<string, Address>>;
  readonly committee: readonly Address[];
  readonly finalityDelaySeconds: number;
  readonly graceSeconds: number;
}

/** GET /api/v1/custody; undefined when the exchange has no custody contract (404). */
export async function fetchCustody(baseUrl: string, fetcher: typeof fetch = fetch): Promise<CustodyInfo | undefined> {
  const response = await fetcher(`${baseUrl.replace(/\/+$/, '')}/api/v1/custody`);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`GET /api/v1/custody answered ${response.status}`);
  return (await response.json()) as CustodyInfo;
}

/** A trader's view of the vault through one Ethereum key. */
export class CustodyWallet {
  readonly clients: ChainClients;

  constructor(
    readonly info: CustodyInfo,
    privateKey: Hex,
  ) {
    this.clients = chainClients(info.rpcUrl, info.chainId, accountFromPrivateKey(privateKey));
  }

  get address(): Address {
    return this.clients.account.address;
  }

  private get vault() {
    return vaultContract(this.clients, this.info.vault);
  }

  /** The vault's index of `symbol` (its token list is the exchange's asset order). */
  async assetIndex(symbol: string): Promise<number> {
    const token = this.info.tokens[symbol];
    if (token === undefined) throw new Error(`the vault holds no token for ${symbol}`);
    const tokens = await this.vault.read.tokens();
    const index = tokens.findIndex((listed) => listed.toLowerCase() === token.toLowerCase());
    if (index < 0) throw new Error(`${symbol}'s token ${token} is not one of the vault's tokens`);
    return index;
  }

  /** Approves and deposits `amountUnits` of `symbol` for the exchange account `publicKey` (32 bytes). */
  async deposit(symbol: string, amountUnits: bigint, publicKey: Uint8Array): Promise<void> {
    const asset = await this.assetIndex(symbol);
    const token = demoTokenContract(this.clients, this.info.tokens[symbol]!);
    await confirmed(this.clients, await token.write.approve([this.info.vault, amountUnits]));
    await confirmed(this.clients, await this.vault.write.deposit([asset, amountUnits, toHex(publicKey)]));
  }

  /** Files a forced exit for the account `publicKey`, paying the vault's fee. */
  async requestForcedExit(publicKey: Uint8Array): Promise<void> {
    const fee = await this.vault.read.forcedExitFee();
    await confirmed(this.clients, await this.vault.write.requestForcedExit([toHex(publicKey)], { value: fee }));
  }

  /** Freezes the vault (refused until a forced exit has gone unserved past the grace period). */
  async freeze(): Promise<void> {
    await confirmed(this.clients, await this.vault.write.freeze());
  }

  /**
   * Phase 1 of the escape: registers the exit claim of the proof's leaf in a
   * frozen vault (its net equity in kind at the committed prices), within the
   * claim window. The proof must be under the last final root; the prices are
   * read back from that root's commit unless given.
   */
  async exit(proof: InclusionProof, prices?: readonly bigint[]): Promise<void> {
    const committedPrices = prices ?? (await finalRootPrices(this.clients, this.info.vault));
    await confirmed(this.clients, await this.vault.write.exit([exitProofOfInclusionProof(proof, committedPrices)]));
  }

  /** Once frozen: owes deposit `number` back to its depositor, if no final root credited it. */
  async refund(number: bigint): Promise<void> {
    await confirmed(this.clients, await this.vault.write.refund([number]));
  }

  /**
   * Phase 2, after the claim window: pays the leaf's registered claim (in
   * full, or pro rata when an asset's claims exceed the vault): its exit
   * address is then owed the amounts, to pull with `withdraw`.
   */
  async payExit(proof: InclusionProof): Promise<void> {
    const { commitment } = exitProofOfInclusionProof(proof, []);
    const claim = await registeredExitClaim(this.clients, this.info.vault, commitment);
    if (claim === undefined) throw new Error('the account registered no exit claim in the claim window');
    await confirmed(this.clients, await this.vault.write.payExit([commitment, claim.exitAddress, claim.amounts]));
  }

  /** What the vault owes this address in `symbol` (payouts, exits, refunds). */
  async owed(symbol: string): Promise<bigint> {
    return this.vault.read.owed([this.address, BigInt(await this.assetIndex(symbol))]);
  }

  /** Pulls what the vault owes this address in `symbol`. */
  async withdraw(symbol: string): Promise<void> {
    await confirmed(this.clients, await this.vault.write.withdraw([await this.assetIndex(symbol)]));
  }
}

/** Links the client's account to an exit address (instruction exitAddressLink, once per account). */
export function linkExitAddress(client: ExchangeClient, address: Address): Promise<TransactionReceipt> {
  return client.submitInstruction('exitAddressLink', { address: address.toLowerCase() });
}

export {
  escapeStatus,
  nextSteps,
  type EscapeForcedExit,
  type EscapeProofCheck,
  type EscapeStatus,
  type EscapeStatusOptions,
  type SymbolAmount,
} from './escape.js';

/**
 * What a committee member checks before it signs a vault commit
 * (docs/custody.md, "The committee's signatures"): the commit against the
 * replay's own findings (ChainCheckCollector), and the digest against the
 * commit's fields, recomputed exactly as the vault's `commitDigest` does,
 * so that a signature can only ever mean the commit that was checked.
 */
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import type { ChainCheckCollector } from './chain-check.js';
import { forcedExitServedBy } from './chain-check-forced-exits.js';

/** One withdrawal a commit pays (the vault's `Payout`). */
export interface CommitPayout {
  readonly recipient: Address;
  readonly asset: number;
  readonly amount: bigint;
  readonly withdrawalId: bigint;
}

/** What a committee member is asked to sign: the commit, the root the contract will recompute, and its digest. */
export interface SignatureRequest {
  readonly digest: Hex;
  readonly root: Hex;
  readonly sequence: bigint;
  readonly stateHash: Hex;
  readonly assetListHash: Hex;
  readonly depositsCredited: bigint;
  readonly forcedExitsServed: bigint;
  readonly prices: readonly bigint[];
  readonly payouts: readonly CommitPayout[];
}

/** The vault a signature is for: the digest binds both. */
export interface VaultIdentity {
  readonly chainId: bigint;
  readonly vault: Address;
}

const payoutsType = [
  {
    type: 'tuple[]',
    components: [
      { name: 'recipient', type: 'address' },
      { name: 'asset', type: 'uint32' },
      { name: 'amount', type: 'uint256' },
      { name: 'withdrawalId', type: 'uint64' },
    ],
  },
] as const;

/** The vault's `commitDigest(root, commit)`, computed offline. */
export function commitDigest(identity: VaultIdentity, request: Omit<SignatureRequest, 'digest'>): Hex {
  const pricesHash = keccak256(encodeAbiParameters([{ type: 'uint256[]' }], [[...request.prices]]));
  const payoutsHash = keccak256(encodeAbiParameters(payoutsType, [[...request.payouts]]));
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'string' },
        { type: 'uint256' },
        { type: 'address' },
        { type: 'uint64' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'uint64' },
        { type: 'uint64' },
        { type: 'bytes32' },
        { type: 'bytes32' },
      ],
      [
        'vex/custody/commit/v1',
        identity.chainId,
        identity.vault,
        request.sequence,
        request.root,
        request.stateHash,
        request.assetListHash,
        request.depositsCredited,
        request.forcedExitsServed,
        pricesHash,
        payoutsHash,
      ],
    ),
  );
}

/** Why the replay does not support `request`, or undefined when it does. */
export function commitDivergence(collector: ChainCheckCollector, request: SignatureRequest): string | undefined {
  const sequence = Number(request.sequence);
  const attested = collector.attestations.get(sequence);
  if (attested === undefined) return `the replayed log has no attestation at sequence ${sequence}`;
  if (request.root !== `0x${attested.root}`) {
    return `the root for sequence ${sequence} is ${request.root}, the replay attests 0x${attested.root}`;
  }
  if (request.stateHash !== `0x${attested.stateHash}`) return `the state hash for sequence ${sequence} differs`;
  if (request.depositsCredited !== attested.depositsCredited) {
    return `the commit counts ${request.depositsCredited} deposits credited, the replay ${attested.depositsCredited}`;
  }
  const prices = attested.prices;
  if (request.prices.length !== prices.length || request.prices.some((price, index) => price !== prices[index])) {
    const named = request.prices.join(', ');
    return `the commit's prices for sequence ${sequence} are [${named}], the replay's [${prices.join(', ')}]`;
  }
  for (let number = 1n; number <= request.forcedExitsServed; number += 1n) {
    if (!forcedExitServedBy(collector.forcedExitAnswers, collector.completedAt, number, sequence)) {
      return `the commit counts forced exit ${number} served, which the log has not served by sequence ${sequence}`;
    }
  }
  for (const payout of request.payouts) {
    const completed = collector.completions.get(payout.withdrawalId);
    if (
      completed === undefined ||
      completed.sequence > sequence ||
      completed.address !== payout.recipient.toLowerCase() ||
      completed.asset !== collector.assetSymbols[payout.asset] ||
      completed.units !== payout.amount
    ) {
      return `payout of withdrawal ${payout.withdrawalId} is not a vault withdrawal the log completed by then`;
    }
  }
  return undefined;
}

/** commitDivergence, and (given the vault) that the digest is the commit's. */
export function signingRefusal(
  collector: ChainCheckCollector,
  request: SignatureRequest,
  identity: VaultIdentity | undefined,
): string | undefined {
  const divergence = commitDivergence(collector, request);
  if (divergence !== undefined || identity === undefined) return divergence;
  if (commitDigest(identity, request) !== request.digest.toLowerCase()) {
    return `the digest ${request.digest} is not the digest of this commit to vault ${identity.vault}`;
  }
  return undefined;
}

/** A signature request as JSON (the watchtower's HTTP body): integers as decimal strings. */
export function signatureRequestToJson(request: SignatureRequest): Record<string, unknown> {
  return {
    ...request,
    sequence: String(request.sequence),
    depositsCredited: String(request.depositsCredited),
    forcedExitsServed: String(request.forcedExitsServed),
    prices: request.prices.map(String),
    payouts: request.payouts.map((payout) => ({
      ...payout,
      amount: String(payout.amount),
      withdrawalId: String(payout.withdrawalId),
    })),
  };
}

const hex32 = /^0x[0-9a-fA-F]{64}$/;
const unsigned = /^(0|[1-9][0-9]{0,77})$/;

function field<T>(value: unknown, name: string, check: (value: unknown) => value is T): T {
  if (!check(value)) throw new Error(`${name} is missing or malformed`);
  return value;
}
const isHash = (value: unknown): value is Hex => typeof value === 'string' && hex32.test(value);
const isUnsigned = (value: unknown): value is string => typeof value === 'string' && unsigned.test(value);
const isAddress = (value: unknown): value is Address => typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value);

/** Parses a JSON signature request; throws an Error naming the bad field. */
export function signatureRequestFromJson(body: unknown): SignatureRequest {
  if (typeof body !== 'object' || body === null) throw new Error('the request must be a JSON object');
  const value = body as Record<string, unknown>;
  const prices = field(value.prices, 'prices', Array.isArray);
  const payouts = field(value.payouts, 'payouts', Array.isArray);
  return {
    digest: field(value.digest, 'digest', isHash),
    root: field(value.root, 'root', isHash),
    stateHash: field(value.stateHash, 'stateHash', isHash),
    assetListHash: field(value.assetListHash, 'assetListHash', isHash),
    sequence: BigInt(field(value.sequence, 'sequence', isUnsigned)),
    depositsCredited: BigInt(field(value.depositsCredited, 'depositsCredited', isUnsigned)),
    forcedExitsServed: BigInt(field(value.forcedExitsServed, 'forcedExitsServed', isUnsigned)),
    prices: prices.map((price, index) => BigInt(field(price, `prices[${index}]`, isUnsigned))),
    payouts: payouts.map((item: unknown, index) => {
      const payout = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      const asset = field(payout.asset, `payouts[${index}].asset`, (x): x is number => Number.isSafeInteger(x));
      return {
        recipient: field(payout.recipient, `payouts[${index}].recipient`, isAddress),
        asset,
        amount: BigInt(field(payout.amount, `payouts[${index}].amount`, isUnsigned)),
        withdrawalId: BigInt(field(payout.withdrawalId, `payouts[${index}].withdrawalId`, isUnsigned)),
      };
    }),
  };
}

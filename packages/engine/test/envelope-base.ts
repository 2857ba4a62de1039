/**
 * The log the envelope fuzz cases start from: a realistic signed log
 * (random-log.ts), its first entries applied to a base state, the authentic
 * (key, message, signature) triples, and a way back to the base state after a
 * case changed it. Each test file that imports it builds its own base.
 */
import { createHash } from 'node:crypto';
import { apply, type LogEntry } from '../src/apply.js';
import { decodeState, encodeState, stateHashHex } from '../src/state-codec.js';
import { createState, type ExchangeState } from '../src/state.js';
import { randomSignedLog, type Signer } from './random-log.js';

/** The random log the cases start from; fixed, so a seed and path always mean the same case. */
export const logSeed = 20_250_801;
export const randomEntriesInLog = 120;
/** Entries of the random part already applied to the base state; the rest are "fresh" originals. */
export const appliedRandomEntries = 80;

export const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
export const digestOf = (publicKey: Uint8Array, message: Uint8Array): string =>
  createHash('sha256').update(publicKey).update(message).digest('hex');
export const tripleKey = (publicKey: Uint8Array, message: Uint8Array): string => `${hex(publicKey)}:${hex(message)}`;

export const generated = randomSignedLog(logSeed, randomEntriesInLog);
export const operator = generated.operator;
export const traders = generated.traders;
export const signersByKey = new Map<string, Signer>(
  [operator, ...traders].map((signer) => [hex(signer.publicKey), signer]),
);
export const genesis = {
  exchangeName: 'envelope-fuzz',
  operatorKeys: [operator.accountId],
  feeAccount: operator.accountId,
};
export const setupEntries = generated.entries.length - randomEntriesInLog;
export const appliedCount = setupEntries + appliedRandomEntries;
export const originals: readonly LogEntry[] = generated.entries;
/** Signature hex of every original, by public key and message: the authentic triples of the log. */
export const originalSignatures = new Map<string, string>(
  originals.map((entry) => [
    tripleKey(entry.transaction.publicKey, entry.transaction.message),
    hex(entry.transaction.signature),
  ]),
);

/** The state each case is applied to; restoreBaseState() puts it back. */
export const fuzzBase: { state: ExchangeState } = { state: createState(genesis) };
/** Digests of the originals the base state accepted: a byte-identical copy of one is a replay. */
export const appliedDigests = new Set<string>();
for (const entry of originals.slice(0, appliedCount)) {
  if (apply(fuzzBase.state, entry).accepted)
    appliedDigests.add(digestOf(entry.transaction.publicKey, entry.transaction.message));
}
export const baseLogTimeMs = fuzzBase.state.logTimeMs;
export const baseEncoding = encodeState(fuzzBase.state);
export const baseStateHash = stateHashHex(fuzzBase.state);

export function restoreBaseState(): void {
  fuzzBase.state = decodeState(baseEncoding);
}

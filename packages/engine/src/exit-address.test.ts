import { describe, expect, it } from 'vitest';
import { signerFromByte } from '../test/random-log.js';
import { execute } from './apply.js';
import { bytesToLowerHex, type Attestation } from './attestation.js';
import { exitAddressText, parseExitAddress } from './exit-address.js';
import { parseInstruction } from './instruction.js';
import {
  accountCommitment,
  encodeSums,
  exitLeafHash,
  leafHash,
  nodeHash,
  verifyInclusionProof,
} from './inclusion-proof.js';
import { attestationFieldsOf, LiabilitiesTree, signAttestation } from './liabilities-tree.js';
import { listAsset } from './listing.js';
import { isRejection } from './result-codes.js';
import { parseSigningString } from './signing-string.js';
import { decodeState, encodeState, stateHashHex } from './state-codec.js';
import { addAccount, createState, type ExchangeState } from './state.js';

const operator = signerFromByte(200);
const alice = signerFromByte(11);
const bob = signerFromByte(12);
const aliceAddress = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';

function parsed(text: string) {
  const signing = parseSigningString(new TextEncoder().encode(`${text}&timestamp=1&window=5000`));
  if (!signing.ok) throw new Error(signing.message);
  return parseInstruction(signing.value.groups);
}

/** The fee account, alice and bob; alice holds SOL and USDC, bob USDC. */
function smallState(): ExchangeState {
  const state = createState({
    exchangeName: 'exit',
    operatorKeys: [operator.accountId],
    feeAccount: signerFromByte(10).accountId,
  });
  for (const [symbol, decimals] of [
    ['SOL', 9],
    ['USDC', 6],
  ] as const) {
    if (isRejection(listAsset(state, { kind: 'assetList', symbol, decimals }))) throw new Error('listing');
  }
  const [sol, usdc] = state.assets as [(typeof state.assets)[0], (typeof state.assets)[0]];
  const first = addAccount(state, alice.accountId, new Uint8Array(64).fill(0xaa));
  const second = addAccount(state, bob.accountId, new Uint8Array(64).fill(0xbb));
  first.balance(sol).available = 1_000n;
  first.balance(usdc).available = 70n;
  second.balance(usdc).available = 5n;
  sol.depositedUnits = 1_000n;
  usdc.depositedUnits = 75n;
  return state;
}

function link(state: ExchangeState, signer: string, address: string) {
  const outcome = execute(state, signer, { kind: 'exitAddressLink', address }, 10);
  if (!outcome.accepted) return outcome.rejection;
  const result = outcome.results[0]!;
  return result.ok ? result.value : result.rejection;
}

describe('exitAddressLink', () => {
  it('parses only a canonical, non-zero address', () => {
    expect(parsed(`instruction=exitAddressLink&address=${aliceAddress}`)).toEqual({
      ok: true,
      instruction: { kind: 'exitAddressLink', address: aliceAddress },
    });
    for (const bad of [
      aliceAddress.toUpperCase(),
      '0x70997970C51812dc3a010c7d01b50e0d17dc79c8',
      '0x1234',
      `0x${'0'.repeat(40)}`,
    ]) {
      expect(parsed(`instruction=exitAddressLink&address=${bad}`).ok, bad).toBe(false);
    }
    expect(parsed('instruction=exitAddressLink').ok).toBe(false);
    expect(exitAddressText(parseExitAddress(aliceAddress)!)).toBe(aliceAddress);
  });

  it('links once, for an existing account only, and the state encoding carries it', () => {
    const state = smallState();
    const before = stateHashHex(state);
    expect(link(state, signerFromByte(99).accountId, aliceAddress)).toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
    expect(stateHashHex(state)).toBe(before);
    expect(link(state, alice.accountId, aliceAddress)).toEqual({
      kind: 'exitAddressLinked',
      account: alice.accountId,
      exitAddress: aliceAddress,
    });
    expect(stateHashHex(state)).not.toBe(before);
    expect(link(state, alice.accountId, '0x' + '1'.repeat(40))).toMatchObject({ code: 'INVALID_CLIENT_REQUEST' });
    const decoded = decodeState(encodeState(state));
    expect(decoded.accounts.get(alice.accountId)!.exitAddress).toEqual(parseExitAddress(aliceAddress));
    expect(decoded.accounts.get(bob.accountId)!.exitAddress).toBeUndefined();
    expect(stateHashHex(decoded)).toBe(stateHashHex(state));
    // The address is the last field of the account's piece: flag byte 1 and 20 bytes; another flag is refused.
    const encoding = encodeState(state);
    const address = parseExitAddress(aliceAddress)!;
    const at = Buffer.from(encoding).indexOf(Buffer.from([1, ...address]));
    expect(at).toBeGreaterThan(0);
    const badFlag = encoding.slice();
    badFlag[at] = 2;
    expect(() => decodeState(badFlag)).toThrow(/neither 0 nor 1/);
    const zeroAddress = encoding.slice();
    zeroAddress.fill(0, at + 1, at + 21);
    expect(() => decodeState(zeroAddress)).toThrow(/zero exit address/);
  });
});

describe('exit leaves', () => {
  it('golden vector: the tree of a fixed state with one exit leaf has a pinned root', () => {
    const state = smallState();
    link(state, alice.accountId, aliceAddress);
    const tree = LiabilitiesTree.build(state);
    // Recomputed here from the specification with the browser-safe functions.
    const sums = (...pairs: bigint[]) =>
      encodeSums([
        { claim: pairs[0]!, debt: 0n },
        { claim: pairs[1]!, debt: 0n },
      ]);
    const [fee, first, second] = state.accountList.map((account) =>
      accountCommitment(Buffer.from(account.id, 'base64'), account.salt),
    );
    const leaves = [
      leafHash(fee!, sums(0n, 0n)),
      exitLeafHash(first!, parseExitAddress(aliceAddress)!, sums(1_000n, 70n)),
      leafHash(second!, sums(0n, 5n)),
    ];
    const left = nodeHash(leaves[0]!, sums(0n, 0n), leaves[1]!, sums(1_000n, 70n));
    const right = nodeHash(leaves[2]!, sums(0n, 5n), new Uint8Array(32), sums(0n, 0n));
    const root = nodeHash(left, sums(1_000n, 70n), right, sums(0n, 5n));
    expect(bytesToLowerHex(tree.root().hash)).toBe(bytesToLowerHex(root));
    expect(bytesToLowerHex(root)).toBe('7689b5a0381d6f2f29440a0ecc3b8b328ba85608ee98f8f0b1cc7eb265960510');
  });

  it('proofs carry the exit address and verify; without it or with another they fail', () => {
    const state = smallState();
    const tree = LiabilitiesTree.build(state, { version: 1 });
    const attest = (sequence: number): Attestation =>
      signAttestation(
        attestationFieldsOf(state, tree.root(), sequence, new Uint8Array(32), new Uint8Array(32)),
        operator.seed,
      );
    const first = attest(1);
    link(state, alice.accountId, aliceAddress);
    tree.update(state, 2);
    const second = attest(2);
    const proof = tree.inclusionProof(second, alice.accountId)!;
    expect(proof.exitAddress).toBe(aliceAddress);
    expect(verifyInclusionProof(proof, [operator.accountId])).toMatchObject({ ok: true, exitAddress: aliceAddress });
    const { exitAddress: _dropped, ...without } = proof;
    expect(verifyInclusionProof(without, [operator.accountId]).ok).toBe(false);
    expect(verifyInclusionProof({ ...proof, exitAddress: '0x' + '2'.repeat(40) }, [operator.accountId]).ok).toBe(false);
    // At the version before the link the leaf was plain: the proof names no address.
    const body = tree.proofPathAt(1, alice.accountId)!;
    expect(body.exitAddress).toBeUndefined();
    expect(tree.proofPathAt(2, alice.accountId)!.exitAddress).toEqual(parseExitAddress(aliceAddress));
    expect(first.liabilitiesRoot).not.toBe(second.liabilitiesRoot);
  });
});

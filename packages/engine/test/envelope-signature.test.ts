/**
 * Cross-type signatures: a signature made for one message (an order, a cancel,
 * a withdrawal, an operator instruction, an attestation) is never accepted for
 * another, applied to the envelope fuzzer's base state (envelope-base.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apply, type SignedTransaction } from '../src/apply.js';
import { signMessage } from '../src/signature.js';
import { encodeSigningString } from '../src/signing-string.js';
import { stateHashHex } from '../src/state-codec.js';
import type { Signer } from './random-log.js';
import {
  operator,
  traders,
  appliedCount,
  fuzzBase,
  baseLogTimeMs,
  baseStateHash,
  restoreBaseState,
} from './envelope-base.js';
import { utf8Encoder, attestationTag } from './envelope-mutations.js';

describe('a signature made for one message is never accepted for another', () => {
  const trader = traders[0]!;
  const timestampMs = baseLogTimeMs + 1;
  const trade = (instruction: string, params: Record<string, string>, percentEncode = false): string =>
    encodeSigningString([{ instruction, params: Object.entries(params) }], timestampMs, 5_000, { percentEncode });
  const messages: Array<{ name: string; signer: Signer; text: string }> = [
    {
      name: 'orderExecute',
      signer: trader,
      text: trade('orderExecute', { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '99', quantity: '1' }),
    },
    {
      name: 'orderExecute, other price',
      signer: trader,
      text: trade('orderExecute', { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '98', quantity: '1' }),
    },
    {
      name: 'orderExecute batch',
      signer: trader,
      text: encodeSigningString(
        [
          {
            instruction: 'orderExecute',
            params: Object.entries({ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '99', quantity: '1' }),
          },
          {
            instruction: 'orderExecute',
            params: Object.entries({ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '97', quantity: '1' }),
          },
        ],
        timestampMs,
        5_000,
      ),
    },
    { name: 'orderCancel', signer: trader, text: trade('orderCancel', { symbol: 'SOL_USDC', orderId: '1' }) },
    { name: 'orderCancelAll', signer: trader, text: trade('orderCancelAll', { symbol: 'SOL_USDC' }) },
    {
      name: 'withdraw, raw',
      signer: trader,
      text: trade('withdraw', { symbol: 'USDC', quantity: '1', address: 'a b:c/d+e', blockchain: 'Solana' }),
    },
    {
      name: 'withdraw, percent-encoded',
      signer: trader,
      text: trade('withdraw', { symbol: 'USDC', quantity: '1', address: 'a b:c/d+e', blockchain: 'Solana' }, true),
    },
    { name: 'balanceQuery', signer: trader, text: trade('balanceQuery', {}) },
    {
      name: 'depositCredit',
      signer: operator,
      text: trade('depositCredit', {
        account: trader.accountId,
        symbol: 'USDC',
        quantity: '5',
        blockchain: 'Solana',
        chainTransactionId: 'cross-type',
      }),
    },
    {
      name: 'withdrawalFail',
      signer: operator,
      text: trade('withdrawalFail', { withdrawalId: '1', reason: 'cross-type' }),
    },
    {
      name: 'reservesStatement',
      signer: operator,
      text: trade('reservesStatement', { symbol: 'USDC', quantity: '1' }),
    },
    { name: 'assetList', signer: operator, text: trade('assetList', { symbol: 'ETH', decimals: '18' }) },
  ];
  const signedMessages = messages.map(({ name, signer, text }) => {
    const message = utf8Encoder.encode(text);
    return { name, signer, message, signature: signMessage(signer.seed, message) };
  });

  function applyToBase(transaction: SignedTransaction): { code: string | undefined; stateHash: string } {
    restoreBaseState();
    const outcome = apply(fuzzBase.state, { logTimeMs: timestampMs, transaction });
    const result = {
      code: outcome.accepted ? undefined : outcome.rejection.code,
      stateHash: stateHashHex(fuzzBase.state),
    };
    restoreBaseState();
    return result;
  }

  it("instruction A's signature on instruction B's message (same signer) is INVALID_SIGNATURE", () => {
    let pairs = 0;
    for (const owner of signedMessages) {
      // The matching pair is not refused for its signature, so this test can tell the difference.
      expect(
        applyToBase({ message: owner.message, publicKey: owner.signer.publicKey, signature: owner.signature }).code,
        owner.name,
      ).not.toBe('INVALID_SIGNATURE');
      for (const other of signedMessages) {
        if (other === owner) continue;
        const result = applyToBase({
          message: other.message,
          publicKey: owner.signer.publicKey,
          signature: owner.signature,
        });
        expect(result.code, `${owner.name}'s signature on ${other.name}`).toBe('INVALID_SIGNATURE');
        expect(result.stateHash).toBe(baseStateHash);
        pairs += 1;
      }
    }
    expect(pairs).toBe(signedMessages.length * (signedMessages.length - 1));
  });

  it('an attestation signed by the operator key is never a transaction', () => {
    // The attestation message of docs/attestation.md, field by field, for the base state.
    const u64 = (value: number): Uint8Array => {
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(BigInt(value));
      return bytes;
    };
    const u128 = (value: bigint): Uint8Array => Buffer.from(value.toString(16).padStart(32, '0'), 'hex');
    const assets = ['SOL', 'BTC', 'USDC'].map((asset) =>
      Buffer.concat([Buffer.from([asset.length]), Buffer.from(asset), u128(10n ** 12n), u128(0n), u128(10n ** 12n)]),
    );
    const digest = (label: string): Uint8Array => createHash('sha256').update(label).digest();
    const attestation = Buffer.concat([
      attestationTag,
      u64(appliedCount),
      u64(baseLogTimeMs),
      digest('genesis'),
      digest('head'),
      Buffer.from(baseStateHash, 'hex'),
      digest('liabilities'),
      u64(7),
      Buffer.from([0, 0, 0, 3]),
      ...assets,
    ]);
    expect(attestation.subarray(0, 20).toString('latin1')).toBe('vex/attestation/v1\0\n');
    const attestationSignature = signMessage(operator.seed, attestation);
    const asTransaction = applyToBase({
      message: attestation,
      publicKey: operator.publicKey,
      signature: attestationSignature,
    });
    expect(asTransaction.code).toBe('INVALID_CLIENT_REQUEST');
    expect(asTransaction.stateHash).toBe(baseStateHash);
    // Nor is the tag in front of a real operator signing string, signed as a whole.
    const deposit = signedMessages.find((signedMessage) => signedMessage.name === 'depositCredit')!;
    const tagged = Buffer.concat([attestationTag, deposit.message]);
    expect(
      applyToBase({ message: tagged, publicKey: operator.publicKey, signature: signMessage(operator.seed, tagged) })
        .code,
    ).toBe('INVALID_CLIENT_REQUEST');
    // And the attestation's signature is not a transaction's: on the deposit message it is refused.
    expect(
      applyToBase({ message: deposit.message, publicKey: operator.publicKey, signature: attestationSignature }).code,
    ).toBe('INVALID_SIGNATURE');
    // The deposit itself, with its own signature, is accepted: the refusals above are about the bytes.
    expect(
      applyToBase({ message: deposit.message, publicKey: operator.publicKey, signature: deposit.signature }).code,
    ).toBeUndefined();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signedEntry, signerFromByte } from '../test/random-log.js';
import { apply } from './apply.js';
import {
  AttestationFormatError,
  attestationMessage,
  bytesToBase64,
  bytesToLowerHex,
  canonicalBase64ToBytes,
  encodeAttestationJson,
  lowerHexToBytes,
  parseAttestation,
  parseUint128Decimal,
  shortAssets,
  verifyAttestationSignature,
  verifyWithNobleStrict,
  assembleAttestation,
  type Attestation,
  type AttestationFields,
} from './attestation.js';
import { signAttestation } from './liabilities-tree.js';
import { signMessage, verifySignature } from './signature.js';
import { parseSigningString } from './signing-string.js';
import { createState } from './state.js';

const engineRule = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verifySignature(publicKey, message, signature) === 'valid';

const operator = signerFromByte(200);
const otherOperator = signerFromByte(201);

const fields: AttestationFields = {
  sequence: 1234,
  logTimeMs: 1_750_000_000_000,
  genesisHash: '11'.repeat(32),
  headHash: '22'.repeat(32),
  stateHash: '33'.repeat(32),
  liabilitiesRoot: '44'.repeat(32),
  accountCount: 42,
  assets: [
    { symbol: 'SOL', claims: '1000000000', debts: '0', reserves: '1000000000', stressShortfall: '200000000' },
    { symbol: 'USDC', claims: (1n << 100n).toString(), debts: '5', reserves: '0', stressShortfall: '0' },
  ],
};

/** A JSON copy that tests may mutate freely. */
function jsonCopy<T>(value: T): any {
  return JSON.parse(JSON.stringify(value));
}

describe('attestationMessage', () => {
  it('is byte-exact to the table of docs/attestation.md (golden vector)', () => {
    // Written out field by field from the specification, not from the code. Version 2 (the stress shortfalls).
    const expected = [
      '7665782f6174746573746174696f6e2f7632', // "vex/attestation/v2"
      '000a', // 0x00, 0x0A
      '00000000000004d2', // sequence 1234, u64
      '000001977420dc00', // logTimeMs 1750000000000, u64
      '11'.repeat(32), // genesisHash
      '22'.repeat(32), // headHash
      '33'.repeat(32), // stateHash
      '44'.repeat(32), // liabilitiesRoot
      '000000000000002a', // accountCount 42, u64
      '00000002', // assetCount, u32
      '03',
      '534f4c', // "SOL"
      '0000000000000000000000003b9aca00', // claims 10^9, u128
      '00000000000000000000000000000000', // debts 0
      '0000000000000000000000003b9aca00', // reserves 10^9
      '0000000000000000000000000bebc200', // stressShortfall 2 × 10^8 (settlement units)
      '04',
      '55534443', // "USDC"
      '00000010000000000000000000000000', // claims 2^100
      '00000000000000000000000000000005', // debts 5
      '00000000000000000000000000000000', // reserves 0
      '00000000000000000000000000000000', // stressShortfall 0
    ].join('');
    expect(bytesToLowerHex(attestationMessage(fields))).toBe(expected);
  });

  it('starts with the 20-byte tag, which no signing string can start with', () => {
    const message = attestationMessage(fields);
    expect(new TextDecoder().decode(message.subarray(0, 18))).toBe('vex/attestation/v2');
    expect([...message.subarray(18, 20)]).toEqual([0x00, 0x0a]);
    expect(parseSigningString(message).ok).toBe(false);
  });

  it('refuses to encode fields a verifier would refuse', () => {
    const bad: Array<Partial<Record<keyof AttestationFields, unknown>>> = [
      { sequence: 0 },
      { logTimeMs: -1 },
      { accountCount: 0 },
      { headHash: 'AA'.repeat(32) },
      { assets: [{ symbol: 'SOL', claims: '-1', debts: '0', reserves: '0', stressShortfall: '0' }] },
      { assets: [{ symbol: 'SOL', claims: (1n << 128n).toString(), debts: '0', reserves: '0', stressShortfall: '0' }] },
      { assets: [{ symbol: 'SOL', claims: '0', debts: '0', reserves: '0', stressShortfall: '-1' }] },
      { assets: [{ symbol: 'SOL', claims: '0', debts: '0', reserves: '0' }] },
    ];
    for (const change of bad) {
      expect(() => attestationMessage({ ...fields, ...change } as AttestationFields)).toThrow(AttestationFormatError);
    }
  });
});

describe('parseAttestation and encodeAttestationJson', () => {
  const signed = signAttestation(fields, operator.seed);

  it('round-trips through the canonical JSON text', () => {
    const text = encodeAttestationJson(signed);
    expect(text.startsWith('{"version":2,"sequence":1234,"logTimeMs":1750000000000,"genesisHash":"1111')).toBe(true);
    expect(text).not.toMatch(/\s/);
    const parsed = parseAttestation(JSON.parse(text));
    expect(parsed).toEqual(signed);
    expect(encodeAttestationJson(parsed)).toBe(text);
  });

  it('ignores members it does not know and puts members in the specification order', () => {
    const text = encodeAttestationJson(signed);
    const shuffled = { short: ['USDC'], signature: signed.signature, ...jsonCopy(signed), extra: { nested: true } };
    const parsed = parseAttestation(shuffled);
    expect(parsed).toEqual(signed);
    expect(encodeAttestationJson(parsed)).toBe(text);
    expect(encodeAttestationJson({ ...signed, short: ['USDC'] } as Attestation)).toBe(text);
    expect(Object.keys(parsed)).toEqual([
      'version',
      'sequence',
      'logTimeMs',
      'genesisHash',
      'headHash',
      'stateHash',
      'liabilitiesRoot',
      'accountCount',
      'assets',
      'operatorKey',
      'signature',
    ]);
  });

  it('refuses every malformed field with a message naming it', () => {
    const cases: Array<[string, (value: any) => void]> = [
      ['version', (value) => (value.version = 1)],
      ['version', (value) => (value.version = 3)],
      ['version', (value) => delete value.version],
      ['sequence', (value) => (value.sequence = 0)],
      ['sequence', (value) => (value.sequence = 1.5)],
      ['sequence', (value) => (value.sequence = '1234')],
      ['sequence', (value) => (value.sequence = 2 ** 53)],
      ['logTimeMs', (value) => (value.logTimeMs = -1)],
      ['genesisHash', (value) => (value.genesisHash = 'AB'.repeat(32))],
      ['headHash', (value) => (value.headHash = '22'.repeat(31))],
      ['stateHash', (value) => delete value.stateHash],
      ['liabilitiesRoot', (value) => (value.liabilitiesRoot = `${'44'.repeat(31)}4g`)],
      ['accountCount', (value) => (value.accountCount = 0)],
      ['assets', (value) => (value.assets = {})],
      ['assets[0]', (value) => (value.assets[0] = 'SOL')],
      ['assets[0].symbol', (value) => (value.assets[0].symbol = 'sol')],
      ['assets[0].symbol', (value) => (value.assets[0].symbol = '')],
      ['assets[1].symbol', (value) => (value.assets[1].symbol = 'SOL')],
      ['assets[0].claims', (value) => (value.assets[0].claims = '-1')],
      ['assets[0].claims', (value) => (value.assets[0].claims = '01')],
      ['assets[0].claims', (value) => (value.assets[0].claims = '1e9')],
      ['assets[0].claims', (value) => (value.assets[0].claims = 1000000000)],
      ['assets[0].debts', (value) => (value.assets[0].debts = (1n << 128n).toString())],
      ['assets[0].reserves', (value) => (value.assets[0].reserves = ' 1')],
      ['assets[0].stressShortfall', (value) => delete value.assets[0].stressShortfall],
      ['assets[1].stressShortfall', (value) => (value.assets[1].stressShortfall = '-200')],
      ['operatorKey', (value) => (value.operatorKey = value.operatorKey.slice(0, -1))],
      ['operatorKey', (value) => (value.operatorKey = bytesToBase64(new Uint8Array(33)))],
      ['signature', (value) => (value.signature = bytesToBase64(new Uint8Array(63)))],
    ];
    expect(() => parseAttestation(jsonCopy(signed))).not.toThrow();
    for (const [field, mutate] of cases) {
      const value = jsonCopy(signed);
      mutate(value);
      expect(() => parseAttestation(value), field).toThrow(AttestationFormatError);
      expect(() => parseAttestation(value), field).toThrow(field);
    }
    for (const notAnObject of [null, undefined, 7, 'text', [], [signed]]) {
      expect(() => parseAttestation(notAnObject)).toThrow(AttestationFormatError);
    }
  });

  it('throws nothing but AttestationFormatError, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          parseAttestation(value);
        } catch (error) {
          expect(error).toBeInstanceOf(AttestationFormatError);
        }
      }),
    );
  });
});

describe('verifyAttestationSignature', () => {
  const signed = signAttestation(fields, operator.seed);
  const trusted = [otherOperator.accountId, operator.accountId];

  it('accepts the operator signature under both the engine rule and noble strict', () => {
    expect(signed.operatorKey).toBe(operator.accountId);
    expect(verifyAttestationSignature(signed, trusted, engineRule)).toBe(true);
    expect(verifyAttestationSignature(signed, trusted)).toBe(true);
  });

  it('refuses a key that is not trusted, even with a valid signature', () => {
    expect(verifyAttestationSignature(signed, [otherOperator.accountId], engineRule)).toBe(false);
    expect(verifyAttestationSignature(signed, [], engineRule)).toBe(false);
  });

  it('refuses any change to a signed field, the key or the signature', () => {
    const changes: Array<(value: any) => void> = [
      (value) => (value.sequence += 1),
      (value) => (value.logTimeMs += 1),
      (value) => (value.genesisHash = '12' + value.genesisHash.slice(2)),
      (value) => (value.headHash = '23' + value.headHash.slice(2)),
      (value) => (value.stateHash = '34' + value.stateHash.slice(2)),
      (value) => (value.liabilitiesRoot = '45' + value.liabilitiesRoot.slice(2)),
      (value) => (value.accountCount += 1),
      (value) => (value.assets[0].symbol = 'SOLA'),
      (value) => (value.assets[0].claims = '999999999'),
      (value) => (value.assets[1].debts = '4'),
      (value) => (value.assets[1].reserves = '1'),
      (value) => (value.assets[0].stressShortfall = '199999999'),
      (value) => (value.assets[1].stressShortfall = '1'),
      (value) => value.assets.pop(),
      (value) => value.assets.reverse(),
      (value) => (value.operatorKey = otherOperator.accountId),
      (value) => {
        const signature = canonicalBase64ToBytes(value.signature, 64)!;
        signature[5] = signature[5]! ^ 1;
        value.signature = bytesToBase64(signature);
      },
    ];
    for (const [index, change] of changes.entries()) {
      const value = jsonCopy(signed);
      change(value);
      expect(verifyAttestationSignature(value, trusted, engineRule), `change ${index}`).toBe(false);
      expect(verifyAttestationSignature(value, trusted), `change ${index}`).toBe(false);
    }
  });

  it('never throws, even for objects that are not attestations', () => {
    expect(verifyAttestationSignature({ ...signed, signature: '***' }, trusted)).toBe(false);
    expect(
      verifyAttestationSignature(
        { ...signed, assets: [{ symbol: 'X', claims: '-1', debts: '0', reserves: '0', stressShortfall: '0' }] },
        trusted,
      ),
    ).toBe(false);
    expect(verifyAttestationSignature({} as Attestation, trusted)).toBe(false);
  });
});

describe('signatures do not cross between attestations and transactions', () => {
  it("a trader's or operator's signing-string signature is not an attestation signature", () => {
    const entry = signedEntry(operator, 'reservesStatement', { quantity: '5', symbol: 'SOL' }, 1_800_000_000_000);
    expect(engineRule(entry.transaction.publicKey, entry.transaction.message, entry.transaction.signature)).toBe(true);
    const forged = assembleAttestation(fields, operator.accountId, bytesToBase64(entry.transaction.signature));
    expect(verifyAttestationSignature(forged, [operator.accountId], engineRule)).toBe(false);
    expect(verifyAttestationSignature(forged, [operator.accountId])).toBe(false);
  });

  it('an attestation signature is not a valid transaction', () => {
    const message = attestationMessage(fields);
    const signature = signMessage(operator.seed, message);
    const state = createState({
      exchangeName: 'cross',
      operatorKeys: [operator.accountId],
      feeAccount: operator.accountId,
    });
    // The signature itself is valid; the engine refuses the message, which is not a signing string.
    expect(engineRule(operator.publicKey, message, signature)).toBe(true);
    const outcome = apply(state, {
      logTimeMs: 1_750_000_000_000,
      transaction: { message, publicKey: operator.publicKey, signature },
    });
    expect(outcome.accepted).toBe(false);
    if (!outcome.accepted) expect(outcome.rejection.code).not.toBe('INVALID_SIGNATURE');
  });
});

describe('shortAssets', () => {
  it('lists exactly the assets whose claims − debts exceed the reserves', () => {
    const asset = (symbol: string, claims: bigint, debts: bigint, reserves: bigint) => ({
      symbol,
      claims: claims.toString(),
      debts: debts.toString(),
      reserves: reserves.toString(),
      stressShortfall: '0',
    });
    const stated: AttestationFields = {
      ...fields,
      assets: [
        asset('COVERED', 10n, 0n, 10n),
        asset('SHORT', 11n, 0n, 10n),
        asset('NETTED', 12n, 2n, 10n),
        asset('HUGE', 1n << 127n, 0n, (1n << 127n) - 1n),
      ],
    };
    expect(shortAssets(stated)).toEqual(['SHORT', 'HUGE']);
    expect(shortAssets(fields)).toEqual(['USDC']);
  });
});

describe('byte codecs', () => {
  it('hex and base64 agree with Node and refuse non-canonical text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70 }), (bytes) => {
        const hex = bytesToLowerHex(bytes);
        const base64 = bytesToBase64(bytes);
        expect(hex).toBe(Buffer.from(bytes).toString('hex'));
        expect(base64).toBe(Buffer.from(bytes).toString('base64'));
        expect(lowerHexToBytes(hex, bytes.length)).toEqual(bytes);
        expect(canonicalBase64ToBytes(base64, bytes.length)).toEqual(bytes);
        expect(canonicalBase64ToBytes(base64, bytes.length + 1)).toBeUndefined();
      }),
    );
    const key = operator.accountId;
    // The last character of a 32-byte key carries two unused bits; setting one is another text for the same bytes.
    const nonCanonical = key.slice(0, 42) + String.fromCharCode(key.charCodeAt(42) + 1) + '=';
    expect(Buffer.from(nonCanonical, 'base64')).toEqual(Buffer.from(key, 'base64'));
    expect(canonicalBase64ToBytes(nonCanonical, 32)).toBeUndefined();
    expect(canonicalBase64ToBytes(key.slice(0, 43), 32)).toBeUndefined();
    expect(lowerHexToBytes('AB', 1)).toBeUndefined();
  });

  it('parseUint128Decimal takes canonical decimals below 2^128 only', () => {
    expect(parseUint128Decimal('0')).toBe(0n);
    expect(parseUint128Decimal(((1n << 128n) - 1n).toString())).toBe((1n << 128n) - 1n);
    for (const bad of [(1n << 128n).toString(), '-1', '-0', '00', '+1', '1.0', '1e3', '0x10', '', ' 1', 1, 1n, null]) {
      expect(parseUint128Decimal(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('noble strict verification', () => {
  it('agrees with the engine rule on valid signatures and on tampered ones', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat({ max: 63 }), (message, flipped) => {
        const signature = signMessage(operator.seed, message);
        expect(verifyWithNobleStrict(operator.publicKey, message, signature)).toBe(true);
        signature[flipped] = signature[flipped]! ^ 0x40;
        expect(verifyWithNobleStrict(operator.publicKey, message, signature)).toBe(
          engineRule(operator.publicKey, message, signature),
        );
      }),
      { numRuns: 30 },
    );
  });
});

/**
 * The attestation's hot-path rewrites give exactly the bytes of the plain
 * code they replace (docs/benchmarks.md, "Attestations"): latin1 text
 * without a Buffer, account keys decoded in place, and the operator's
 * signature by node:crypto.
 */
import { describe, expect, it } from 'vitest';
import { ByteWriter } from './byte-codec.js';
import { publicKeyOfOperatorSeed, signWithOperatorSeed } from './operator-signing.js';
import { publicKeyFromSeed, signMessage } from './signature.js';
import { encodeOrder, encodeRememberedMessage } from './state-codec.js';
import type { Order } from './state.js';

/** Shortest-form LEB128 by BigInt arithmetic alone: the definition. */
function referenceVarint(value: bigint): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7fn) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return bytes;
}

function written(write: (writer: ByteWriter) => void): number[] {
  const writer = new ByteWriter();
  write(writer);
  return [...writer.written()];
}

describe('attestation hot paths', () => {
  it('writes every varint as BigInt arithmetic would, around 2^32 and 2^53 and beyond', () => {
    const values: bigint[] = [0n, 1n, 127n, 128n, 0xffff_ffffn, 0x1_0000_0000n, 1_800_000_000_000n, 10n ** 15n];
    for (let bits = 28n; bits <= 70n; bits += 1n) values.push((1n << bits) - 1n, 1n << bits, (1n << bits) + 1n);
    let seed = 12345n;
    for (let count = 0; count < 2000; count += 1) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
      values.push(seed >> (seed & 63n), seed & ((1n << 53n) - 1n));
    }
    for (const value of values) {
      const expected = referenceVarint(value);
      expect(written((writer) => writer.unsigned(value))).toEqual(expected);
      if (value <= BigInt(Number.MAX_SAFE_INTEGER)) {
        expect(written((writer) => writer.unsigned(Number(value)))).toEqual(expected);
      }
    }
  });

  it('writes a string as its UTF-8 length and bytes, ASCII or not, short or long', () => {
    const strings = ['', 'a', 'Solana:fund-1796700623492-0-USDC', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(300)];
    // Non-ASCII: under 128 characters but 128 or more UTF-8 bytes, surrogate pairs, one late character.
    strings.push('é'.repeat(100), '€'.repeat(50), '😀'.repeat(20), `${'a'.repeat(126)}é`, `é${'a'.repeat(126)}`);
    for (const text of strings) {
      const encoded = [...Buffer.from(text, 'utf8')];
      expect(written((writer) => writer.string(text))).toEqual([
        ...referenceVarint(BigInt(encoded.length)),
        ...encoded,
      ]);
      // After other bytes, so that the string does not start at the buffer's first byte.
      const afterAByte = written((writer) => {
        writer.byte(9);
        writer.string(text);
      });
      expect(afterAByte.slice(1)).toEqual(written((writer) => writer.string(text)));
    }
  });

  it('writes a remembered message digest as Buffer.from(digest, latin1) does', () => {
    const digest = String.fromCharCode(...Array.from({ length: 32 }, (_, index) => (index * 37 + 200) % 256));
    const expected = [...Buffer.from(digest, 'latin1'), ...referenceVarint(1_800_000_000_123n)];
    expect(written((writer) => encodeRememberedMessage(writer, digest, 1_800_000_000_123))).toEqual(expected);
    // The digest's bytes, as the state encoding reads them from the ring, give the same bytes.
    const digestBytes = new Uint8Array(Buffer.from(digest, 'latin1'));
    expect(written((writer) => encodeRememberedMessage(writer, digestBytes, 1_800_000_000_123))).toEqual(expected);
    for (const acceptedAtMs of [0, 127, 128, 0xffff_ffff, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const bytes = [...digestBytes, ...referenceVarint(BigInt(acceptedAtMs))];
      expect(written((writer) => encodeRememberedMessage(writer, digestBytes, acceptedAtMs))).toEqual(bytes);
    }
    expect(() => written((writer) => encodeRememberedMessage(writer, digestBytes, -1))).toThrow(RangeError);
  });

  it("writes an order's account key as its base64 decodes, and refuses a non-canonical one", () => {
    const order = {
      id: 7,
      account: { id: '' },
      market: { index: 0 },
      side: 'Bid',
      priceTicks: 1,
      quantitySteps: 1n,
      executedSteps: 0n,
      executedQuoteUnits: 0n,
      timeInForce: 'GTC',
      postOnly: false,
      reduceOnly: false,
      selfTradePrevention: 'RejectTaker',
      clientId: undefined,
      createdAtMs: 1,
      triggerPriceTicks: undefined,
      status: 'New',
    } as unknown as Order & { account: { id: string } };
    for (let fill = 0; fill < 256; fill += 1) {
      const key = Buffer.alloc(32, fill);
      key[0] = 255 - fill;
      key[31] = (fill * 7) & 0xff;
      order.account.id = key.toString('base64');
      const bytes = written((writer) => encodeOrder(writer, order));
      expect(Buffer.from(bytes.slice(1, 33)).equals(key)).toBe(true);
    }
    for (const bad of ['AAAA', `${'A'.repeat(42)}B=`, `${'A'.repeat(42)}-=`, `${'A'.repeat(43)}A`]) {
      order.account.id = bad;
      expect(() => written((writer) => encodeOrder(writer, order))).toThrow(/not a canonical base64 32-byte key/);
    }
  });

  it("signs as signMessage does and derives publicKeyFromSeed's key, seed after seed", () => {
    for (let fill = 0; fill < 6; fill += 1) {
      const seed = new Uint8Array(32).fill(fill * 41);
      seed[0] = fill;
      for (const message of [new Uint8Array(0), new TextEncoder().encode(`attestation ${fill}`)]) {
        expect(Buffer.from(signWithOperatorSeed(seed, message))).toEqual(Buffer.from(signMessage(seed, message)));
      }
      expect(Buffer.from(publicKeyOfOperatorSeed(seed))).toEqual(Buffer.from(publicKeyFromSeed(seed)));
      // The cached keys follow the seed's bytes, not the array holding them.
      seed[1] = (seed[1] as number) ^ 1;
      expect(Buffer.from(publicKeyOfOperatorSeed(seed))).toEqual(Buffer.from(publicKeyFromSeed(seed)));
    }
    expect(() => signWithOperatorSeed(new Uint8Array(31), new Uint8Array(1))).toThrow(RangeError);
  });
});

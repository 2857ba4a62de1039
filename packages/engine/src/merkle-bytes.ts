/**
 * Byte helpers for the two Merkle trees' hot loops (liabilities-tree.ts,
 * state-commitment.ts), which run a few tens of thousands of times per
 * attestation. Buffer.copy and Buffer.write of a short range each go through
 * a generic path (a new typed-array view per copy, a call into C++ per
 * write) that costs more than the bytes they move; these plain loops are
 * optimised inline and allocate nothing.
 */

/** target[targetOffset…] = source[sourceStart…sourceEnd), for short ranges. */
export function copyBytes(
  target: Uint8Array,
  targetOffset: number,
  source: Uint8Array,
  sourceStart: number,
  sourceEnd: number,
): void {
  const shift = targetOffset - sourceStart;
  for (let index = sourceStart; index < sourceEnd; index += 1) target[index + shift] = source[index]!;
}

/**
 * target[targetOffset…] = source[sourceStart…sourceEnd) four bytes at a
 * time, for ranges whose length is a multiple of 4 (hashes and u128 sums):
 * a quarter of copyBytes' loads and stores, at any alignment.
 */
export function copyWords(
  target: DataView,
  targetOffset: number,
  source: DataView,
  sourceStart: number,
  sourceEnd: number,
): void {
  const shift = targetOffset - sourceStart;
  for (let index = sourceStart; index < sourceEnd; index += 4) target.setUint32(index + shift, source.getUint32(index));
}

/** A DataView over all of `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Writes a 32-byte digest taken as a 'binary' (latin1) string at `offset`:
 * each character is one byte, 0–255.
 */
export function writeBinaryDigest(target: Uint8Array, offset: number, digest: string): void {
  for (let index = 0; index < 32; index += 1) target[offset + index] = digest.charCodeAt(index);
}

function ascending(left: number, right: number): number {
  return left - right;
}

/** The indexes (non-negative integers below 2^32) sorted ascending without repeats, as a new array. */
export function sortedUniqueIndexes(indexes: readonly number[]): number[] {
  const sorted = Uint32Array.from(indexes).sort(ascending);
  const unique: number[] = [];
  for (let index = 0; index < sorted.length; index += 1) {
    const value = sorted[index]!;
    if (unique.length === 0 || unique[unique.length - 1] !== value) unique.push(value);
  }
  return unique;
}

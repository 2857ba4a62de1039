/**
 * The one hex encoder: bytes to lowercase hexadecimal, two digits a byte.
 * Browser-safe (no Buffer), so the verifier, the SDK and the Node packages
 * all print hashes and keys the same way. Its partner for hashing on Node is
 * `sha256` in log-format.ts; the browser-safe code hashes with @noble/hashes.
 */
const byteToHex: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function bytesToLowerHex(bytes: Uint8Array): string {
  let text = '';
  for (let index = 0; index < bytes.length; index += 1) text += byteToHex[bytes[index]!]!;
  return text;
}

/**
 * An exit address as text and bytes (docs/custody.md): browser-safe, with no
 * engine state, so inclusion proofs (@vex/engine/verify) can read it.
 */
export const exitAddressLengthBytes = 20;

/** The address bytes of canonical text: `0x` and 40 lower-case hex digits, not all zero; undefined otherwise. */
export function parseExitAddress(text: string): Uint8Array | undefined {
  if (!/^0x[0-9a-f]{40}$/.test(text)) return undefined;
  const bytes = new Uint8Array(exitAddressLengthBytes);
  for (let index = 0; index < exitAddressLengthBytes; index += 1) {
    bytes[index] = Number.parseInt(text.slice(2 + 2 * index, 4 + 2 * index), 16);
  }
  return bytes.some((byte) => byte !== 0) ? bytes : undefined;
}

export function exitAddressText(bytes: Uint8Array): string {
  let text = '0x';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}

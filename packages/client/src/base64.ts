/**
 * Standard base64 (RFC 4648 §4, with `=` padding) for Uint8Array, without
 * Buffer or atob/btoa, so the SDK runs unchanged in browsers and in Node.
 *
 * Decoding is strict: only the canonical encoding of some byte string is
 * accepted (right length, right padding, unused bits zero). Keys and
 * signatures therefore have exactly one text form, which is also what the
 * exchange uses as account ids.
 */
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const decodeTable = new Int16Array(128).fill(-1);
for (let index = 0; index < alphabet.length; index++) decodeTable[alphabet.charCodeAt(index)] = index;

export function encodeBase64(bytes: Uint8Array): string {
  let text = '';
  let index = 0;
  for (; index + 2 < bytes.length; index += 3) {
    const triple = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    text +=
      alphabet[triple >> 18]! + alphabet[(triple >> 12) & 63]! + alphabet[(triple >> 6) & 63]! + alphabet[triple & 63]!;
  }
  const remaining = bytes.length - index;
  if (remaining === 1) {
    const value = bytes[index]! << 16;
    text += `${alphabet[value >> 18]!}${alphabet[(value >> 12) & 63]!}==`;
  } else if (remaining === 2) {
    const value = (bytes[index]! << 16) | (bytes[index + 1]! << 8);
    text += `${alphabet[value >> 18]!}${alphabet[(value >> 12) & 63]!}${alphabet[(value >> 6) & 63]!}=`;
  }
  return text;
}

function sextet(text: string, position: number): number {
  const code = text.charCodeAt(position);
  const value = code < 128 ? decodeTable[code]! : -1;
  if (value < 0) throw new SyntaxError(`Invalid base64 character at position ${position}.`);
  return value;
}

/** Decodes canonical standard base64; throws SyntaxError on anything else. */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new SyntaxError('Base64 text must be a multiple of 4 characters long.');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  let out = 0;
  const fullQuads = padding === 0 ? text.length : text.length - 4;
  for (let position = 0; position < fullQuads; position += 4) {
    const value =
      (sextet(text, position) << 18) |
      (sextet(text, position + 1) << 12) |
      (sextet(text, position + 2) << 6) |
      sextet(text, position + 3);
    bytes[out++] = value >> 16;
    bytes[out++] = (value >> 8) & 255;
    bytes[out++] = value & 255;
  }
  if (padding === 2) {
    const first = sextet(text, fullQuads);
    const second = sextet(text, fullQuads + 1);
    if ((second & 15) !== 0) throw new SyntaxError('Base64 text is not canonical (unused bits are set).');
    bytes[out] = (first << 2) | (second >> 4);
  } else if (padding === 1) {
    const first = sextet(text, fullQuads);
    const second = sextet(text, fullQuads + 1);
    const third = sextet(text, fullQuads + 2);
    if ((third & 3) !== 0) throw new SyntaxError('Base64 text is not canonical (unused bits are set).');
    bytes[out++] = (first << 2) | (second >> 4);
    bytes[out] = ((second & 15) << 4) | (third >> 2);
  }
  return bytes;
}

/** Replays of accepted transactions: the exact bytes, equivalent JSON encodings, or through the native intake. */
import { replayCodes } from './oracle.js';
import type { SeededRandom } from './seeded-random.js';
import { type Control, type Mutated, nativePath, withBody } from './wire.js';

/** The codes a replay of `control` may get now: DUPLICATE inside its window, INVALID_TIMESTAMP outside. */
export function replayCodesFor(control: Control): readonly string[] {
  const age = Math.abs(Date.now() - control.timestampMs);
  if (age < control.windowMs - 1_000) return ['DUPLICATE_REQUEST'];
  if (age > control.windowMs + 1_000) return ['INVALID_TIMESTAMP'];
  return replayCodes;
}

/** The same signed request again: exact bytes, an equivalent JSON encoding, or through the native intake. */
export function replayOf(random: SeededRandom, control: Control): Mutated {
  const codes = replayCodesFor(control);
  if (control.spec === undefined || control.request.body === undefined || random.chance(40)) {
    if (control.spec !== undefined && random.chance(50)) {
      // The signed message of a Backpack route, through the native intake: the same transaction.
      const body = JSON.stringify({
        message: control.message,
        publicKey: control.apiKey,
        signature: control.signature,
      });
      return {
        label: 'replay:throughNativeIntake',
        request: { method: 'POST', path: nativePath, headers: [['content-type', 'application/json']], body },
        codes,
      };
    }
    return { label: 'replay:exactBytes', request: control.request, codes };
  }
  const payload = control.spec.payload;
  const text = control.request.body;
  const equivalent = random.pick<() => [string, string] | undefined>([
    () => ['keysReversed', JSON.stringify(Array.isArray(payload) ? payload.map(reverseKeys) : reverseKeys(payload))],
    () => ['whitespace', JSON.stringify(payload, null, 2)],
    () => [
      'unicodeEscapedKey',
      text.replace(
        /^(\[?\{")(.)/,
        (_match, head: string, character: string) =>
          `${head}\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
      ),
    ],
    () => {
      // JSON keeps the last of a repeated key; the last one here is the signed value.
      const first = Array.isArray(payload) ? payload[0]! : payload;
      const key = Object.keys(first)[0]!;
      const decoy = JSON.stringify(typeof first[key] === 'string' ? `${first[key] as string}9` : 7);
      return ['duplicateKeySignedValueLast', text.replace(/^(\[?\{)/, `$1${JSON.stringify(key)}:${decoy},`)];
    },
    () => {
      const first = Array.isArray(payload) ? payload[0]! : payload;
      const key = Object.keys(first).find(
        (name) =>
          typeof first[name] === 'string' &&
          /^[0-9.]+$/.test(first[name] as string) &&
          String(Number(first[name])) === first[name],
      );
      if (key === undefined) return undefined;
      return [
        'numberForString',
        text.replace(
          `${JSON.stringify(key)}:${JSON.stringify(first[key])}`,
          `${JSON.stringify(key)}:${first[key] as string}`,
        ),
      ];
    },
    () => ['contentTypeWithCharset', text],
  ])();
  if (equivalent === undefined) return { label: 'replay:exactBytes', request: control.request, codes };
  const [name, body] = equivalent;
  const contentType = name === 'contentTypeWithCharset' ? 'application/json; charset=utf-8' : 'application/json';
  return { label: `replay:${name}`, request: withBody(control.request, body, contentType), codes };
}

function reverseKeys(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).reverse());
}

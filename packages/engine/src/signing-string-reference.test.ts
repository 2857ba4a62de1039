/**
 * parseSigningString walks the text by index (signing-string.ts). This holds
 * it to the split-and-regular-expression parser it replaced, kept here as the
 * reference: on any input both must accept the same groups, timestamp and
 * window, or refuse with the same message and code (the first fault found
 * decides the message, so the order of the checks matters too).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maximumWindowMs } from './limits.js';
import {
  maximumBatchSize,
  maximumSigningStringBytes,
  parseSigningString,
  type SignedGroup,
  type SigningStringParse,
} from './signing-string.js';

const keyPattern = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const instructionPattern = /^[a-z][A-Za-z0-9]{0,63}$/;
const digitsPattern = /^(0|[1-9][0-9]{0,15})$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function failure(message: string, code: 'INVALID_CLIENT_REQUEST' | 'INVALID_WINDOW' = 'INVALID_CLIENT_REQUEST') {
  return { ok: false, message, code } as const;
}

function decodeValue(raw: string): string | undefined {
  if (raw.length === 0) return undefined;
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function parseMilliseconds(raw: string): number | undefined {
  if (!digitsPattern.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** The parser as it was before the index walk (commit 71eaa8d). */
function referenceParse(bytes: Uint8Array): SigningStringParse {
  if (bytes.length > maximumSigningStringBytes) return failure('The signed message is too long.');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return failure('The signed message is not valid UTF-8.');
  }
  const parts = text.split('&');
  if (parts.length < 3) return failure('The signed message must hold an instruction, a timestamp and a window.');
  const windowPart = parts.pop() as string;
  const timestampPart = parts.pop() as string;
  if (!timestampPart.startsWith('timestamp=')) return failure('The signed message must end with timestamp=…&window=….');
  if (!windowPart.startsWith('window=')) return failure('The signed message must end with timestamp=…&window=….');
  const timestampMs = parseMilliseconds(timestampPart.slice('timestamp='.length));
  if (timestampMs === undefined) return failure('The timestamp must be a whole number of milliseconds.');
  const windowMs = parseMilliseconds(windowPart.slice('window='.length));
  if (windowMs === undefined || windowMs < 1 || windowMs > maximumWindowMs) {
    return failure(`The window must be a whole number of milliseconds from 1 to ${maximumWindowMs}.`, 'INVALID_WINDOW');
  }
  const groups: SignedGroup[] = [];
  let current: { instruction: string; params: Map<string, string> } | undefined;
  let previousKey = '';
  for (const part of parts) {
    const separator = part.indexOf('=');
    if (separator <= 0) return failure(`Malformed parameter "${part.slice(0, 40)}".`);
    const key = part.slice(0, separator);
    const rawValue = part.slice(separator + 1);
    if (key === 'instruction') {
      if (!instructionPattern.test(rawValue)) return failure('Malformed instruction name.');
      if (groups.length >= maximumBatchSize) return failure(`A batch holds at most ${maximumBatchSize} instructions.`);
      current = { instruction: rawValue, params: new Map() };
      groups.push(current);
      previousKey = '';
      continue;
    }
    if (current === undefined) return failure('The signed message must start with instruction=.');
    if (!keyPattern.test(key)) return failure(`Malformed parameter name "${key.slice(0, 40)}".`);
    if (key === 'timestamp' || key === 'window' || key === 'instruction')
      return failure(`Parameter "${key}" is reserved.`);
    if (!(key > previousKey))
      return failure(`Parameters must be sorted and unique; "${key}" is out of order or repeated.`);
    previousKey = key;
    const value = decodeValue(rawValue);
    if (value === undefined) return failure(`The value of "${key}" is empty or badly percent-encoded.`);
    current.params.set(key, value);
  }
  if (groups.length === 0) return failure('The signed message must start with instruction=.');
  return { ok: true, value: { groups, timestampMs, windowMs } };
}

const encoder = new TextEncoder();

function expectSameParse(text: string): void {
  const bytes = encoder.encode(text);
  expect(parseSigningString(bytes), text).toEqual(referenceParse(bytes));
}

/** Pieces that make the parser's decisions likely: separators, reserved keys, digits, escapes, long names. */
const pieces = fc.constantFrom(
  '&',
  '=',
  '&&',
  '==',
  'instruction=',
  'instruction=orderExecute',
  'instruction=Order',
  '&timestamp=',
  '&window=',
  'timestamp=',
  'window=',
  'timestamp',
  'window',
  'instruction',
  'orderType=Limit',
  'price=1.5',
  'quantity=2',
  'side=Bid',
  'symbol=SOL_USDC',
  // The keys and instruction names parseSigningString takes as constants, and near misses of them.
  'clientId=1',
  'clientI',
  'clientIdx',
  'orderId=7',
  'timeInForce=GTC',
  'selfTradePrevention',
  'instruction=orderCancel',
  'instruction=orderCancelAll',
  'instruction=orderExecut',
  'instruction=orderExecutee',
  'a',
  'Z',
  'z',
  '9',
  '0',
  '00',
  '1700000000000',
  '5000',
  '60000',
  '60001',
  '9007199254740991',
  '9007199254740992',
  '12345678901234567',
  '%',
  '%2',
  '%26',
  '%zz',
  '%E2%82%AC',
  '+',
  'é',
  '_',
  '-',
  ' ',
  'x'.repeat(63),
  'x'.repeat(64),
  'y'.repeat(45),
);

describe('parseSigningString against the reference parser', () => {
  it('agrees on strings built from structural pieces', () => {
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 24 }), (chosen) => expectSameParse(chosen.join(''))),
      { numRuns: 20_000 },
    );
  });

  it('agrees on well-formed strings with one piece changed', () => {
    const base = 'instruction=orderExecute&orderType=Limit&price=1.5&quantity=2&side=Bid&symbol=SOL_USDC';
    fc.assert(
      fc.property(
        fc.nat(base.length),
        fc.nat(base.length),
        pieces,
        fc.constantFrom('', '&instruction=orderCancel&orderId=7&symbol=SOL_USDC'),
        fc.constantFrom('&timestamp=1700000000000&window=5000', '&timestamp=17&window=60000', '&timestamp=0&window=0'),
        (from, to, piece, extra, tail) => {
          const start = Math.min(from, to);
          const end = Math.max(from, to);
          expectSameParse(base.slice(0, start) + piece + base.slice(end) + extra + tail);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('agrees on arbitrary text and on bytes that are not UTF-8', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), expectSameParse), { numRuns: 5_000 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(parseSigningString(bytes)).toEqual(referenceParse(bytes));
      }),
      { numRuns: 5_000 },
    );
  });

  it('agrees at the batch limit', () => {
    const group = 'instruction=orderCancel&orderId=1&symbol=SOL_USDC';
    for (const count of [maximumBatchSize, maximumBatchSize + 1]) {
      expectSameParse(`${Array.from({ length: count }, () => group).join('&')}&timestamp=1&window=1`);
    }
  });
});

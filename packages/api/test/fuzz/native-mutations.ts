/** Hostile submissions to the native intake (POST /api/v1/transactions), which takes the signed message itself. */
import type { TestKey } from '../../src/test-support.js';
import type { ControlFactory } from './controls.js';
import type { SeededRandom } from './seeded-random.js';
import { attestationTag, flipBit, malleated, nonCanonicalKey } from './signature-bytes.js';
import { type Control, type Mutated, signingStringOf, type WireRequest, withBody } from './wire.js';

const label = (name: string): string => `native:${name}`;

interface NativeBody {
  readonly message: string;
  readonly publicKey: string;
  readonly signature: string;
}

/** A fresh native control, never sent as it is, and the ways to change it. */
interface NativeTarget {
  readonly random: SeededRandom;
  readonly control: Control;
  readonly body: NativeBody;
  readonly traders: readonly TestKey[];
  readonly operatorKey: TestKey;
  /** The body with `changes`, the rest as signed. */
  readonly submit: (changes: Partial<NativeBody> & Record<string, unknown>) => WireRequest;
  /** Another message, signed by the control's signer. */
  readonly resign: (message: string) => WireRequest;
  /** The message's `key=value` parameters. */
  readonly parts: readonly string[];
}

function nativeTargetOf(controls: ControlFactory): NativeTarget {
  const control = controls.nativeControl();
  const body = JSON.parse(control.request.body!) as NativeBody;
  const { random, traders } = controls;
  const operatorKey = controls.operatorKey();
  const signer =
    body.publicKey === operatorKey.apiKey ? operatorKey : traders.find((trader) => trader.apiKey === body.publicKey)!;
  const submit = (changes: Partial<NativeBody> & Record<string, unknown>): WireRequest =>
    withBody(control.request, JSON.stringify({ ...body, ...changes }));
  const resign = (message: string): WireRequest => submit({ message, signature: signer.sign(message) });
  const parts = body.message.split('&');
  return { random, control, body, traders, operatorKey, submit, resign, parts };
}

/** The message changed after signing, or re-signed with a hostile parameter. */
function messageMutations(target: NativeTarget): Array<() => Mutated> {
  const { random, body, submit, resign, parts } = target;
  return [
    () => {
      const at = random.below(body.message.length);
      const inserted = random.pick(['&', '=', '%', 'x', '0', '&amount=1', 'é', '\u0000']);
      const message = `${body.message.slice(0, at)}${inserted}${body.message.slice(at)}`;
      return {
        label: label('messageChangedAfterSigning'),
        request: submit({ message }),
        codes: ['INVALID_SIGNATURE'],
      };
    },
    () => {
      const index = random.below(parts.length - 2);
      const duplicated = [...parts.slice(0, index + 1), parts[index]!, ...parts.slice(index + 1)].join('&');
      return {
        label: label('duplicatedParameterResigned'),
        request: resign(duplicated),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const message = body.message.replace(
        /(quantity|price)=[^&]*/,
        `$1=${random.pick(['-1', '+1', '1e2', '01', '9'.repeat(49), '0.0000000000000000001', '%2D1', '1%2E5%2E5'])}`,
      );
      return {
        label: label('hostileDecimalResigned'),
        request: resign(message),
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_QUANTITY', 'INVALID_PRICE'],
      };
    },
    () => {
      const message = body.message.replace(
        /instruction=\w+/,
        `instruction=${random.pick(['balanceQuery', 'OrderExecute', 'constructor', '__proto__', 'orderexecute'])}`,
      );
      return {
        label: label('wrongInstructionResigned'),
        request: resign(message),
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_INSTRUCTION'],
      };
    },
  ];
}

/** Malformed keys and signatures, and messages signed by the wrong party. */
function signerMutations(target: NativeTarget): Array<() => Mutated> {
  const { random, control, body, traders, operatorKey, submit } = target;
  return [
    () => {
      const publicKey = random.pick([
        nonCanonicalKey(body.publicKey),
        body.publicKey.slice(0, 40),
        `${body.publicKey}A`,
        '',
        'x'.repeat(44),
      ]);
      return {
        label: label('publicKeyMalformed'),
        request: submit({ publicKey }),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const signature = random.pick([
        body.signature.slice(0, 86),
        `${body.signature}AA`,
        '',
        flipBit(body.signature, random),
        malleated(body.signature),
      ]);
      return {
        label: label('signatureMalformed'),
        request: submit({ signature }),
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
      };
    },
    () => {
      // An attestation-style message, signed by the operator key: never a transaction.
      const message = `${attestationTag}${random.pick([body.message, 'binary-ish \u0001\u0002 fields'])}`;
      return {
        label: label('attestationSignedByOperator'),
        request: submit({
          message,
          publicKey: operatorKey.apiKey,
          signature: operatorKey.sign(message),
        }),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const trader = random.pick(traders);
      const message = signingStringOf(
        'depositCredit',
        {
          account: trader.apiKey,
          blockchain: 'Solana',
          chainTransactionId: `forged-${random.next()}`,
          quantity: '1000000',
          symbol: 'USDC',
        },
        String(control.timestampMs),
        String(control.windowMs),
      );
      return {
        label: label('traderSignsOperatorInstruction'),
        request: submit({ message, publicKey: trader.apiKey, signature: trader.sign(message) }),
        codes: ['UNAUTHORIZED'],
      };
    },
  ];
}

/** Timestamps, windows, sizes and shapes the intake refuses. */
function envelopeMutations(target: NativeTarget): Array<() => Mutated> {
  const { random, control, body, submit, resign } = target;
  return [
    () => {
      const timestampMs =
        control.timestampMs + (random.chance(50) ? -1 : 1) * (control.windowMs + 2_000 + random.below(100_000_000));
      const message = body.message.replace(/timestamp=\d+/, `timestamp=${timestampMs}`);
      return {
        label: label('timestampOutsideWindowResigned'),
        request: resign(message),
        codes: ['INVALID_TIMESTAMP'],
      };
    },
    () => {
      const message = body.message.replace(
        /window=\d+/,
        `window=${random.pick(['0', '60001', '05000', '-1', '9007199254740993', ''])}`,
      );
      return {
        label: label('windowOutOfRangeResigned'),
        request: resign(message),
        codes: ['INVALID_WINDOW', 'INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const tail = body.message.indexOf('&timestamp=');
      const message = `${body.message.slice(0, tail)}&padding=${'a'.repeat(16_384)}${body.message.slice(tail)}`;
      return { label: label('messageTooLong'), request: resign(message), codes: ['INVALID_CLIENT_REQUEST'] };
    },
    () => {
      const extra = random.pick([
        '"__proto__":{"isAdmin":true}',
        '"constructor":{"prototype":{"isAdmin":true}}',
        '"constructor":"x"',
        '"sequence":1',
        '"logTimeMs":0',
        '"__proto__":1',
      ]);
      return {
        label: label('extraField'),
        request: withBody(control.request, JSON.stringify(body).replace('{', `{${extra},`)),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const message = random.pick([
        body.message.replace('instruction=', '\uFEFFinstruction='),
        `${body.message}&`,
        `&${body.message}`,
        body.message.replace(/&/g, '&&'),
        body.message.toUpperCase(),
      ]);
      return { label: label('structureResigned'), request: resign(message), codes: ['INVALID_CLIENT_REQUEST'] };
    },
    () => {
      const message = random.pick<unknown>([123, null, [], { a: 1 }, true]);
      return {
        label: label('messageWrongType'),
        request: submit({ message } as Record<string, unknown>),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
  ];
}

/** One hostile submission, built from a fresh native control (a FUZZ_SEED picks it by index). */
export function nativeMutation(controls: ControlFactory): Mutated {
  const target = nativeTargetOf(controls);
  const choices = [...messageMutations(target), ...signerMutations(target), ...envelopeMutations(target)];
  return choices[target.random.below(choices.length)]!();
}

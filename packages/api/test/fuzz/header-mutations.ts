/** Mutations of the signed headers (X-API-Key, X-Signature, X-Timestamp, X-Window), tampered or re-signed. */
import type { TestKey } from '../../src/test-support.js';
import type { SeededRandom } from './seeded-random.js';
import { attestationTag, flipBit, malleated, nonCanonicalKey } from './signature-bytes.js';
import {
  headerOf,
  type MutationChoices,
  type MutationContext,
  type SignedSpec,
  signingStringOfSpec,
  type WireRequest,
  wireOf,
  withHeader,
} from './wire.js';

const label = (name: string): string => `header:${name}`;

/** Another trader's key, or the stranger's. */
function otherKey(context: MutationContext, spec: SignedSpec): TestKey {
  return context.traders.find((trader) => trader !== spec.key) ?? context.stranger;
}

function apiKeyMutations(context: MutationContext, spec: SignedSpec, request: WireRequest): MutationChoices {
  const random = context.random;
  return [
    () => ({
      label: label('apiKeyBitFlip'),
      request: withHeader(request, 'x-api-key', flipBit(spec.key.apiKey, random)),
      codes: ['INVALID_SIGNATURE'],
    }),
    () => {
      const text = spec.key.apiKey;
      const at = random.below(43);
      const replacement = random.pick(
        [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].filter(
          (character) => character !== text[at],
        ),
      );
      return {
        label: label('apiKeyCharacter'),
        request: withHeader(request, 'x-api-key', `${text.slice(0, at)}${replacement}${text.slice(at + 1)}`),
        codes: ['INVALID_SIGNATURE', 'UNAUTHORIZED'],
      };
    },
    () => ({
      label: label('apiKeyTruncated'),
      request: withHeader(request, 'x-api-key', spec.key.apiKey.slice(0, random.below(44))),
      codes: ['UNAUTHORIZED'],
    }),
    () => ({
      label: label('apiKeyExtended'),
      request: withHeader(request, 'x-api-key', `${spec.key.apiKey}${random.pick(['A', '=', 'AAAA', ' x'])}`),
      codes: ['UNAUTHORIZED'],
    }),
    () => ({
      label: label('apiKeyMissing'),
      request: withHeader(request, 'x-api-key', undefined),
      codes: ['UNAUTHORIZED'],
    }),
    () => ({
      label: label('apiKeyNonCanonical'),
      request: withHeader(request, 'x-api-key', nonCanonicalKey(spec.key.apiKey)),
      codes: ['UNAUTHORIZED'],
    }),
    () => ({
      label: label('apiKeyUrlSafe'),
      request: withHeader(request, 'x-api-key', Buffer.from(spec.key.publicKey).toString('base64url')),
      codes: ['UNAUTHORIZED', 'INVALID_SIGNATURE'],
    }),
    () => ({
      label: label('apiKeyOfAnotherTrader'),
      request: withHeader(request, 'x-api-key', otherKey(context, spec).apiKey),
      codes: ['INVALID_SIGNATURE'],
    }),
    () => ({
      label: label('apiKeyTwice'),
      request: { ...request, headers: [...request.headers, ['x-api-key', spec.key.apiKey]] },
      codes: ['UNAUTHORIZED', 'INVALID_CLIENT_REQUEST'],
    }),
  ];
}

function signatureMutations(context: MutationContext, spec: SignedSpec, request: WireRequest): MutationChoices {
  const signature = headerOf(request, 'x-signature')!;
  const random = context.random;
  return [
    () => ({
      label: label('signatureBitFlip'),
      request: withHeader(request, 'x-signature', flipBit(signature, random)),
      codes: ['INVALID_SIGNATURE'],
    }),
    () => ({
      label: label('signatureTruncated'),
      request: withHeader(request, 'x-signature', signature.slice(0, random.below(88))),
      codes: ['INVALID_SIGNATURE'],
    }),
    () => ({
      label: label('signatureExtended'),
      request: withHeader(request, 'x-signature', `${signature}${random.pick(['A', 'AAAA', '=='])}`),
      codes: ['INVALID_SIGNATURE'],
    }),
    () => ({
      label: label('signatureEmpty'),
      request: withHeader(request, 'x-signature', ''),
      codes: ['INVALID_SIGNATURE', 'UNAUTHORIZED'],
    }),
    () => ({
      label: label('signatureMissing'),
      request: withHeader(request, 'x-signature', undefined),
      codes: ['UNAUTHORIZED'],
    }),
    () => ({
      label: label('signatureHex'),
      request: withHeader(request, 'x-signature', Buffer.from(signature, 'base64').toString('hex')),
      codes: ['INVALID_SIGNATURE'],
    }),
    () => ({
      label: label('signatureTwice'),
      request: { ...request, headers: [...request.headers, ['x-signature', signature]] },
      codes: ['INVALID_SIGNATURE', 'INVALID_CLIENT_REQUEST'],
    }),
    () => ({
      label: label('signatureMalleated'),
      request: withHeader(request, 'x-signature', malleated(signature)),
      codes: ['INVALID_SIGNATURE'],
    }),
    () => ({
      label: label('signatureByAnotherKey'),
      request: withHeader(request, 'x-signature', otherKey(context, spec).sign(signingStringOfSpec(spec))),
      codes: ['INVALID_SIGNATURE'],
    }),
    () => ({
      label: label('signatureOverAttestation'),
      request: withHeader(request, 'x-signature', spec.signer.sign(`${attestationTag}${signingStringOfSpec(spec)}`)),
      codes: ['INVALID_SIGNATURE'],
    }),
  ];
}

function timestampMutations(random: SeededRandom, spec: SignedSpec, request: WireRequest): MutationChoices {
  return [
    () => ({
      label: label('timestampMissing'),
      request: withHeader(request, 'x-timestamp', undefined),
      codes: ['UNAUTHORIZED'],
    }),
    () => {
      const value = random.pick([
        'abc',
        '',
        '-1',
        '1e12',
        `${spec.timestamp}.0`,
        `${spec.timestamp} 1`,
        '12345678901234567',
        '99999999999999999999',
        '-9007199254740993',
        '0x1',
      ]);
      return {
        label: label('timestampNotMillis'),
        request: withHeader(request, 'x-timestamp', value),
        codes: ['INVALID_TIMESTAMP', 'UNAUTHORIZED', 'INVALID_SIGNATURE'],
      };
    },
    () => {
      const value = random.pick([
        `0${spec.timestamp}`,
        String(Number(spec.timestamp) + 1),
        String(Number(spec.timestamp) - 1),
        '9007199254740993',
        '9999999999999999',
        '0',
      ]);
      return {
        label: label('timestampChanged'),
        request: withHeader(request, 'x-timestamp', value),
        codes: ['INVALID_SIGNATURE'],
      };
    },
  ];
}

function windowMutations(random: SeededRandom, spec: SignedSpec, request: WireRequest): MutationChoices {
  return [
    () => {
      const value = random.pick([
        '60001',
        '0',
        '-1',
        'abc',
        '',
        '99999999999999999',
        '9007199254740993',
        '1e3',
        '5000.0',
        '50 00',
      ]);
      return {
        label: label('windowInvalid'),
        request: withHeader(request, 'x-window', value),
        codes: ['INVALID_WINDOW'],
      };
    },
    () => {
      const value = random.pick([
        undefined,
        '05000',
        '5000',
        String(Number(spec.signedWindow) + 1),
        `0${spec.signedWindow}`,
        '60000',
        '1',
      ]);
      // An absent header means 5000 was signed, and no control is signed with 5000.
      if (value === spec.signedWindow) return undefined;
      return {
        label: label('windowChanged'),
        request: withHeader(request, 'x-window', value),
        codes: value !== undefined && Number(value) > 60_000 ? ['INVALID_WINDOW'] : ['INVALID_SIGNATURE'],
      };
    },
    () => ({
      label: label('windowTwice'),
      request: { ...request, headers: [...request.headers, ['x-window', spec.window ?? '5000']] },
      codes: ['INVALID_WINDOW', 'INVALID_CLIENT_REQUEST'],
    }),
  ];
}

/** The header mutations of a signed request, in a fixed order (a FUZZ_SEED picks among them by index). */
export function headerMutations(context: MutationContext, spec: SignedSpec, request: WireRequest): MutationChoices {
  return [
    ...apiKeyMutations(context, spec, request),
    ...signatureMutations(context, spec, request),
    ...timestampMutations(context.random, spec, request),
    ...windowMutations(context.random, spec, request),
  ];
}

/** Mutations re-signed by the signer: a correctly signed request whose content is wrong. */
export function resignedMutations(context: MutationContext, spec: SignedSpec): MutationChoices {
  const random = context.random;
  const label = (name: string): string => `resigned:${name}`;
  const resigned = (changes: Partial<SignedSpec>): WireRequest => wireOf({ ...spec, ...changes });
  const now = Date.now();
  const windowMs = Number(spec.signedWindow);
  return [
    () => {
      // Outside the window by at least 2 s either way; the log time is the server clock.
      const timestampMs = random.chance(50)
        ? now - windowMs - 2_000 - random.below(10_000_000)
        : now + windowMs + 2_000 + random.below(10_000_000);
      return {
        label: label('timestampOutsideWindow'),
        request: resigned({ timestamp: String(timestampMs), signedTimestamp: String(timestampMs) }),
        codes: ['INVALID_TIMESTAMP'],
      };
    },
    () => {
      const value = random.pick(['9007199254740993', '9999999999999999', '9007199254740992']);
      return {
        label: label('timestampBeyondSafeInteger'),
        request: resigned({ timestamp: value, signedTimestamp: value }),
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_TIMESTAMP'],
      };
    },
    () => {
      const value = `0${spec.timestamp}`;
      return {
        label: label('timestampLeadingZero'),
        request: resigned({ timestamp: value, signedTimestamp: value }),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const value = random.pick(['60001', '0', '100000', '9007199254740993', '05000', '0060000']);
      return {
        label: label('windowOutOfRange'),
        request: resigned({ window: value, signedWindow: value }),
        codes: ['INVALID_WINDOW'],
      };
    },
    () => {
      const instruction = random.pick(
        [
          'orderExecute',
          'orderCancel',
          'orderCancelAll',
          'withdraw',
          'balanceQuery',
          'orderQuery',
          'depositCredit',
          'withdrawalComplete',
          'assetList',
          'OrderExecute',
          'constructor',
        ].filter((name) => name !== spec.instruction),
      );
      return { label: label('otherInstruction'), request: resigned({ instruction }), codes: ['INVALID_SIGNATURE'] };
    },
    () => ({
      label: label('byAnotherKey'),
      request: resigned({ signer: context.stranger }),
      codes: ['INVALID_SIGNATURE'],
    }),
  ];
}

/**
 * Envelope fuzzing: hostile signed entries against apply(state, entry).
 *
 * Each case starts from one entry of a realistic signed log (random-log.ts):
 * either an entry already applied to the base state (so an unchanged copy is a
 * replay) or one not yet applied. It mutates the message (bit flips,
 * truncation, extension, duplicated `&key=value`, swapped instruction names,
 * re-encoded numbers, hostile keys and values, percent-encoding variants,
 * unicode, timestamps and windows out of range, batches, attestation-style
 * messages), then either keeps the original signature or re-signs the mutated
 * bytes (with the original signer, the operator or another trader), then may
 * mutate the public key or the signature as well (bit flips, truncation,
 * another entry's signature, another signer's key, S + L, small-order and
 * non-canonical keys), and applies it at a chosen log time (sometimes an
 * invalid one).
 *
 * The oracle is an independent reading of docs/protocol.md, written here
 * without the engine's parser:
 *   - the signature is valid exactly when the (key, message, signature) triple
 *     is one this test or the log generator signed; any other triple must be
 *     INVALID_SIGNATURE (so a signature made for one instruction, or for an
 *     attestation, is never accepted for another message);
 *   - an authentic message that breaks the signing-string grammar must be
 *     INVALID_CLIENT_REQUEST or INVALID_WINDOW; outside its window,
 *     INVALID_TIMESTAMP; a digest already applied, DUPLICATE_REQUEST; a
 *     malformed instruction, INVALID_CLIENT_REQUEST; a query,
 *     INVALID_INSTRUCTION; an operator instruction by a trader, UNAUTHORIZED;
 *   - only what passes all of that may be accepted (or refused by execution:
 *     market, asset, price, quantity, funds, …), and an accepted entry's
 *     decimals must match the decimal grammar. So an entry is accepted only if
 *     it is byte-identical to an original not yet applied, or re-signed by the
 *     test as a well-formed request;
 *   - a rejected entry leaves stateHashHex(state) unchanged, apply never
 *     throws, and an accepted entry applied again is DUPLICATE_REQUEST.
 * Every case starts from the same base state (it is restored after an
 * acceptance), so cases are independent and fast-check can shrink.
 *
 * Env: FUZZ_RUNS (default 2,000; `pnpm fuzz` runs 100,000), FUZZ_SEED and
 * FUZZ_PATH (printed on failure) to re-run one failure exactly.
 *
 * The parts: envelope-oracle.ts (the reference reading of the protocol),
 * envelope-base.ts (the log and base state), envelope-arbitraries.ts (the
 * cases), envelope-mutations.ts (cases into entries, and their expected
 * verdicts); the cross-type signature tests are in envelope-signature.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply, type LogEntry } from '../src/apply.js';
import { type ResultCode, resultCodes } from '../src/result-codes.js';
import { stateHashHex } from '../src/state-codec.js';
import {
  decimalPattern,
  maximumDecimalCharacters,
  referenceSigningString,
  referenceInstruction,
  executionCodes,
  httpOnlyCodes,
  type Expectation,
} from './envelope-oracle.js';
import {
  hex,
  setupEntries,
  originals,
  fuzzBase,
  appliedDigests,
  baseLogTimeMs,
  baseStateHash,
  restoreBaseState,
} from './envelope-base.js';
import { type FuzzCase, caseArbitrary } from './envelope-arbitraries.js';
import { type BuiltCase, buildCase, expectationFor, textOf } from './envelope-mutations.js';

// ---------------------------------------------------------------------------
// Run parameters.
// ---------------------------------------------------------------------------

function environmentInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not ${text}`);
  return value;
}

const fuzzRuns = environmentInteger('FUZZ_RUNS', 2_000);
const fuzzSeed =
  process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== ''
    ? environmentInteger('FUZZ_SEED', 0)
    : Date.now() % 2 ** 31;
const fuzzPath =
  process.env.FUZZ_PATH !== undefined && process.env.FUZZ_PATH !== '' ? process.env.FUZZ_PATH : undefined;

// ---------------------------------------------------------------------------
// The property.
// ---------------------------------------------------------------------------

interface Tally {
  cases: number;
  accepted: number;
  acceptedOriginals: number;
  acceptedResigned: number;
  rejectedByCode: Record<string, number>;
  replaysRefused: number;
}
const tally: Tally = {
  cases: 0,
  accepted: 0,
  acceptedOriginals: 0,
  acceptedResigned: 0,
  rejectedByCode: {},
  replaysRefused: 0,
};

function describeEntry(entry: LogEntry): string {
  const { message, publicKey, signature } = entry.transaction;
  return JSON.stringify({
    logTimeMs: entry.logTimeMs,
    message: textOf(message).slice(0, 600),
    messageBytes: message.length,
    publicKey: hex(publicKey),
    signature: hex(signature),
  });
}

/** A refused entry: the state unchanged, an engine code, and the code the oracle expects. */
function checkRefusal(
  entry: LogEntry,
  expectation: Expectation,
  rejection: { code: ResultCode; message: string },
): void {
  const code = rejection.code;
  tally.rejectedByCode[code] = (tally.rejectedByCode[code] ?? 0) + 1;
  const after = stateHashHex(fuzzBase.state);
  if (after !== baseStateHash) {
    restoreBaseState();
    throw new Error(`rejected with ${code} but the state changed, for ${describeEntry(entry)}`);
  }
  if (!Object.hasOwn(resultCodes, code) || httpOnlyCodes.has(code))
    throw new Error(`rejection code ${code} is not an engine code`);
  if (expectation.verdict === 'rejected' && !expectation.codes.includes(code)) {
    const expected = `${expectation.codes.join(' or ')} (${expectation.why})`;
    throw new Error(`expected ${expected}, got ${code}: ${rejection.message}, for ${describeEntry(entry)}`);
  }
  if (expectation.verdict !== 'rejected' && !executionCodes.has(code)) {
    throw new Error(
      `a well-formed, authorized entry was refused with ${code} (${rejection.message}), ` +
        `for ${describeEntry(entry)}`,
    );
  }
}

/** An accepted entry: one the oracle allows, with well-formed decimals, and refused when applied again. */
function checkAcceptance(built: BuiltCase, expectation: Expectation, results: readonly { ok: boolean }[]): void {
  const { entry } = built;
  if (expectation.verdict === 'rejected') {
    const required = `${expectation.codes.join(' or ')} (${expectation.why})`;
    throw new Error(`ACCEPTED an entry that must be ${required}: ${describeEntry(entry)}`);
  }
  // A batch is accepted when one order is; each order that succeeded must have well-formed decimals.
  if (results.length !== expectation.decimals.length)
    throw new Error(
      `${results.length} results for ${expectation.decimals.length} instructions: ${describeEntry(entry)}`,
    );
  for (const [index, result] of results.entries()) {
    if (!result.ok) continue;
    for (const decimal of expectation.decimals[index]!) {
      if (!decimalPattern.test(decimal) || decimal.length > maximumDecimalCharacters) {
        throw new Error(
          `ACCEPTED an instruction with the malformed decimal ${JSON.stringify(decimal)}: ${describeEntry(entry)}`,
        );
      }
    }
  }
  if (!results.some((result) => result.ok))
    throw new Error(`accepted with every instruction refused: ${describeEntry(entry)}`);
  tally.accepted += 1;
  if (built.signed === undefined) tally.acceptedOriginals += 1;
  else tally.acceptedResigned += 1;
  // The same bytes again, at the same log time: a replay.
  const acceptedHash = stateHashHex(fuzzBase.state);
  const replay = apply(fuzzBase.state, entry);
  if (replay.accepted || replay.rejection.code !== 'DUPLICATE_REQUEST') {
    const replayed = replay.accepted ? 'ACCEPTED' : replay.rejection.code;
    throw new Error(`a replay of an accepted entry was ${replayed}: ${describeEntry(entry)}`);
  }
  if (stateHashHex(fuzzBase.state) !== acceptedHash)
    throw new Error(`a refused replay changed the state: ${describeEntry(entry)}`);
  tally.replaysRefused += 1;
}

function runCase(fuzzCase: FuzzCase): void {
  const built = buildCase(fuzzCase);
  const expectation = expectationFor(built);
  const { entry } = built;
  tally.cases += 1;
  let outcome;
  try {
    outcome = apply(fuzzBase.state, entry);
  } catch (error) {
    restoreBaseState();
    throw new Error(`apply threw ${error instanceof Error ? error.stack : String(error)} for ${describeEntry(entry)}`);
  }
  if (!outcome.accepted) {
    checkRefusal(entry, expectation, outcome.rejection);
    return;
  }
  try {
    checkAcceptance(built, expectation, outcome.results);
  } finally {
    restoreBaseState();
  }
}

/** Runs the property; on failure the message says how to re-run exactly that case. */
function assertFuzz(name: string, property: fc.IProperty<[FuzzCase]>): void {
  let details =
    fuzzPath !== undefined
      ? fc.check(property, { seed: fuzzSeed, path: fuzzPath, endOnFailure: true })
      : fc.check(property, { seed: fuzzSeed, numRuns: fuzzRuns, endOnFailure: true });
  if (details.failed && fuzzPath === undefined && details.counterexamplePath !== null) {
    // Shrink from the failure, for a bounded time, so the report shows a small case.
    const shrunk = fc.check(property, {
      seed: details.seed,
      path: details.counterexamplePath,
      interruptAfterTimeLimit: 30_000,
    });
    if (shrunk.failed) details = shrunk;
  }
  if (details.failed) {
    const rerun =
      'Re-run exactly this case with:\n' +
      `  FUZZ_SEED=${details.seed} FUZZ_PATH="${details.counterexamplePath ?? ''}" ` +
      `npx vitest run packages/engine/test/envelope-fuzz.test.ts -t "${name}"`;
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${rerun}\n\n${cause}\n\n${fc.defaultReportMessage(details) ?? ''}`);
  }
}

describe('envelope fuzzing of apply()', () => {
  it('the base log is what the oracle assumes', () => {
    // The replay rule forgets digests after 120 s of log time: the whole applied log lies within it.
    expect(baseLogTimeMs - originals[0]!.logTimeMs).toBeLessThan(120_000);
    expect(appliedDigests.size).toBeGreaterThan(setupEntries);
    // The reference reading agrees with the log generator on every original.
    for (const original of originals) {
      const parsed = referenceSigningString(original.transaction.message);
      expect(parsed.wellFormed, textOf(original.transaction.message)).toBe(true);
      if (parsed.wellFormed) expect(referenceInstruction(parsed.groups).kind).toBe('transaction');
    }
  });

  const name =
    'mutated entries are accepted only when they are an unapplied original or re-signed well-formed requests';
  it(name, { timeout: 3_600_000 }, () => {
    const started = performance.now();
    const pathNote = fuzzPath !== undefined ? ` FUZZ_PATH=${fuzzPath}` : '';
    console.log(`envelope fuzz: FUZZ_SEED=${fuzzSeed} FUZZ_RUNS=${fuzzRuns}${pathNote}`);
    assertFuzz(
      name,
      fc.property(caseArbitrary, (fuzzCase) => runCase(fuzzCase)),
    );
    console.log(
      JSON.stringify({ fuzz: 'envelope', seed: fuzzSeed, ...tally, wallMs: Math.round(performance.now() - started) }),
    );
    // A fuzzer whose cases never reach a verdict tests nothing: every stage must have been hit.
    if (fuzzPath === undefined && fuzzRuns >= 1_000) {
      expect(tally.acceptedOriginals).toBeGreaterThan(0);
      expect(tally.acceptedResigned).toBeGreaterThan(0);
      for (const code of [
        'INVALID_LOG_TIME',
        'INVALID_SIGNATURE',
        'INVALID_CLIENT_REQUEST',
        'INVALID_WINDOW',
        'INVALID_TIMESTAMP',
        'DUPLICATE_REQUEST',
        'INVALID_INSTRUCTION',
        'UNAUTHORIZED',
      ]) {
        expect(tally.rejectedByCode[code] ?? 0, code).toBeGreaterThan(0);
      }
    }
  });
});

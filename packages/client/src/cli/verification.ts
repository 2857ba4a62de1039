/** Verification commands: verify-proof and attestation. */
import { readFile } from 'node:fs/promises';
import { verifyProofAgainstPublished, type PublishedProofCheck } from '@vex/engine/verify';
import { ExchangeError } from '../errors.js';
import { isPublicKeyText } from '../keys.js';
import type { GenesisInfo } from '../types.js';
import {
  UsageError,
  integer,
  optional,
  required,
  ProofVerificationError,
  ResultWithExitCode,
  type Command,
  type Context,
} from './command.js';

export const verificationCommands: Readonly<Record<string, Command>> = {
  'verify-proof': {
    group: 'Verification',
    summary:
      'Check an inclusion proof and what it stands on: the log, the published attestation, or only the operator’s ' +
      'signature.',
    synopsis:
      'verify-proof --proof <file> [--log <file> | --attestations <file> | --url <url>] [--operator-key <base64>]',
    options: {
      proof: { type: 'string', value: '<file>', description: 'A proof JSON file (from exchange proof --out).' },
      'operator-key': {
        type: 'string',
        value: '<base64>',
        description: 'The genesis operator public key you trust to sign attestations.',
      },
      log: {
        type: 'string',
        value: '<file>',
        description:
          'A log export (export-log): replayed up to the proof, whose attestation and leaf must be the replayed ones.',
      },
      attestations: {
        type: 'string',
        value: '<file>',
        description: 'An attestations export (export-attestations): the proof’s attestation must be the published one.',
      },
    },
    notes:
      'What the proof is checked against, strongest first: --log (the log is replayed to the proof’s sequence and ' +
      'its attestation\n' +
      'record; its genesis supplies the operator keys), --attestations (byte-identity with the published ' +
      'attestation), --url\n' +
      '(the attestation this node publishes for the proof’s sequence; without --operator-key the keys come from its ' +
      'genesis).\n' +
      'With --operator-key alone only the operator’s signature is checked: the result says "basis": ' +
      '"signature-only" and the\n' +
      'exit code is 5. Two different attestations for one sequence, both signed by operator keys, are operator ' +
      'equivocation:\n' +
      'exit 4, and the result holds both. A proof that does not verify exits 1 with INVALID_PROOF: <the first check ' +
      'that failed>.',
    examples: [
      'exchange verify-proof --proof alice-proof.json --log exchange.vexlog',
      'exchange verify-proof --proof alice-proof.json --attestations attestations.jsonl --operator-key ' +
        'i1GEJN4TIbUjYhg8PwbfTGmlb1+Z0RDk+ViflfFTz3U=',
      'exchange verify-proof --proof alice-proof.json --url https://exchange.example',
    ],
    run: (context) => verifyProofFile(context),
  },
  attestation: {
    group: 'Verification',
    summary: 'Show the latest attestation, or the one at --sequence (GET /api/v1/attestations).',
    synopsis: 'attestation [--sequence <n>]',
    options: { sequence: { type: 'string', value: '<n>', description: 'The entry the attestation follows.' } },
    examples: ['exchange attestation', 'exchange attestation --sequence 10000'],
    run: async (context) => {
      const sequenceText = optional(context.values, 'sequence');
      const sequence =
        sequenceText === undefined ? undefined : integer('sequence', sequenceText, Number.MAX_SAFE_INTEGER, 1);
      const attestation = await context.client().fetchAttestation(sequence);
      if (attestation === undefined) {
        throw new ExchangeError(
          'RESOURCE_NOT_FOUND',
          sequence === undefined ? 'There is no attestation yet.' : `There is no attestation at sequence ${sequence}.`,
          404,
        );
      }
      return attestation;
    },
  },
};

/**
 * verify-proof: every check of docs/attestation.md ("Checking a proof") with
 * the engine's browser-safe verifier, against operator keys the user chose
 * to trust, and then what the proof stands on ("What a proof stands on"):
 * the replayed log (--log), the published attestations (--attestations, or
 * the node's with --url), or only the signature. The default URL is never
 * contacted implicitly: trusting a server must be asked for with --url.
 */
async function verifyProofFile(context: Context): Promise<unknown> {
  const file = required(context.values, 'proof');
  let proof: unknown;
  try {
    proof = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`cannot read the proof file ${file}: ${reason}.`);
  }
  const operatorKey = optional(context.values, 'operator-key');
  const logFile = optional(context.values, 'log');
  const attestationsFile = optional(context.values, 'attestations');
  if (logFile !== undefined && attestationsFile !== undefined)
    throw new UsageError('give --log or --attestations, not both.');
  if (operatorKey !== undefined && !isPublicKeyText(operatorKey)) {
    throw new UsageError(
      `--operator-key must be a base64 public key (44 characters ending in "="), not "${operatorKey}".`,
    );
  }
  if (logFile !== undefined) return verifyProofAgainstLog(proof, logFile, operatorKey);
  let trustedKeys: readonly string[];
  let genesis: GenesisInfo | undefined;
  if (operatorKey !== undefined) {
    trustedKeys = [operatorKey];
  } else if (context.values.url !== undefined) {
    genesis = await context.client().fetchGenesis();
    trustedKeys = genesis.operatorKeys;
  } else {
    throw new UsageError(
      'verify-proof needs the operator key it is to trust: pass --operator-key <base64> (a genesis operator key), ' +
        "--log <file> to take the keys from the log's genesis, or --url <url> to take them from that node's GET " +
        '/api/v1/genesis.',
    );
  }
  let published: unknown[] | undefined;
  if (attestationsFile !== undefined) {
    published = await readAttestationLines(attestationsFile);
  } else if (context.values.url !== undefined) {
    const sequence = (proof as { attestation?: { sequence?: unknown } } | null)?.attestation?.sequence;
    const found =
      typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 1
        ? await context.client().fetchAttestation(sequence)
        : undefined;
    published = found === undefined ? [] : [found];
  }
  const check = verifyProofAgainstPublished(proof, trustedKeys, published);
  if (check.ok && genesis !== undefined && check.attestation.genesisHash !== genesis.genesisHash) {
    throw new ProofVerificationError(
      `The proof's attestation is of genesis ${check.attestation.genesisHash}, ` +
        `not ${genesis.genesisHash} of ${context.url}.`,
    );
  }
  return proofOutcome(check);
}

async function readAttestationLines(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the attestations file ${file}: ${(error as Error).message}.`);
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new UsageError(`${file}, line ${index + 1}: not JSON.`);
      }
    });
}

/** --log: the replayer replays the export to the proof's sequence (Node only, so it is loaded only here). */
async function verifyProofAgainstLog(
  proof: unknown,
  logFile: string,
  operatorKey: string | undefined,
): Promise<unknown> {
  const { checkInclusionProof, openByteSource, ReplayInputError } = await import('@vex/replayer');
  try {
    const check = await checkInclusionProof({
      proof,
      ...(operatorKey === undefined ? {} : { operatorKeys: [operatorKey] }),
      log: () => openByteSource(logFile),
      logDescription: logFile,
    });
    if (check.ok) return proofOutcome({ ...check });
    return proofOutcome({
      ok: false,
      reason: check.reason,
      ...(check.equivocation === undefined ? {} : { equivocation: check.equivocation }),
    });
  } catch (error) {
    if (error instanceof ReplayInputError) throw new UsageError(error.message);
    throw error;
  }
}

/** The printed result and exit code of a proof check. */
function proofOutcome(check: PublishedProofCheck | { ok: false; reason: string; equivocation?: unknown }): unknown {
  if (!check.ok) {
    if (check.equivocation === undefined) throw new ProofVerificationError(check.reason);
    return new ResultWithExitCode(
      { valid: false, reason: check.reason, equivocation: check.equivocation },
      4,
      `OPERATOR_EQUIVOCATION: ${check.reason}`,
    );
  }
  const result = {
    valid: true,
    basis: check.basis,
    account: check.account,
    leafIndex: check.leafIndex,
    sequence: check.attestation.sequence,
    logTimeMs: check.attestation.logTimeMs,
    operatorKey: check.attestation.operatorKey,
    liabilitiesRoot: check.attestation.liabilitiesRoot,
    balances: check.balances.map((balance) => ({
      symbol: balance.symbol,
      claim: balance.claim.toString(),
      debt: balance.debt.toString(),
    })),
  };
  if (check.basis !== 'signature-only') return result;
  const warning =
    "only the operator's signature was checked: nothing shows that this is the attestation everyone else was shown. " +
    'Pass --log <file>, --attestations <file> or --url <url> to check it against the log or the published attestation.';
  return new ResultWithExitCode({ ...result, warning }, 5, `WARNING: ${warning}`);
}

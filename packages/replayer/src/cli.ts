/**
 * The replayer's command line (root script: "replay": "tsx packages/replayer/src/cli.ts").
 *
 *   pnpm replay <log> [--attestations <file|url>]… [--workers <n>] [--json] [--chain <rpc> --vault <address>]
 *   pnpm replay --from-snapshot <snapshot file> <log> [--attestations <file|url>]… [--workers <n>] [--json]
 *   pnpm replay --proof <proof file> [--log <log>] [--attestations <file|url>] [--operator-key <base64>]… [--json]
 *   pnpm replay <log> --build-proof <account> --at <sequence> [--out <file>]
 *   pnpm replay --watch <node URL> --vault <address> --chain <rpc> [--committee-key <file>] [--port <n>]
 *
 * <log> is an export file or a node's base URL. Exit codes: 0 verified,
 * 1 divergence (the log, an attestation, the snapshot or the proof is wrong),
 * 2 bad input or usage, 3 the replayer itself failed, 4 operator
 * equivocation (two conflicting operator-signed statements, both printed),
 * 5 a proof checked against the operator's signature only. See docs/replayer.md.
 */
import { realpathSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeSnapshot, type SnapshotRecord } from '@vex/engine';
import type { Equivocation, EquivocationEvidence } from './divergence.js';
import { checkInclusionProof, shortAssetsOfProof, type InclusionProofCheck } from './inclusion-proof-check.js';
import {
  attestationsExportUrl,
  isHttpUrl,
  logExportUrl,
  openAttestationLines,
  openByteSource,
  type ByteSource,
} from './input-source.js';
import { createProgressDisplay } from './progress-display.js';
import type { LiquidationTimelinessReport } from './liquidation-timeliness.js';
import { ReplayInputError, errorMessage } from './replay-input-error.js';
import { replayLog, type ReplayReport } from './replay-log.js';
import { describeReserves } from './reserves-summary.js';
import { ChainCheckCollector, checkChain, type ChainCheckResult } from './chain-check.js';
import { runWatch } from './watch-cli.js';

function describeChainCheck(chain: ChainCheckResult): string {
  const counts = `${chain.depositsChecked} deposits, ${chain.commitsChecked} commits, ${chain.payoutsChecked} payouts`;
  if (chain.ok) return `chain: the vault agrees with the log (${counts})\n`;
  const problems = chain.problems.map((problem) => `  ${problem}\n`).join('');
  return `chain: the vault DISAGREES with the log (${counts}):\n${problems}`;
}

export const exitCodes = {
  verified: 0,
  divergence: 1,
  badInput: 2,
  internalError: 3,
  /** Two conflicting statements signed by operator keys for one sequence: the proof of misbehaviour is printed. */
  equivocation: 4,
  /** --proof with neither --log nor --attestations: valid under the operator's signature, and nothing more was checked. */
  signatureOnly: 5,
} as const;

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

const usage = `Usage:
  pnpm replay <log> [--attestations <file|url>]... [--workers <n>] [--liquidation-grace-ms <ms>] [--json]
  pnpm replay --from-snapshot <snapshot file> <log> [--attestations <file|url>]... [--workers <n>] [--json]
  pnpm replay --proof <proof file> [--log <log>] [--attestations <file|url>] [--operator-key <base64>]... [--json]
  pnpm replay <log> --build-proof <account> --at <sequence> [--out <file>]
  pnpm replay --watch <node url> --vault <address> --chain <rpc> [--committee-key <file>] [--port <n>]

Verifies an exported log from its genesis: the hash chain, every signature,
every transition, every attestation record and every attestation. <log> is an
export file or a node's base URL (http://host:port); from a node, the export
is read from /api/v1/log?from=1 and, unless --attestations is given, the
attestations from /api/v1/attestations/export.

Options:
  --attestations <file|url>   attestations as JSON Lines, in increasing sequence order;
                              repeat it to hold more lists against the log and each other
  --from-snapshot <file>      also check this snapshot record against the replay
  --proof <file>              verify an inclusion proof (JSON) instead of replaying the whole log:
                              with --log, the log is replayed up to the proof's sequence and the proof's
                              attestation and leaf must be the replayed ones; with --attestations, the
                              proof's attestation must be the published one; with neither, only the
                              operator's signature is checked (exit 5)
  --operator-key <base64>     a trusted operator key for --proof (repeatable)
  --log <log>                 for --proof: the log to replay (its genesis names the operator keys)
  --workers <n>               signature worker threads (default: all cores)
  --liquidation-grace-ms <ms> report accounts left below maintenance, unliquidated, for longer than
                              this much log time (default 60000)
  --chain <rpc> --vault <addr> also cross-check the custody vault on that chain (docs/custody.md)
  --build-proof <account> --at <sequence>
                              rebuild the account's (base64 public key) inclusion proof at that attested
                              sequence by replaying the log up to it (its attestation unsigned), and print it
                              or write it to --out <file>: what an escape needs when the operator has stopped
  --watch <node url>          run as a watchtower (docs/custody.md): follow the node entry by entry and
                              serve POST /sign on --host (default 127.0.0.1) --port (default 0: any),
                              signing a vault commit for --vault on --chain only if the replay agrees;
                              the key from --committee-key <file> or VEX_COMMITTEE_KEY; --poll-ms <ms>
  --json                      print the report as JSON on stdout
  -h, --help                  show this help

Exit codes: 0 verified, 1 divergence (the log, an attestation, the snapshot or
the proof is wrong), 2 bad input or usage, 3 the replayer itself failed,
4 operator equivocation (both signed statements are printed), 5 a proof valid
under the operator's signature only (give --log or --attestations to check it).
`;

function hexShort(hash: string): string {
  return `${hash.slice(0, 16)}…`;
}

function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function describeReport(report: ReplayReport, snapshot: SnapshotRecord | undefined): string {
  const lines: string[] = [];
  if (report.verified) {
    lines.push(
      `verified: ${formatCount(report.entriesApplied)} entries of exchange "${report.exchangeName}" (genesis ${hexShort(report.genesisHash)})`,
    );
  } else {
    const { divergence } = report;
    if (divergence.equivocation !== undefined) {
      lines.push(describeEquivocation(divergence.equivocation).trimEnd());
    } else {
      lines.push(`DIVERGENCE at sequence ${divergence.sequence}: ${divergence.check}`);
      if (divergence.attestationNumber !== undefined)
        lines.push(`  attestation: number ${divergence.attestationNumber} in the attestation list`);
      lines.push(`  expected: ${divergence.expected}`, `  computed: ${divergence.computed}`, `  ${divergence.message}`);
    }
    lines.push(`verified before it: ${formatCount(report.entriesApplied)} entries`);
  }
  const flagged = report.flaggedAttestations;
  lines.push(`attestation records checked: ${formatCount(report.recordsChecked)}`);
  lines.push(
    `attestations checked: ${formatCount(report.attestationsChecked)}, flagged (short of reserves): ${flagged.length}`,
  );
  for (const item of flagged.slice(0, 10))
    lines.push(`  sequence ${item.sequence}: short in ${item.shortAssets.join(', ')}`);
  if (flagged.length > 10) lines.push(`  … and ${flagged.length - 10} more (--json lists them all)`);
  if (snapshot !== undefined && report.snapshotChecked)
    lines.push(`snapshot at sequence ${snapshot.sequence}: matches the replay`);
  lines.push(...describeTimeliness(report.liquidationTimeliness));
  lines.push(
    `time: ${(report.elapsedMs / 1000).toFixed(2)} s, ${formatCount(report.entriesPerSecond)} entries/s, ${report.workers} signature workers`,
  );
  if (report.verified) {
    lines.push(`head: sequence ${report.headSequence}, hash ${report.headHash}`, `state hash: ${report.stateHash}`);
    if (report.reserves !== undefined) lines.push(...describeReserves(report.reserves));
  }
  return `${lines.join('\n')}\n`;
}

function describeTimeliness(timeliness: LiquidationTimelinessReport): string[] {
  const lines = [
    `late liquidations (below maintenance for over ${formatCount(timeliness.graceMs)} ms): ${timeliness.lateCount}`,
  ];
  for (const item of timeliness.late.slice(0, 10)) {
    lines.push(
      `  ${item.account}: below from sequence ${item.belowSinceSequence} for ${formatCount(item.belowForMs)} ms, ` +
        `${item.outcome === 'open' ? 'still below at the end' : `${item.outcome} at sequence ${item.endSequence}`}`,
    );
  }
  if (timeliness.lateCount > 10) lines.push(`  … and ${timeliness.lateCount - 10} more (--json lists them)`);
  return lines;
}

function parseGrace(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,14})$/.test(text))
    throw new UsageError(`--liquidation-grace-ms must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function describeEvidence(label: string, evidence: EquivocationEvidence): string[] {
  if (evidence.kind === 'attestation') {
    return [
      `  ${label}: ${evidence.source}`,
      `    digest: ${evidence.digest}`,
      `    signed attestation: ${evidence.attestationJson}`,
      `    signed message (hex): ${evidence.messageHex}`,
    ];
  }
  return [
    `  ${label}: ${evidence.source}`,
    `    digest: ${evidence.digest}`,
    `    signed message: ${evidence.message}`,
    `    public key: ${evidence.publicKey}`,
    `    signature: ${evidence.signature}`,
  ];
}

/** Both signed statements, in full: anyone holding the genesis can check them and publish them. */
function describeEquivocation(equivocation: Equivocation): string {
  return (
    [
      `OPERATOR EQUIVOCATION at sequence ${equivocation.sequence}: two different statements, both signed by operator keys`,
      ...describeEvidence('first', equivocation.first),
      ...describeEvidence('second', equivocation.second),
      '  Both verify under the genesis operator keys (docs/attestation.md); publish them as the proof of misbehaviour.',
    ].join('\n') + '\n'
  );
}

function parseWorkers(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[1-9][0-9]{0,3}$/.test(text) || !Number.isSafeInteger(value))
    throw new UsageError(`--workers must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * A file argument as the user meant it: `pnpm replay` runs the script from
 * the repository root, so a relative path is taken from the directory pnpm
 * was started in (INIT_CWD), as the user typed it there.
 */
function localPath(location: string): string {
  return isHttpUrl(location) ? location : path.resolve(process.env.INIT_CWD ?? process.cwd(), location);
}

async function readSnapshot(file: string): Promise<SnapshotRecord> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(localPath(file));
  } catch (error) {
    throw new ReplayInputError(`cannot read ${file}: ${errorMessage(error)}`);
  }
  try {
    return decodeSnapshot(bytes);
  } catch (error) {
    throw new ReplayInputError(`${file} is not a snapshot record: ${errorMessage(error)}`);
  }
}

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(localPath(file), 'utf8');
  } catch (error) {
    throw new ReplayInputError(`cannot read ${file}: ${errorMessage(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ReplayInputError(`${file} is not JSON: ${errorMessage(error)}`);
  }
}

async function openLog(location: string): Promise<ByteSource> {
  return openByteSource(isHttpUrl(location) ? logExportUrl(location) : localPath(location));
}

interface Values {
  readonly attestations?: string[];
  readonly workers?: string;
  readonly 'liquidation-grace-ms'?: string;
  readonly json?: boolean;
  readonly proof?: string;
  readonly 'operator-key'?: string[];
  readonly log?: string;
  readonly 'from-snapshot'?: string;
  readonly chain?: string;
  readonly vault?: string;
  readonly watch?: string;
  readonly 'build-proof'?: string;
  readonly at?: string;
  readonly out?: string;
  readonly 'committee-key'?: string;
  readonly port?: string;
  readonly host?: string;
  readonly 'poll-ms'?: string;
  readonly help?: boolean;
}

async function runReplay(values: Values, positionals: readonly string[], output: CliOutput): Promise<number> {
  if (values['operator-key'] !== undefined || values.log !== undefined)
    throw new UsageError('--operator-key and --log go with --proof');
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0 ? 'give the log: an export file or a node URL' : 'give exactly one log',
    );
  const location = positionals[0]!;
  const workers = parseWorkers(values.workers);
  const liquidationGraceMs = parseGrace(values['liquidation-grace-ms']);
  const snapshot = values['from-snapshot'] !== undefined ? await readSnapshot(values['from-snapshot']) : undefined;
  const attestationsLocation =
    values.attestations?.[0] ?? (isHttpUrl(location) ? attestationsExportUrl(location) : undefined);
  // Further lists are read whole and held against the log and the first list.
  const otherAttestations = await readOtherAttestations(values.attestations?.slice(1) ?? []);
  if ((values.chain === undefined) !== (values.vault === undefined)) {
    throw new UsageError('--chain and --vault go together');
  }
  if (values.vault !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(values.vault)) {
    throw new UsageError('--vault must be an address');
  }
  const chainCheck = values.chain === undefined ? undefined : new ChainCheckCollector();
  const log = await openLog(location);
  let report: ReplayReport;
  // Whatever happens, both inputs are closed: an unread response body would keep its connection open.
  let attestations: Awaited<ReturnType<typeof openAttestationLines>> | undefined;
  try {
    attestations =
      attestationsLocation !== undefined ? await openAttestationLines(localPath(attestationsLocation)) : undefined;
    const progress = createProgressDisplay(log.totalBytes);
    try {
      report = await replayLog({
        log: log.chunks,
        logDescription: log.description,
        attestations: attestations?.lines,
        otherAttestations,
        snapshot,
        workers,
        ...(liquidationGraceMs === undefined ? {} : { liquidationGraceMs }),
        onProgress: (step) => progress.update(step),
        ...(chainCheck && {
          onEntryApplied: chainCheck.onEntryApplied,
          onAttestationComputed: chainCheck.onAttestationComputed,
        }),
      });
    } finally {
      progress.stop();
    }
  } finally {
    log.close();
    attestations?.close();
  }
  output.stdout(values.json === true ? `${JSON.stringify(report)}\n` : describeReport(report, snapshot));
  if (report.verified && chainCheck !== undefined) {
    const chain = await checkChain(chainCheck, values.chain!, values.vault as `0x${string}`);
    output.stdout(values.json === true ? `${JSON.stringify({ chain })}\n` : describeChainCheck(chain));
    if (!chain.ok) return exitCodes.divergence;
  }
  if (report.verified) return exitCodes.verified;
  return report.divergence.check === 'equivocation' ? exitCodes.equivocation : exitCodes.divergence;
}

async function readOtherAttestations(
  locations: readonly string[],
): Promise<Array<{ attestation: unknown; source: string }>> {
  const others: Array<{ attestation: unknown; source: string }> = [];
  for (const [index, location] of locations.entries()) {
    const opened = await openAttestationLines(localPath(location));
    try {
      let line = 0;
      for await (const attestation of opened.lines) {
        line += 1;
        others.push({ attestation, source: `attestations list ${index + 2} (${location}), line ${line}` });
      }
    } finally {
      opened.close();
    }
  }
  return others;
}

async function runProof(values: Values, positionals: readonly string[], output: CliOutput): Promise<number> {
  if (positionals.length > 0)
    throw new UsageError(`--proof takes no log argument (use --log <log>), got ${JSON.stringify(positionals[0])}`);
  if ((values.attestations?.length ?? 0) > 1 || values['from-snapshot'] !== undefined) {
    throw new UsageError('--proof takes at most one --attestations, and no --from-snapshot');
  }
  const operatorKeys = values['operator-key'] ?? [];
  if (operatorKeys.length === 0 && values.log === undefined)
    throw new UsageError('--proof needs trusted operator keys: --operator-key <base64> or --log <log>');
  const workers = parseWorkers(values.workers);
  const proof = await readJsonFile(values.proof!);
  const logLocation = values.log;
  // With a node's URL as the log, its published attestations are held against the proof too.
  const attestationsLocation =
    values.attestations?.[0] ??
    (logLocation !== undefined && isHttpUrl(logLocation) ? attestationsExportUrl(logLocation) : undefined);
  const attestations =
    attestationsLocation !== undefined ? await openAttestationLines(localPath(attestationsLocation)) : undefined;
  let check: InclusionProofCheck;
  try {
    check = await checkInclusionProof({
      proof,
      operatorKeys,
      ...(logLocation === undefined ? {} : { log: () => openLog(logLocation), logDescription: logLocation }),
      ...(attestations === undefined
        ? {}
        : { attestations: attestations.lines, attestationsDescription: attestationsLocation }),
      ...(workers === undefined ? {} : { workers }),
    });
  } finally {
    attestations?.close();
  }
  if (values.json === true) {
    output.stdout(
      `${JSON.stringify(check, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}\n`,
    );
  } else if (check.ok) {
    const { attestation } = check;
    const short = shortAssetsOfProof(check);
    const basis = {
      log: `checked against the log: replayed to sequence ${attestation.sequence}, the attestation and the leaf are the replayed ones and the log records this attestation`,
      'published-attestation': `checked against the published attestations: the proof's attestation is the one published for sequence ${attestation.sequence}`,
      'signature-only':
        "ONLY THE OPERATOR'S SIGNATURE WAS CHECKED: nothing shows this is the attestation everyone else was shown " +
        '(give --log <log> to replay it, or --attestations <file|url> to compare it with the published one)',
    }[check.basis];
    output.stdout(
      [
        `proof ${check.basis === 'signature-only' ? 'valid under the operator signature' : 'verified'}: account ${check.account} (leaf ${check.leafIndex} of ${attestation.accountCount}) is counted in the liabilities attested at sequence ${attestation.sequence}`,
        `  ${basis}`,
        `  liabilities root: ${attestation.liabilitiesRoot}`,
        `  signed by operator key ${attestation.operatorKey}`,
        ...check.balances.map((balance) => `  ${balance.symbol}: claim ${balance.claim}, debt ${balance.debt}`),
        short.length > 0
          ? `  FLAGGED: the attestation is short of reserves in ${short.join(', ')}`
          : '  reserves cover every asset',
      ].join('\n') + '\n',
    );
  } else if (check.equivocation !== undefined) {
    output.stdout(`proof REFUSED: ${check.reason}\n${describeEquivocation(check.equivocation)}`);
  } else {
    output.stdout(`proof INVALID: ${check.reason}\n`);
  }
  if (check.ok) return check.basis === 'signature-only' ? exitCodes.signatureOnly : exitCodes.verified;
  return check.equivocation !== undefined ? exitCodes.equivocation : exitCodes.divergence;
}

/**
 * --build-proof: replays the log to `--at` (and the record after it, which
 * binds the attestation) and prints the account's replayed inclusion proof.
 */
async function runBuildProof(values: Values, positionals: readonly string[], output: CliOutput): Promise<number> {
  const account = values['build-proof']!;
  if (positionals.length !== 1)
    throw new UsageError('--build-proof needs exactly one log: an export file or a node URL');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(account)) throw new UsageError('--build-proof takes a base64 public key');
  if (values.at === undefined || !/^[1-9][0-9]{0,14}$/.test(values.at)) {
    throw new UsageError('--build-proof needs --at <sequence>, an attested sequence');
  }
  const sequence = Number(values.at);
  const log = await openLog(positionals[0]!);
  let report: ReplayReport;
  try {
    report = await replayLog({
      log: log.chunks,
      logDescription: log.description,
      stopAfterSequence: sequence + 1,
      captureProof: { sequence, account },
      ...(values.workers === undefined ? {} : { workers: parseWorkers(values.workers) }),
    });
  } finally {
    log.close();
  }
  if (!report.verified) {
    output.stderr(`replay: the log does not verify: ${report.divergence.message}\n`);
    return exitCodes.divergence;
  }
  if (report.capturedProof === undefined || report.capturedProof === null) {
    const reason =
      report.capturedProof === null ? `has no leaf for ${account}` : `ends at entry ${report.headSequence}`;
    output.stderr(`replay: at sequence ${sequence} the log ${reason}\n`);
    return exitCodes.divergence;
  }
  const text = `${JSON.stringify(report.capturedProof)}\n`;
  if (values.out === undefined) output.stdout(text);
  else {
    await writeFile(localPath(values.out), text, { mode: 0o600 });
    output.stdout(`proof of ${account} at sequence ${sequence} written to ${values.out}\n`);
  }
  return exitCodes.verified;
}

export async function main(args: readonly string[], output: CliOutput): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...args],
        options: {
          attestations: { type: 'string', multiple: true },
          workers: { type: 'string' },
          'liquidation-grace-ms': { type: 'string' },
          json: { type: 'boolean' },
          proof: { type: 'string' },
          'operator-key': { type: 'string', multiple: true },
          log: { type: 'string' },
          'from-snapshot': { type: 'string' },
          chain: { type: 'string' },
          vault: { type: 'string' },
          watch: { type: 'string' },
          'build-proof': { type: 'string' },
          at: { type: 'string' },
          out: { type: 'string' },
          'committee-key': { type: 'string' },
          port: { type: 'string' },
          host: { type: 'string' },
          'poll-ms': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: true,
      });
    } catch (error) {
      throw new UsageError(errorMessage(error));
    }
    const values = parsed.values as Values;
    if (values.help === true) {
      output.stdout(usage);
      return exitCodes.verified;
    }
    if (values.watch !== undefined) {
      if (parsed.positionals.length > 0) throw new UsageError('--watch takes the node URL and no log argument');
      const keyFile = values['committee-key'];
      return await runWatch(
        { ...values, ...(keyFile === undefined ? {} : { 'committee-key': localPath(keyFile) }) },
        output,
      );
    }
    if (values['build-proof'] !== undefined) return await runBuildProof(values, parsed.positionals, output);
    return values.proof !== undefined
      ? await runProof(values, parsed.positionals, output)
      : await runReplay(values, parsed.positionals, output);
  } catch (error) {
    if (error instanceof UsageError) {
      output.stderr(`replay: ${error.message}\n\n${usage}`);
      return exitCodes.badInput;
    }
    if (error instanceof ReplayInputError) {
      output.stderr(`replay: bad input: ${error.message}\n`);
      return exitCodes.badInput;
    }
    output.stderr(
      `replay: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return exitCodes.internalError;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}

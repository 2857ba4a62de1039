/**
 * The tidy test, in the manner of TigerBeetle's tidy.zig: rules about the
 * shape of the code that no compiler checks.
 *
 * - No function longer than 70 lines (measured by the TypeScript parser, from
 *   its first token to its closing brace), in the packages' non-test code.
 * - No source file longer than 800 lines, tests included, outside generated
 *   and vector files.
 * - No line wider than 120 columns (Biome formats code to 120; strings and
 *   comments it cannot break are caught here).
 * - No abbreviation from the dictionary below as a word of an exported name.
 *
 * Each rule has a ratchet: today's offenders are listed below and the lists
 * may only shrink. A listed item that no longer offends fails the test too
 * (delete its line), so each list stays exact. After a merge, or after
 * splitting a function, the lists can be rewritten from the tree with
 *   TIDY_UPDATE=1 pnpm vitest run packages/tools/test/tidy.test.ts
 * and the diff reviewed: it may remove lines, and adds one only where a
 * merged branch brought an offender in (which its author should split).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exportedNames, isTestCode, listSourceFiles, measureFunctions, wordsOf } from './source-tree.js';

const functionLimitLines = 70;
const fileLimitLines = 800;
const lineLimitColumns = 120;

/** Words that are abbreviations: an exported name says what a thing is in full words (units aside: Ms, Ticks). */
const forbiddenAbbreviations: ReadonlySet<string> = new Set([
  'acct',
  'addr',
  'amt',
  'arr',
  'auth',
  'avg',
  'bal',
  'buf',
  'calc',
  'cb',
  'cfg',
  'cnt',
  'conf',
  'config',
  'ctx',
  'cur',
  'curr',
  'db',
  'dir',
  'dst',
  'env',
  'err',
  'errs',
  'fn',
  'idx',
  'impl',
  'init',
  'len',
  'max',
  'mgr',
  'min',
  'msg',
  'num',
  'obj',
  'opts',
  'param',
  'params',
  'pct',
  'pos',
  'prev',
  'ptr',
  'px',
  'qty',
  'req',
  'res',
  'resp',
  'seq',
  'sig',
  'sigs',
  'spec',
  'src',
  'stats',
  'str',
  'temp',
  'tmp',
  'ts',
  'tx',
  'txn',
  'util',
  'utils',
  'val',
]);

// ---- ratchet lists (TIDY_UPDATE=1 rewrites between the markers) ----
// tidy-ratchet-begin
const longFunctions: readonly string[] = [];
const longFiles: readonly string[] = [];
const wideLineFiles: readonly string[] = [
  'packages/api/bench/node.bench.ts',
  'packages/api/src/bad-requests.test.ts',
  'packages/api/src/bootstrap.ts',
  'packages/api/src/connection-guard.ts',
  'packages/api/src/context.ts',
  'packages/api/src/descriptor-budget.test.ts',
  'packages/api/src/descriptor-budget.ts',
  'packages/api/src/market-data.test.ts',
  'packages/api/src/market-feed.ts',
  'packages/api/src/recorded-requests.test.ts',
  'packages/api/src/routes-account.ts',
  'packages/api/src/routes-verification.test.ts',
  'packages/api/src/routes-verification.ts',
  'packages/api/src/server.test.ts',
  'packages/api/src/signed-request.ts',
  'packages/api/src/submission.test.ts',
  'packages/api/src/submission.ts',
  'packages/api/src/test-support.ts',
  'packages/api/src/websocket.ts',
  'packages/api/src/wire-format.ts',
  'packages/api/test/adversarial.test.ts',
  'packages/api/test/crash.test.ts',
  'packages/api/test/overload.test.ts',
  'packages/api/test/verifiability.test.ts',
  'packages/client/test/attestations.test.ts',
  'packages/client/test/cli.test.ts',
  'packages/client/test/client-http.test.ts',
  'packages/client/test/engine-check.ts',
  'packages/cluster/bench/etcd-append.bench.ts',
  'packages/cluster/src/etcd-appender.ts',
  'packages/cluster/src/etcd-keys.ts',
  'packages/cluster/src/etcd-log-store.ts',
  'packages/cluster/src/local-etcd.ts',
  'packages/cluster/src/log-chunk.ts',
  'packages/cluster/test/entries.ts',
  'packages/cluster/test/etcd-failures.test.ts',
  'packages/cluster/test/etcd-log.test.ts',
  'packages/engine/bench/engine.bench.ts',
  'packages/engine/bench/liabilities-tree.bench.ts',
  'packages/engine/bench/state-hash.bench.ts',
  'packages/engine/bench/verify-worker.ts',
  'packages/engine/bench/verify.bench.ts',
  'packages/engine/scripts/make-signature-vectors.ts',
  'packages/engine/src/apply.test.ts',
  'packages/engine/src/attestation-record.ts',
  'packages/engine/src/decimal.test.ts',
  'packages/engine/src/liabilities-tree.test.ts',
  'packages/engine/src/liabilities-tree.ts',
  'packages/engine/src/log-format.test.ts',
  'packages/engine/src/matching.ts',
  'packages/engine/src/order-request.ts',
  'packages/engine/src/proof-basis.ts',
  'packages/engine/src/replay-protection.test.ts',
  'packages/engine/src/request-signing.test.ts',
  'packages/engine/src/result-codes.ts',
  'packages/engine/src/signature-backends.test.ts',
  'packages/engine/src/state.ts',
  'packages/engine/test/ccxt-requests.test.ts',
  'packages/ledger/bench/sequencer.bench.ts',
  'packages/ledger/sim/log-auditor.ts',
  'packages/ledger/sim/main.ts',
  'packages/ledger/sim/replayer-check.ts',
  'packages/ledger/sim/simulation.test.ts',
  'packages/ledger/sim/simulation.ts',
  'packages/ledger/sim/workload.ts',
  'packages/ledger/src/attestation-maker.test.ts',
  'packages/ledger/src/attestation-maker.ts',
  'packages/ledger/src/attestation-store.ts',
  'packages/ledger/src/exchange-node.test.ts',
  'packages/ledger/src/history.ts',
  'packages/ledger/src/recovery.ts',
  'packages/ledger/src/storage-format.ts',
  'packages/replayer/bench/replay.bench.ts',
  'packages/replayer/src/cli.ts',
  'packages/replayer/src/divergence.ts',
  'packages/replayer/src/equivocation.test.ts',
  'packages/replayer/src/inclusion-proof-check.ts',
  'packages/replayer/src/input-source.test.ts',
  'packages/replayer/src/progress-display.ts',
  'packages/replayer/src/replay-log.ts',
  'packages/replayer/src/signature-verifier-pool.test.ts',
  'packages/replayer/test/replay-log.test.ts',
  'packages/replayer/test/test-log.ts',
];
const abbreviatedExports: readonly string[] = [
  'packages/api/src/config.ts#AssetConfig',
  'packages/api/src/config.ts#ConfigError',
  'packages/api/src/config.ts#ExchangeConfig',
  'packages/api/src/config.ts#MarketConfig',
  'packages/api/src/config.ts#demoConfig',
  'packages/api/src/config.ts#parseConfig',
  'packages/engine/src/limits.ts#defaultMaxMakersPerOrder',
  'packages/engine/src/limits.ts#defaultMaxOpenOrders',
];
// tidy-ratchet-end

const files = listSourceFiles();
// Generated files are machine output, not code anyone writes or reads: their length and width are the generator's.
// packages/custody/src/artifacts.ts is solc's output (ABIs and bytecode) written by packages/custody/src/compile.ts
// and byte-compared with a fresh compile by packages/custody/test/artifacts.test.ts, so it cannot be split or wrapped
// by hand; its first line says "Generated by".
const isGenerated = (path: string, text: string): boolean =>
  path.includes('/vectors/') ||
  path.includes('/generated/') ||
  text.slice(0, 200).includes('@generated') ||
  text.startsWith('// Generated by ');

function findOffenders(): Record<'longFunctions' | 'longFiles' | 'wideLineFiles' | 'abbreviatedExports', string[]> {
  const sourceCode = files.filter((file) => !isTestCode(file.path));
  const checked = files.filter((file) => !isGenerated(file.path, file.text));
  return {
    longFunctions: sourceCode
      .flatMap(measureFunctions)
      .filter((measured) => measured.lines > functionLimitLines)
      .map((measured) => measured.key),
    longFiles: checked.filter((file) => file.lineCount > fileLimitLines).map((file) => file.path),
    wideLineFiles: checked
      .filter((file) => file.text.split('\n').some((line) => line.length > lineLimitColumns))
      .map((file) => file.path),
    abbreviatedExports: sourceCode.flatMap((file) =>
      exportedNames(file)
        .filter((name) => wordsOf(name).some((word) => forbiddenAbbreviations.has(word)))
        .map((name) => `${file.path}#${name}`),
    ),
  };
}

const offenders = findOffenders();

function rewriteRatchetLists(): void {
  const testFile = fileURLToPath(import.meta.url);
  const text = readFileSync(testFile, 'utf8');
  const begin = text.indexOf('// tidy-ratchet-begin\n') + '// tidy-ratchet-begin\n'.length;
  const end = text.indexOf('// tidy-ratchet-end');
  const lists = Object.entries(offenders).map(([name, items]) => {
    const lines = [...new Set(items)].sort().map((item) => `  ${JSON.stringify(item).replaceAll('"', "'")},\n`);
    return `const ${name}: readonly string[] = [${lines.length === 0 ? '' : `\n${lines.join('')}`}];\n`;
  });
  writeFileSync(testFile, text.slice(0, begin) + lists.join('') + text.slice(end));
}

if (process.env.TIDY_UPDATE === '1') rewriteRatchetLists();

function checkRatchet(found: readonly string[], listed: readonly string[], rule: string): void {
  const listedSet = new Set(listed);
  const foundSet = new Set(found);
  const newOffenders = [...foundSet].filter((item) => !listedSet.has(item));
  const noLongerOffending = listed.filter((item) => !foundSet.has(item));
  expect(newOffenders, `new offenders of "${rule}": fix them (the list may only shrink)`).toEqual([]);
  expect(noLongerOffending, `listed but no longer offending "${rule}": delete them from the list`).toEqual([]);
}

describe('tidy', () => {
  it.skipIf(process.env.TIDY_UPDATE === '1')(`no function over ${functionLimitLines} lines`, () => {
    checkRatchet(offenders.longFunctions, longFunctions, `function over ${functionLimitLines} lines`);
  });
  it.skipIf(process.env.TIDY_UPDATE === '1')(`no source file over ${fileLimitLines} lines`, () => {
    checkRatchet(offenders.longFiles, longFiles, `file over ${fileLimitLines} lines`);
  });
  it.skipIf(process.env.TIDY_UPDATE === '1')(`no line over ${lineLimitColumns} columns`, () => {
    checkRatchet(offenders.wideLineFiles, wideLineFiles, `line over ${lineLimitColumns} columns`);
  });
  it.skipIf(process.env.TIDY_UPDATE === '1')('no abbreviation in an exported name', () => {
    checkRatchet(offenders.abbreviatedExports, abbreviatedExports, 'abbreviation in an exported name');
  });
  it('measures what it claims to', () => {
    // The measuring itself, on a known text, so the ratchet cannot pass by measuring nothing.
    const body = Array.from({ length: 71 }, (_, index) => `  const value${index} = ${index};`).join('\n');
    const text = `export function tooLong(): void {\n${body}\n}\nexport const shortArrow = (): number => 1;\n`;
    const measured = measureFunctions({ path: 'example.ts', text, lineCount: 75 });
    expect(measured).toEqual([
      { key: 'example.ts#tooLong', lines: 73 },
      { key: 'example.ts#shortArrow', lines: 1 },
    ]);
    expect(exportedNames({ path: 'example.ts', text, lineCount: 75 })).toEqual(['tooLong', 'shortArrow']);
    expect(wordsOf('parseHTTPConfigMs')).toEqual(['parse', 'http', 'config', 'ms']);
    // The lists of long functions and files are empty now, so show the tree's own measurements are real:
    // many functions measured, the longest near the limit, and a file near its limit.
    const sourceFunctions = files.filter((file) => !isTestCode(file.path)).flatMap(measureFunctions);
    expect(sourceFunctions.length).toBeGreaterThan(1_000);
    expect(Math.max(...sourceFunctions.map((measured) => measured.lines))).toBeGreaterThan(functionLimitLines / 2);
    expect(Math.max(...files.map((file) => file.lineCount))).toBeGreaterThan(fileLimitLines / 2);
    expect(files.length).toBeGreaterThan(100);
  });
});

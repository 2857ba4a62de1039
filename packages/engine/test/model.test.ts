/**
 * Model-based tests: the engine and a naive, independently written reference
 * model (reference-model.ts, from docs/matching.md) are driven with the same
 * random instruction sequences and compared after every step: outcome,
 * rejection code, every result, every trade, every balance, every open order,
 * the depth of every book, the engine's own invariants and the model's own
 * conservation checks.
 *
 * Environment:
 *   MODEL_RUNS        runs of the main property (default 10000)
 *   MODEL_LONG_RUNS   runs of the long-sequence property (default 1000)
 *   MODEL_SEED        seed to reproduce a run (printed on failure)
 *   MODEL_PATH        counterexample path to replay (printed on failure)
 *   MODEL_SHRINK_MS   time bound on shrinking a failure (default 60000)
 *   MODEL_NO_SHRINK   set to 1 to report the first failure unshrunk
 *   MODEL_STATS       set to print how often each outcome occurred
 *   MODEL_MARGIN_RUNS runs of the margin property (default 100)
 *
 * The parts: model-arbitraries.ts (generators), model-commands.ts (commands
 * to instructions), model-harness.ts (engine and model side by side),
 * model-compare.ts (normalising and comparing); the hand-written scenarios
 * are in model-scenarios.test.ts.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { scenarioArbitrary } from './model-arbitraries.js';
import { runScenario } from './model-commands.js';
import { marginScenarioArbitrary } from './model-margin-arbitraries.js';
import { runMarginScenario } from './model-margin-commands.js';
import { printCoverage } from './model-harness.js';

function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer`);
  return value;
}

const seedFromEnv =
  process.env.MODEL_SEED !== undefined && process.env.MODEL_SEED !== '' ? envInteger('MODEL_SEED', 0) : undefined;
const pathFromEnv =
  process.env.MODEL_PATH !== undefined && process.env.MODEL_PATH !== '' ? process.env.MODEL_PATH : undefined;

/**
 * Runs the property in two phases so a failure is always reported in bounded
 * time: first the runs without shrinking (stop at the first failure), then
 * shrinking from that failure for at most MODEL_SHRINK_MS (default 60 s; long
 * scenarios shrink slowly). With MODEL_PATH set, replays that path (and
 * shrinks further within the same bound). MODEL_NO_SHRINK=1 skips shrinking.
 */
function assertModel<T>(testName: string, property: fc.IProperty<[T]>, numRuns: number): void {
  const shrinkMs = envInteger('MODEL_SHRINK_MS', 60_000);
  const shrink = process.env.MODEL_NO_SHRINK !== '1';
  const seed = seedFromEnv !== undefined ? { seed: seedFromEnv } : {};
  let details: fc.RunDetails<[T]>;
  if (pathFromEnv !== undefined) {
    details = fc.check(property, {
      ...seed,
      path: pathFromEnv,
      endOnFailure: !shrink,
      interruptAfterTimeLimit: shrinkMs,
    });
  } else {
    const found = fc.check(property, { ...seed, numRuns, endOnFailure: true });
    details = found;
    if (found.failed && shrink && found.counterexamplePath !== null) {
      const shrunk = fc.check(property, {
        seed: found.seed,
        path: found.counterexamplePath,
        interruptAfterTimeLimit: shrinkMs,
      });
      if (shrunk.failed) details = shrunk;
    }
  }
  if (details.failed) {
    const rerun =
      'Re-run exactly this failure with:\n' +
      `  MODEL_SEED=${details.seed} MODEL_PATH="${details.counterexamplePath ?? ''}" ` +
      `npx vitest run packages/engine/test/model.test.ts -t "${testName}"`;
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `${rerun}\n\nThe ${details.interrupted ? 'partly ' : ''}shrunk counterexample fails with:\n${cause}\n\n` +
        `${fc.defaultReportMessage(details) ?? ''}\n\n${rerun}`,
    );
  }
}

describe('engine agrees with the reference model', () => {
  const mainName = 'random sequences of 1 to 60 steps';
  it(mainName, () => {
    assertModel(mainName, fc.property(scenarioArbitrary(1, 60), runScenario), envInteger('MODEL_RUNS', 10_000));
    printCoverage(mainName);
  });

  const longName = 'long random sequences of 100 to 400 steps';
  it(longName, () => {
    assertModel(longName, fc.property(scenarioArbitrary(100, 400), runScenario), envInteger('MODEL_LONG_RUNS', 1_000));
    printCoverage(longName);
  });
});

describe('engine agrees with the margin reference model (docs/margin.md)', () => {
  const marginName = 'random margin sequences of 1 to 80 steps';
  it(marginName, () => {
    assertModel(
      marginName,
      fc.property(marginScenarioArbitrary(1, 80), runMarginScenario),
      envInteger('MODEL_MARGIN_RUNS', 100),
    );
    printCoverage(marginName);
  });
});

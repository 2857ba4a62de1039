/** The fuzz run's parameters, from the environment (see fuzz.test.ts's header). */
function environmentInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not ${text}`);
  return value;
}

export const totalRequests = environmentInteger('FUZZ_REQUESTS', 3_000);
export const fuzzSeed =
  process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== ''
    ? environmentInteger('FUZZ_SEED', 0) >>> 0
    : (Date.now() ^ (process.pid << 16)) >>> 0;
/** Small, so that the restart below recovers from a snapshot rather than from the genesis. */
export const snapshotEveryEntries = 32;
export const controlPercent = 12;
export const replayPercent = 10;

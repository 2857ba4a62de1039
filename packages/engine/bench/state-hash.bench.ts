/**
 * The cost of the full-state hash (encodeState + SHA-256) as the state grows:
 * the node computes it for every attestation and snapshot.
 *
 *   tsx packages/engine/bench/state-hash.bench.ts [--accounts 100000] [--assets 10] [--repeat 5]
 */
import {
  accountIdOf,
  addAccount,
  createState,
  encodeState,
  stateHash,
  stateHashHex,
  type ExchangeState,
} from '../src/index.js';
import { listAsset } from '../src/listing.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}
const accountCount = argument('accounts', 100_000);
const assetCount = argument('assets', 10);
const repeat = argument('repeat', 5);

function buildState(): ExchangeState {
  const state = createState({
    exchangeName: 'state-hash bench',
    operatorKeys: [accountIdOf(new Uint8Array(32).fill(1))],
    feeAccount: accountIdOf(new Uint8Array(32).fill(2)),
  });
  const assets = Array.from({ length: assetCount }, (_, index) => {
    const asset = listAsset(state, { kind: 'assetList', symbol: `ASSET${index}`, decimals: 9 });
    if ('code' in asset) throw new Error(asset.message);
    return asset;
  });
  const key = new Uint8Array(32);
  const signature = new Uint8Array(64);
  for (let index = 0; index < accountCount; index += 1) {
    new DataView(key.buffer).setUint32(0, index + 1000);
    const account = addAccount(state, accountIdOf(key), signature);
    for (const asset of assets) {
      const balance = account.balance(asset);
      balance.available = BigInt(index) * 1_000_000_007n + 12_345n;
      asset.depositedUnits += balance.available;
    }
  }
  state.changedAccounts.length = 0;
  return state;
}

const state = buildState();
const timings: number[] = [];
let bytes = 0;
for (let run = 0; run < repeat; run += 1) {
  const started = process.hrtime.bigint();
  stateHash(state);
  timings.push(Number(process.hrtime.bigint() - started) / 1e6);
  bytes = encodeState(state).length;
}
timings.sort((left, right) => left - right);
const medianMs = timings[timings.length >> 1]!;
console.log(
  `${accountCount} accounts × ${assetCount} assets: encoding ${bytes} bytes; stateHash median ${medianMs.toFixed(1)} ms (${((medianMs * 1000) / accountCount).toFixed(2)} µs per account)`,
);
// The hash, to show that a faster encoder wrote the same bytes.
console.log(`state hash ${stateHashHex(state)}`);
console.log(
  JSON.stringify({
    accounts: accountCount,
    assets: assetCount,
    encodingBytes: bytes,
    stateHashMs: Number(medianMs.toFixed(1)),
    stateHash: stateHashHex(state),
  }),
);

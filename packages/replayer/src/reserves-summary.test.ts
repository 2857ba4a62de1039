/**
 * The replayer's reserves report marks a deposit token's reserves as the
 * custodian's (docs/replayer.md): a state whose genesis names a custodian for
 * USD, with the custodian's signed statement applied as the replay applies it.
 */
import {
  accountIdOf,
  apply,
  attestationFieldsOf,
  createState,
  encodeSigningStringBytes,
  LiabilitiesTree,
  publicKeyFromSeed,
  signMessage,
} from '@vex/engine';
import { expect, it } from 'vitest';
import { describeReserves, reservesSummary } from './reserves-summary.js';

const keyOf = (fill: number) => {
  const seed = new Uint8Array(32).fill(fill);
  return { seed, publicKey: publicKeyFromSeed(seed), accountId: accountIdOf(publicKeyFromSeed(seed)) };
};
const operator = keyOf(1);
const custodian = keyOf(2);
let timeMs = 1_800_000_000_000;

function submit(state: ReturnType<typeof createState>, signer: typeof operator, kind: string, params: object): void {
  timeMs += 1_000;
  const message = encodeSigningStringBytes([{ instruction: kind, params: Object.entries(params) }], timeMs, 5_000);
  const transaction = { publicKey: signer.publicKey, message, signature: signMessage(signer.seed, message) };
  expect(apply(state, { transaction, logTimeMs: timeMs }).accepted).toBe(true);
}

it('marks the custodian-attested reserves with the custodian key, and the operator’s without a mark', () => {
  const state = createState({
    exchangeName: 'replayer',
    operatorKeys: [operator.accountId],
    feeAccount: operator.accountId,
    custodians: { USD: custodian.accountId },
  });
  submit(state, operator, 'assetList', { decimals: '2', symbol: 'USD' });
  submit(state, operator, 'assetList', { decimals: '6', symbol: 'USDC' });
  submit(state, custodian, 'custodianReservesStatement', { quantity: '12.5', symbol: 'USD' });
  submit(state, operator, 'reservesStatement', { quantity: '3', symbol: 'USDC' });
  const tree = LiabilitiesTree.build(state);
  const fields = attestationFieldsOf(state, tree.root(), state.headSequence, new Uint8Array(32), new Uint8Array(32));
  const summary = reservesSummary(state, fields);
  expect(summary.assets.map((asset) => [asset.symbol, asset.reserves, asset.reservesAttestedBy])).toEqual([
    ['USD', '1250', 'custodian'],
    ['USDC', '3000000', 'operator'],
  ]);
  expect(summary.assets[0]!.custodianKey).toBe(custodian.accountId);
  const lines = describeReserves(summary);
  expect(lines[1]).toContain(`reserves 1250 (custodian-attested, key ${custodian.accountId}), claims 0`);
  expect(lines[2]).toContain('reserves 3000000, claims 0');
});

/**
 * Deposit tokens (docs/attestation.md, "Reserve statements"): the genesis
 * names a custodian key for an asset; only that key's signed
 * custodianReservesStatement sets the asset's reserves, the operator's
 * reservesStatement is refused for it, and the reserves report marks them
 * as custodian-attested. The genesis member is canonical and optional.
 */
import { describe, expect, it } from 'vitest';
import { signedEntry, signerFromByte } from '../test/random-log.js';
import { apply } from './apply.js';
import { attestationFieldsOf, LiabilitiesTree } from './liabilities-tree.js';
import { canonicalGenesisJson, genesisHash, parseCanonicalGenesis } from './log-format.js';
import { reservesReport } from './reserves-report.js';
import { decodeState, encodeState } from './state-codec.js';
import { createState, GenesisError, type Genesis } from './state.js';

const operator = signerFromByte(200);
const custodian = signerFromByte(77);
const stranger = signerFromByte(78);
const fee = signerFromByte(10);
const plain: Genesis = { exchangeName: 'fiat', operatorKeys: [operator.accountId], feeAccount: fee.accountId };
const genesis: Genesis = { ...plain, custodians: { USD: custodian.accountId } };

let logTimeMs = 1_800_000_000_000;
function submit(state: ReturnType<typeof createState>, signer: typeof operator, kind: string, params: object) {
  logTimeMs += 1_000;
  return apply(state, signedEntry(signer, kind, params as Record<string, string>, logTimeMs));
}

function listed(): ReturnType<typeof createState> {
  const state = createState(genesis);
  for (const symbol of ['USD', 'SOL']) {
    expect(submit(state, operator, 'assetList', { decimals: '2', symbol }).accepted).toBe(true);
  }
  return state;
}

describe('custodian reserves statements', () => {
  it('only the custodian named for the asset states its reserves; the operator states the others', () => {
    const state = listed();
    const usd = { quantity: '1250000.50', symbol: 'USD' };
    const byOperator = submit(state, operator, 'reservesStatement', usd);
    expect(byOperator.accepted ? 'accepted' : byOperator.rejection.code).toBe('UNAUTHORIZED');
    const byStranger = submit(state, stranger, 'custodianReservesStatement', usd);
    expect(byStranger.accepted ? 'accepted' : byStranger.rejection.code).toBe('UNAUTHORIZED');
    const forSol = submit(state, custodian, 'custodianReservesStatement', { quantity: '1', symbol: 'SOL' });
    expect(forSol.accepted ? 'accepted' : forSol.rejection.code).toBe('UNAUTHORIZED');
    expect(state.assetsBySymbol.get('USD')!.reservesUnits).toBe(0n);

    expect(submit(state, custodian, 'custodianReservesStatement', usd).accepted).toBe(true);
    expect(submit(state, operator, 'reservesStatement', { quantity: '3', symbol: 'SOL' }).accepted).toBe(true);
    expect(state.assetsBySymbol.get('USD')!.reservesUnits).toBe(125_000_050n);
    expect(state.assetsBySymbol.get('USD')!.reservesStatedAtMs).toBe(logTimeMs - 1_000);

    const tree = LiabilitiesTree.build(state);
    const fields = attestationFieldsOf(state, tree.root(), state.headSequence, new Uint8Array(32), new Uint8Array(32));
    const report = reservesReport(state, fields);
    const marks = report.map((asset) => [asset.symbol, asset.reserves, asset.reservesAttestedBy, asset.custodianKey]);
    expect(marks).toEqual([
      ['USD', 125_000_050n, 'custodian', custodian.accountId],
      ['SOL', 300n, 'operator', undefined],
    ]);
  });

  it('a snapshot restored with the genesis custodians is the same state', () => {
    const state = listed();
    expect(submit(state, custodian, 'custodianReservesStatement', { quantity: '7', symbol: 'USD' }).accepted).toBe(
      true,
    );
    const restored = decodeState(encodeState(state), genesis.custodians);
    expect(canonicalGenesisJson(restored.genesis)).toBe(canonicalGenesisJson(genesis));
    expect(submit(restored, custodian, 'custodianReservesStatement', { quantity: '8', symbol: 'USD' }).accepted).toBe(
      true,
    );
  });
});

describe('the genesis custodians member', () => {
  it('is canonical (sorted, first), round-trips, and leaves a genesis without custodians unchanged', () => {
    const two: Genesis = { ...plain, custodians: { USD: custodian.accountId, EUR: stranger.accountId } };
    const json = canonicalGenesisJson(two);
    expect(json).toBe(
      `{"custodians":{"EUR":"${stranger.accountId}","USD":"${custodian.accountId}"},"exchangeName":"fiat",` +
        `"feeAccount":"${fee.accountId}","operatorKeys":["${operator.accountId}"]}`,
    );
    expect(canonicalGenesisJson(parseCanonicalGenesis(new TextEncoder().encode(json)))).toBe(json);
    expect(canonicalGenesisJson({ ...plain, custodians: {} })).toBe(canonicalGenesisJson(plain));
    expect(genesisHash({ ...plain, custodians: {} })).toEqual(genesisHash(plain));
    expect(genesisHash(genesis)).not.toEqual(genesisHash(plain));
    const empty = canonicalGenesisJson(plain).replace('{', '{"custodians":{},');
    expect(() => parseCanonicalGenesis(new TextEncoder().encode(empty))).toThrow(/canonical/);
  });

  it('refuses a custodian of something that is not an asset symbol, or a key that is not a key', () => {
    expect(() => createState({ ...plain, custodians: { usd: custodian.accountId } })).toThrow(GenesisError);
    expect(() => createState({ ...plain, custodians: { USD: 'not a key' } })).toThrow(GenesisError);
  });
});

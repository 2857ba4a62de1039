/**
 * The worked byte-level example of docs/worked-example.md: a genesis, two
 * entries, the state after them, its state commitment, one leaf of the liabilities tree, the
 * attestation of entry 2 and its attestation record. Every value is computed
 * here with the engine; worked-example.test.ts requires the document to hold
 * exactly these values. Run it to print them:
 *
 *   npx tsx packages/engine/test/worked-example.ts
 */
import {
  LiabilitiesTree,
  accountCommitment,
  accountPartBytes,
  accountIdOf,
  apply,
  attestationDigestHex,
  attestationFieldsOf,
  attestationMessage,
  attestationRecordMessage,
  canonicalGenesisJson,
  createState,
  encodeAndHashEntry,
  encodeState,
  encodeSums,
  encodeSigningStringBytes,
  genesisHash,
  leafHash,
  publicKeyFromSeed,
  signAttestation,
  signMessage,
  stateCommitmentOf,
  stateCommitmentPartsOf,
  stateHash,
  type LogEntry,
} from '../src/index.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export function workedExampleValues(): Map<string, string> {
  const values = new Map<string, string>();
  const operatorSeed = new Uint8Array(32).fill(1);
  const traderSeed = new Uint8Array(32).fill(2);
  const operatorKey = publicKeyFromSeed(operatorSeed);
  const traderKey = publicKeyFromSeed(traderSeed);
  const genesis = {
    exchangeName: 'worked-example',
    operatorKeys: [accountIdOf(operatorKey)],
    feeAccount: accountIdOf(operatorKey),
  };
  values.set('operator.seed', hex(operatorSeed));
  values.set('operator.publicKey', base64(operatorKey));
  values.set('trader.seed', hex(traderSeed));
  values.set('trader.publicKey', base64(traderKey));
  values.set('genesis.json', canonicalGenesisJson(genesis));
  values.set('genesis.hash', hex(genesisHash(genesis)));

  const time = 1_800_000_000_000;
  const state = createState(genesis);
  let previousHash = genesisHash(genesis);
  const entries: Array<{ name: string; instruction: string; params: Array<[string, string]> }> = [
    {
      name: 'entry1',
      instruction: 'assetList',
      params: [
        ['symbol', 'SOL'],
        ['decimals', '9'],
      ],
    },
    {
      name: 'entry2',
      instruction: 'depositCredit',
      params: [
        ['account', accountIdOf(traderKey)],
        ['symbol', 'SOL'],
        ['quantity', '2.5'],
        ['blockchain', 'Solana'],
        ['chainTransactionId', 'tx1'],
      ],
    },
  ];
  let sequence = 0;
  for (const { name, instruction, params } of entries) {
    sequence += 1;
    const message = encodeSigningStringBytes([{ instruction, params }], time, 5_000);
    const signature = signMessage(operatorSeed, message);
    const entry: LogEntry = { logTimeMs: time, transaction: { message, publicKey: operatorKey, signature } };
    const outcome = apply(state, entry);
    if (!outcome.accepted) throw new Error(`${name} was refused: ${outcome.rejection.message}`);
    const { encoding, entryHash } = encodeAndHashEntry({
      sequence,
      logTimeMs: time,
      previousHash,
      transaction: entry.transaction,
    });
    values.set(`${name}.signingString`, new TextDecoder().decode(message));
    values.set(`${name}.signature`, hex(signature));
    values.set(`${name}.encoding`, hex(encoding));
    values.set(`${name}.hash`, hex(entryHash));
    previousHash = entryHash;
  }

  values.set('state2.encoding', hex(encodeState(state)));
  values.set('state2.hash', hex(stateHash(state)));
  for (const account of state.accountList)
    values.set(`commitment2.account${account.ordinal}.bytes`, hex(accountPartBytes(account)));
  for (const part of stateCommitmentPartsOf(state)) values.set(`commitment2.${part.name}`, hex(part.hash));
  values.set('commitment2.stateCommitment', hex(stateCommitmentOf(state)));

  const trader = state.accounts.get(accountIdOf(traderKey))!;
  const commitment = accountCommitment(traderKey, trader.salt);
  const sums = encodeSums([{ claim: 2_500_000_000n, debt: 0n }]);
  values.set('leaf.ordinal', String(trader.ordinal));
  values.set('leaf.salt', hex(trader.salt));
  values.set('leaf.commitment', hex(commitment));
  values.set('leaf.sums', hex(sums));
  values.set('leaf.hash', hex(leafHash(commitment, sums)));

  const tree = LiabilitiesTree.build(state);
  const fields = attestationFieldsOf(state, tree.root(), 2, previousHash, genesisHash(genesis));
  const attestation = signAttestation(fields, operatorSeed);
  values.set('attestation2.liabilitiesRoot', attestation.liabilitiesRoot);
  values.set('attestation2.message', hex(attestationMessage(fields)));
  values.set('attestation2.signature', Buffer.from(attestation.signature, 'base64').toString('hex'));
  values.set('attestation2.digest', attestationDigestHex(fields));
  values.set('record3.signingString', new TextDecoder().decode(attestationRecordMessage(fields, time)));
  return values;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  for (const [key, value] of workedExampleValues()) process.stdout.write(`${key} = ${value}\n`);
}

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomSignedLog, signedEntry, signerFromByte, type Signer } from '../test/random-log.js';
import { apply } from './apply.js';
import { assembleAttestation, attestationMessage, bytesToLowerHex, type Attestation } from './attestation.js';
import {
  accountCommitment,
  encodeSums,
  inclusionProofOf,
  leafHash,
  nodeHash,
  treeDepth,
  verifyInclusionProof,
  type InclusionProof,
} from './inclusion-proof.js';
import { attestationFieldsOf, LiabilitiesTree, signAttestation } from './liabilities-tree.js';
import { genesisHash } from './log-format.js';
import { signMessage, verifySignature } from './signature.js';
import { createState, type ExchangeState } from './state.js';

const engineRule = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verifySignature(publicKey, message, signature) === 'valid';
const withEngineRule = { verifySignature: engineRule };

/** A JSON copy that tests may mutate freely. */
function jsonCopy<T>(value: T): any {
  return JSON.parse(JSON.stringify(value));
}

function claimOf(state: ExchangeState, accountId: string, assetIndex: number): bigint {
  const balance = state.accounts.get(accountId)?.balances[assetIndex];
  return balance === undefined ? 0n : balance.available + balance.locked + balance.pendingWithdrawal;
}

interface Exchange {
  readonly state: ExchangeState;
  readonly operator: Signer;
  readonly time: number;
  readonly sequence: number;
}

/**
 * A state from a seeded signed log: deposits, orders that trade, pending
 * withdrawals; then the operator completes some withdrawals (funds leave),
 * fails others (funds return), credits accounts that never trade, states
 * reserves and lists an asset nobody holds.
 */
function randomExchange(seed: number, entryCount: number): Exchange {
  const { entries, operator } = randomSignedLog(seed, entryCount);
  const state = createState({
    exchangeName: 'proofs',
    operatorKeys: [operator.accountId],
    feeAccount: signerFromByte(99).accountId,
  });
  let time = 0;
  let sequence = 0;
  const submit = (entry: (typeof entries)[number]): void => {
    if (apply(state, entry).accepted) sequence += 1;
    time = entry.logTimeMs;
  };
  entries.forEach(submit);
  let settled = 0;
  for (const id of [...state.pendingWithdrawals.keys()]) {
    settled += 1;
    if (settled % 4 === 0) continue;
    const instruction = settled % 3 === 0 ? 'withdrawalFail' : 'withdrawalComplete';
    const detail: Record<string, string> =
      instruction === 'withdrawalFail' ? { reason: 'test' } : { chainTransactionId: `chain-${id}` };
    submit(signedEntry(operator, instruction, { withdrawalId: String(id), ...detail }, ++time));
  }
  for (const fill of [50, 51, 52]) {
    submit(
      signedEntry(
        operator,
        'depositCredit',
        {
          account: signerFromByte(fill).accountId,
          symbol: 'BTC',
          quantity: '0.5',
          blockchain: 'Solana',
          chainTransactionId: `late-${fill}`,
        },
        ++time,
      ),
    );
  }
  submit(signedEntry(operator, 'reservesStatement', { symbol: 'SOL', quantity: '1000' }, ++time));
  submit(signedEntry(operator, 'assetList', { symbol: 'ETH', decimals: '18' }, ++time));
  return { state, operator, time, sequence };
}

function attest(exchange: Exchange, tree: LiabilitiesTree): Attestation {
  const head = createHash('sha256').update(`head ${exchange.sequence}`).digest();
  const fields = attestationFieldsOf(
    exchange.state,
    tree.root(),
    exchange.sequence,
    head,
    genesisHash(exchange.state.genesis),
  );
  return signAttestation(fields, exchange.operator.seed);
}

const exchange = randomExchange(11, 800);
const tree = LiabilitiesTree.build(exchange.state);
const attestation = attest(exchange, tree);
const trusted = [exchange.operator.accountId];
const proofOf = (accountId: string): InclusionProof => jsonCopy(tree.inclusionProof(attestation, accountId)!);

describe('inclusion proofs of a random exchange', () => {
  it('the workload really has trades, locked funds, pending and completed withdrawals and several levels', () => {
    const accounts = exchange.state.accountList;
    expect(accounts.length).toBeGreaterThanOrEqual(10);
    expect(tree.depth()).toBeGreaterThanOrEqual(4);
    expect(
      accounts.some((account) => account.balances.some((balance) => balance !== undefined && balance.locked > 0n)),
    ).toBe(true);
    expect(
      accounts.some((account) =>
        account.balances.some((balance) => balance !== undefined && balance.pendingWithdrawal > 0n),
      ),
    ).toBe(true);
    expect(exchange.state.assets.some((asset) => asset.withdrawnUnits > 0n)).toBe(true);
    // The fee account earned fees, so orders traded.
    expect(exchange.state.feeAccount.balances.some((balance) => balance !== undefined && balance.available > 0n)).toBe(
      true,
    );
  });

  it("every account's proof verifies against the signed attestation and returns its balances", () => {
    for (const account of exchange.state.accountList) {
      const proof = proofOf(account.id);
      const verdict = verifyInclusionProof(proof, trusted, withEngineRule);
      expect(verdict, account.id).toMatchObject({ ok: true, account: account.id, leafIndex: account.ordinal });
      if (!verdict.ok) continue;
      expect(verdict.balances.map((balance) => balance.symbol)).toEqual(
        exchange.state.assets.map((asset) => asset.symbol),
      );
      verdict.balances.forEach((balance, index) => {
        expect(balance.claim).toBe(claimOf(exchange.state, account.id, index));
        expect(balance.debt).toBe(0n);
      });
      // The browser default (noble) reaches the same verdict.
      expect(verifyInclusionProof(proof, trusted).ok).toBe(true);
    }
  });

  it('the attested totals are the sums of all balances, which are deposits minus completed withdrawals', () => {
    exchange.state.assets.forEach((asset, index) => {
      const total = exchange.state.accountList.reduce(
        (sum, account) => sum + claimOf(exchange.state, account.id, index),
        0n,
      );
      expect(total).toBe(asset.depositedUnits - asset.withdrawnUnits);
      expect(attestation.assets[index]).toEqual({
        symbol: asset.symbol,
        claims: total.toString(),
        debts: '0',
        reserves: asset.reservesUnits.toString(),
        stressShortfall: '0',
      });
    });
    expect(attestation.accountCount).toBe(exchange.state.accountList.length);
  });
});

describe('altering anything breaks verification', () => {
  // An account at an odd place with funds in several assets, so both sibling sides and non-zero amounts are covered.
  const target = exchange.state.accountList.find(
    (account) => account.ordinal % 2 === 1 && account.balances.filter(Boolean).length >= 3,
  )!;
  const other = exchange.state.accountList.find((account) => account !== target && account.ordinal > 0)!;
  const proof = proofOf(target.id);
  const assetCount = attestation.assets.length;

  const flipHex = (text: string): string => (text[0] === '0' ? '1' : '0') + text.slice(1);
  const bump = (text: string): string => (BigInt(text) + 1n).toString();
  const lower = (text: string): string => (text === '0' ? '1' : (BigInt(text) - 1n).toString());
  const resign = (value: any): void => {
    // An operator-signed attestation of the altered fields, so that only the proof's arithmetic can catch the change.
    value.attestation = signAttestation(value.attestation, exchange.operator.seed);
  };

  const alterations: Array<[string, (value: any) => void]> = [];
  for (let index = 0; index < assetCount; index += 1) {
    alterations.push([
      `balances[${index}].claim up`,
      (value) => (value.balances[index].claim = bump(value.balances[index].claim)),
    ]);
    alterations.push([
      `balances[${index}].claim down`,
      (value) => (value.balances[index].claim = lower(value.balances[index].claim)),
    ]);
    alterations.push([
      `balances[${index}].debt`,
      (value) => (value.balances[index].debt = bump(value.balances[index].debt)),
    ]);
    alterations.push([`balances[${index}].symbol`, (value) => (value.balances[index].symbol = 'XYZ')]);
  }
  alterations.push(['salt', (value) => (value.salt = flipHex(value.salt))]);
  alterations.push(['account', (value) => (value.account = other.id)]);
  alterations.push(['leafIndex + 1', (value) => (value.leafIndex += 1)]);
  alterations.push(['leafIndex - 1', (value) => (value.leafIndex -= 1)]);
  alterations.push(['leafIndex out of range', (value) => (value.leafIndex = attestation.accountCount)]);
  alterations.push(['leafIndex negative', (value) => (value.leafIndex = -1)]);
  proof.path.forEach((_, level) => {
    alterations.push([`path[${level}].hash`, (value) => (value.path[level].hash = flipHex(value.path[level].hash))]);
    for (let index = 0; index < assetCount; index += 1) {
      alterations.push([
        `path[${level}].sums[${index}].claim`,
        (value) => (value.path[level].sums[index].claim = bump(value.path[level].sums[index].claim)),
      ]);
      alterations.push([
        `path[${level}].sums[${index}].debt`,
        (value) => (value.path[level].sums[index].debt = bump(value.path[level].sums[index].debt)),
      ]);
    }
    alterations.push([`path[${level}] removed`, (value) => value.path.splice(level, 1)]);
    alterations.push([`path[${level}] duplicated`, (value) => value.path.splice(level, 0, value.path[level])]);
  });
  alterations.push([
    'path item added',
    (value) =>
      value.path.push({ hash: '00'.repeat(32), sums: value.path[0].sums.map(() => ({ claim: '0', debt: '0' })) }),
  ]);
  alterations.push(['path emptied', (value) => (value.path = [])]);
  alterations.push(['path sums item removed', (value) => value.path[0].sums.pop()]);
  alterations.push(['balances item removed', (value) => value.balances.pop()]);
  alterations.push(['version', (value) => (value.version = 2)]);
  // The attestation: every signed field breaks the signature. Re-signed by
  // the operator, a change to what the tree commits to (root, totals, assets)
  // still fails; the other fields are not the tree's, so a re-signed
  // attestation with other values is simply a different valid attestation.
  // (accountCount is bound through the shape; see the shape tests.)
  const attestationChanges: Array<[string, (value: any) => void, boolean]> = [
    [
      'liabilitiesRoot',
      (value) => (value.attestation.liabilitiesRoot = flipHex(value.attestation.liabilitiesRoot)),
      true,
    ],
    ['sequence', (value) => (value.attestation.sequence += 1), false],
    ['logTimeMs', (value) => (value.attestation.logTimeMs += 1), false],
    ['genesisHash', (value) => (value.attestation.genesisHash = flipHex(value.attestation.genesisHash)), false],
    ['headHash', (value) => (value.attestation.headHash = flipHex(value.attestation.headHash)), false],
    ['stateHash', (value) => (value.attestation.stateHash = flipHex(value.attestation.stateHash)), false],
    ['accountCount to the leaf index', (value) => (value.attestation.accountCount = value.leafIndex), true],
    ['an asset dropped', (value) => value.attestation.assets.pop(), true],
    [
      'an asset added',
      (value) =>
        value.attestation.assets.push({ symbol: 'NEW', claims: '0', debts: '0', reserves: '0', stressShortfall: '0' }),
      true,
    ],
  ];
  for (let index = 0; index < assetCount; index += 1) {
    attestationChanges.push([
      `assets[${index}].claims down`,
      (value) => (value.attestation.assets[index].claims = lower(value.attestation.assets[index].claims)),
      true,
    ]);
    attestationChanges.push([
      `assets[${index}].claims up`,
      (value) => (value.attestation.assets[index].claims = bump(value.attestation.assets[index].claims)),
      true,
    ]);
    attestationChanges.push([
      `assets[${index}].debts`,
      (value) => (value.attestation.assets[index].debts = bump(value.attestation.assets[index].debts)),
      true,
    ]);
    attestationChanges.push([
      `assets[${index}].symbol`,
      (value) => (value.attestation.assets[index].symbol = `X${index}`),
      true,
    ]);
    attestationChanges.push([
      `assets[${index}].reserves`,
      (value) => (value.attestation.assets[index].reserves = bump(value.attestation.assets[index].reserves)),
      false,
    ]);
  }

  it('the unaltered proof verifies (the control)', () => {
    expect(verifyInclusionProof(jsonCopy(proof), trusted, withEngineRule).ok).toBe(true);
    const resigned = jsonCopy(proof);
    resign(resigned);
    expect(verifyInclusionProof(resigned, trusted, withEngineRule).ok).toBe(true);
  });

  it.each(alterations)('%s', (_name, alter) => {
    const value = jsonCopy(proof);
    alter(value);
    expect(verifyInclusionProof(value, trusted, withEngineRule).ok).toBe(false);
  });

  it.each(attestationChanges)(
    'attestation %s: the signature fails; re-signed, the proof fails if the tree commits to it (%s)',
    (_name, alter, committed) => {
      const value = jsonCopy(proof);
      alter(value);
      expect(verifyInclusionProof(value, trusted, withEngineRule)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/signature/),
      });
      resign(value);
      expect(verifyInclusionProof(value, trusted, withEngineRule).ok).toBe(!committed);
    },
  );

  it('the attestation signature: flipped, replaced by another key, or under an untrusted key', () => {
    const flipped = jsonCopy(proof);
    const signature = Buffer.from(flipped.attestation.signature, 'base64');
    signature[0] = signature[0]! ^ 1;
    flipped.attestation.signature = signature.toString('base64');
    expect(verifyInclusionProof(flipped, trusted, withEngineRule).ok).toBe(false);
    const impostor = signerFromByte(77);
    const signedByImpostor = jsonCopy(proof);
    signedByImpostor.attestation = signAttestation(signedByImpostor.attestation, impostor.seed);
    expect(verifyInclusionProof(signedByImpostor, trusted, withEngineRule)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/trusted/),
    });
    expect(verifyInclusionProof(signedByImpostor, [...trusted, impostor.accountId], withEngineRule).ok).toBe(true);
    expect(verifyInclusionProof(jsonCopy(proof), [impostor.accountId], withEngineRule).ok).toBe(false);
  });
});

describe('an account left out of the tree', () => {
  it('has no valid proof, by any of the means at hand', () => {
    const operator = signerFromByte(200);
    const [alice, bob, carol] = [signerFromByte(1), signerFromByte(2), signerFromByte(3)];
    const state = createState({
      exchangeName: 'omission',
      operatorKeys: [operator.accountId],
      feeAccount: operator.accountId,
    });
    let time = 1_800_000_000_000;
    const submit = (signer: Signer, instruction: string, params: Record<string, string>): void => {
      expect(apply(state, signedEntry(signer, instruction, params, ++time)).accepted).toBe(true);
    };
    submit(operator, 'assetList', { symbol: 'SOL', decimals: '9' });
    const deposit = (who: Signer, quantity: string): void =>
      submit(operator, 'depositCredit', {
        account: who.accountId,
        symbol: 'SOL',
        quantity,
        blockchain: 'Solana',
        chainTransactionId: `omission-${quantity}`,
      });
    deposit(alice, '5');
    deposit(bob, '7');
    deposit(carol, '9');
    const exchangeWithCarol: Exchange = { state, operator, time, sequence: 5 };
    const honestTree = LiabilitiesTree.build(state);
    const honest = attest(exchangeWithCarol, honestTree);
    const carolsHonestProof = jsonCopy(honestTree.inclusionProof(honest, carol.accountId)!);
    expect(verifyInclusionProof(carolsHonestProof, [operator.accountId], withEngineRule).ok).toBe(true);

    // The operator attests a state without Carol: the same log up to her deposit.
    const lying = createState({
      exchangeName: 'omission',
      operatorKeys: [operator.accountId],
      feeAccount: operator.accountId,
    });
    let replayTime = 1_800_000_000_000;
    const replay = (signer: Signer, instruction: string, params: Record<string, string>): void => {
      expect(apply(lying, signedEntry(signer, instruction, params, ++replayTime)).accepted).toBe(true);
    };
    replay(operator, 'assetList', { symbol: 'SOL', decimals: '9' });
    for (const [who, quantity] of [
      [alice, '5'],
      [bob, '7'],
    ] as const) {
      replay(operator, 'depositCredit', {
        account: who.accountId,
        symbol: 'SOL',
        quantity,
        blockchain: 'Solana',
        chainTransactionId: `omission-${quantity}`,
      });
    }
    const lyingTree = LiabilitiesTree.build(lying);
    const lie = attest({ state: lying, operator, time: replayTime, sequence: 3 }, lyingTree);
    expect(lie.accountCount).toBe(3);
    expect(lyingTree.proofPath(carol.accountId)).toBeUndefined();
    expect(lyingTree.inclusionProof(lie, carol.accountId)).toBeUndefined();

    // Carol's honest proof under the lying attestation.
    expect(
      verifyInclusionProof({ ...carolsHonestProof, attestation: lie }, [operator.accountId], withEngineRule).ok,
    ).toBe(false);
    // Bob's proof with Carol's key, with and without Carol's salt, and with her balance.
    const bobsProof = jsonCopy(lyingTree.inclusionProof(lie, bob.accountId)!);
    expect(verifyInclusionProof(bobsProof, [operator.accountId], withEngineRule).ok).toBe(true);
    const swapped = { ...bobsProof, account: carol.accountId };
    expect(verifyInclusionProof(swapped, [operator.accountId], withEngineRule).ok).toBe(false);
    expect(
      verifyInclusionProof({ ...swapped, salt: carolsHonestProof.salt }, [operator.accountId], withEngineRule).ok,
    ).toBe(false);
    expect(
      verifyInclusionProof(
        { ...swapped, salt: carolsHonestProof.salt, balances: carolsHonestProof.balances },
        [operator.accountId],
        withEngineRule,
      ).ok,
    ).toBe(false);
    // Every leaf place of the lying tree, with Carol's key, salt and balances and each real proof's path.
    for (const account of lying.accountList) {
      const path = jsonCopy(lyingTree.inclusionProof(lie, account.id)!).path;
      for (let leafIndex = 0; leafIndex < 3; leafIndex += 1) {
        const forged = { ...carolsHonestProof, attestation: lie, leafIndex, path };
        expect(verifyInclusionProof(forged, [operator.accountId], withEngineRule).ok).toBe(false);
      }
    }
    // And the lie shows in the totals a verifier sees: the attested SOL claims omit Carol's 9 SOL.
    expect(BigInt(honest.assets[0]!.claims) - BigInt(lie.assets[0]!.claims)).toBe(9_000_000_000n);
  });
});

describe('sums cannot hide a negative value', () => {
  const target = exchange.state.accountList[3]!;
  const proof = proofOf(target.id);

  it('refuses negative, non-canonical and out-of-range amounts', () => {
    const bad: unknown[] = ['-1', '-0', '01', '1.0', '1e3', '0x10', ' 1', '', (1n << 128n).toString(), 12, null];
    for (const amount of bad) {
      const inBalance = jsonCopy(proof);
      inBalance.balances[0].claim = amount;
      expect(verifyInclusionProof(inBalance, trusted, withEngineRule), String(amount)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/canonical decimal/),
      });
      const inPath = jsonCopy(proof);
      inPath.path[0].sums[0].debt = amount;
      expect(verifyInclusionProof(inPath, trusted, withEngineRule).ok).toBe(false);
    }
  });

  it('refuses a sibling sum that would overflow, rather than wrapping', () => {
    const value = jsonCopy(proof);
    const own = BigInt(value.balances[0].claim);
    expect(own).toBeGreaterThan(0n);
    value.path[0].sums[0].claim = ((1n << 128n) - own).toString();
    expect(verifyInclusionProof(value, trusted, withEngineRule)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/2\^128/),
    });
  });

  it('an operator cannot lower a total by giving a sibling a huge value that wraps', () => {
    // The operator's tree: the victim's leaf (100 units) and an invented sibling
    // of 2^128 − 50 units. In 128-bit wrapping arithmetic the total would be
    // 50, less than the victim alone holds.
    const operator = exchange.operator;
    const victim = signerFromByte(31);
    const salt = new Uint8Array(32).fill(9);
    const victimSums = encodeSums([{ claim: 100n, debt: 0n }]);
    const victimLeaf = leafHash(accountCommitment(victim.publicKey, salt), victimSums);
    const fakeSums = encodeSums([{ claim: (1n << 128n) - 50n, debt: 0n }]);
    const fakeLeaf = leafHash(accountCommitment(signerFromByte(32).publicKey, salt), fakeSums);
    const root = nodeHash(victimLeaf, victimSums, fakeLeaf, fakeSums);
    const fields = {
      sequence: 1,
      logTimeMs: 0,
      genesisHash: '00'.repeat(32),
      headHash: '00'.repeat(32),
      stateHash: '00'.repeat(32),
      liabilitiesRoot: bytesToLowerHex(root),
      accountCount: 2,
      assets: [{ symbol: 'SOL', claims: '50', debts: '0', reserves: '50', stressShortfall: '0' }],
    };
    const wrapped = signAttestation(fields, operator.seed);
    const proofBody = {
      leafIndex: 0,
      salt,
      balances: [{ symbol: 'SOL', claim: 100n, debt: 0n }],
      path: [{ hash: fakeLeaf, sums: [{ claim: (1n << 128n) - 50n, debt: 0n }] }],
    };
    const forged = jsonCopy(inclusionProofOf(wrapped, victim.accountId, proofBody));
    expect(verifyInclusionProof(forged, [operator.accountId], withEngineRule)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/2\^128/),
    });
    // Nor can the true total be attested: it is not a u128, so no attestation can carry it.
    expect(() =>
      signAttestation(
        {
          ...fields,
          assets: [
            { symbol: 'SOL', claims: ((1n << 128n) + 50n).toString(), debts: '0', reserves: '0', stressShortfall: '0' },
          ],
        },
        operator.seed,
      ),
    ).toThrow();
    // Whereas with an honest sibling the same construction verifies (the control).
    const honestSums = encodeSums([{ claim: 20n, debt: 0n }]);
    const honestLeaf = leafHash(accountCommitment(signerFromByte(32).publicKey, salt), honestSums);
    const honest = signAttestation(
      {
        ...fields,
        liabilitiesRoot: bytesToLowerHex(nodeHash(victimLeaf, victimSums, honestLeaf, honestSums)),
        assets: [{ symbol: 'SOL', claims: '120', debts: '0', reserves: '50', stressShortfall: '0' }],
      },
      operator.seed,
    );
    const honestProof = jsonCopy(
      inclusionProofOf(honest, victim.accountId, {
        ...proofBody,
        path: [{ hash: honestLeaf, sums: [{ claim: 20n, debt: 0n }] }],
      }),
    );
    expect(verifyInclusionProof(honestProof, [operator.accountId], withEngineRule).ok).toBe(true);
  });
});

/** For each level of the path of leaf `index` among `count`: whether the sibling is the empty node. */
function emptyPlaces(index: number, count: number): boolean[] {
  const places: boolean[] = [];
  for (let levelCount = count, node = index; levelCount > 1; levelCount = (levelCount + 1) >> 1, node >>= 1) {
    places.push((node ^ 1) >= levelCount);
  }
  return places;
}

describe('the shape', () => {
  it('treeDepth is ceil(log2(n))', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 1024, 1025].map(treeDepth)).toEqual([0, 1, 2, 2, 3, 3, 4, 10, 11]);
    expect(treeDepth(2 ** 53 - 1)).toBe(53);
  });

  it('for 1 to 9 accounts every proof verifies, and the empty node stands exactly where a level ends unpaired', () => {
    const operator = signerFromByte(200);
    const state = createState({
      exchangeName: 'shape',
      operatorKeys: [operator.accountId],
      feeAccount: signerFromByte(100).accountId,
    });
    let time = 1_800_000_000_000;
    expect(apply(state, signedEntry(operator, 'assetList', { symbol: 'SOL', decimals: '9' }, ++time)).accepted).toBe(
      true,
    );
    for (let accountCount = 1; accountCount <= 9; accountCount += 1) {
      if (accountCount > 1) {
        const entry = signedEntry(
          operator,
          'depositCredit',
          {
            account: signerFromByte(accountCount).accountId,
            symbol: 'SOL',
            quantity: String(accountCount),
            blockchain: 'Solana',
            chainTransactionId: `shape-${accountCount}`,
          },
          ++time,
        );
        expect(apply(state, entry).accepted).toBe(true);
      }
      const shapeTree = LiabilitiesTree.build(state);
      const shaped = attest({ state, operator, time, sequence: accountCount }, shapeTree);
      for (const account of state.accountList) {
        const proof = jsonCopy(shapeTree.inclusionProof(shaped, account.id)!);
        expect(proof.path.length).toBe(treeDepth(accountCount));
        expect(verifyInclusionProof(proof, [operator.accountId], withEngineRule).ok).toBe(true);
        let levelCount = accountCount;
        proof.path.forEach((sibling: { hash: string }, level: number) => {
          const siblingIndex = (account.ordinal >> level) ^ 1;
          const shouldBeEmpty = siblingIndex >= levelCount;
          expect(sibling.hash === '00'.repeat(32)).toBe(shouldBeEmpty);
          // Swap: a real sibling for the empty node, or the empty node for a real sibling.
          const swapped = jsonCopy(proof);
          swapped.path[level].hash = shouldBeEmpty ? bytesToLowerHex(new Uint8Array(32).fill(1)) : '00'.repeat(32);
          expect(verifyInclusionProof(swapped, [operator.accountId], withEngineRule)).toMatchObject({
            ok: false,
            reason: expect.stringMatching(/empty node/),
          });
          levelCount = (levelCount + 1) >> 1;
        });
        // The leaf count is bound through the shape: re-signed with another
        // count, the proof holds exactly when the leaf exists and its path
        // has the same length and the same empty places under both counts.
        for (let claimedCount = 1; claimedCount <= 10; claimedCount += 1) {
          const recounted = jsonCopy(proof);
          recounted.attestation = signAttestation(
            { ...recounted.attestation, accountCount: claimedCount },
            operator.seed,
          );
          const sameShape =
            account.ordinal < claimedCount &&
            JSON.stringify(emptyPlaces(account.ordinal, claimedCount)) ===
              JSON.stringify(emptyPlaces(account.ordinal, accountCount));
          expect(
            verifyInclusionProof(recounted, [operator.accountId], withEngineRule).ok,
            `${account.ordinal} of ${accountCount} as ${claimedCount}`,
          ).toBe(sameShape);
        }
      }
    }
  });
});

describe('the checker never throws', () => {
  it('for arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const verdict = verifyInclusionProof(value, trusted, withEngineRule);
        expect(verdict.ok).toBe(false);
        if (!verdict.ok) expect(verdict.reason.length).toBeGreaterThan(0);
      }),
    );
  });

  it('for a real proof with any one member replaced by any JSON value', () => {
    const proof = proofOf(exchange.state.accountList[2]!.id);
    const paths: Array<Array<string | number>> = [];
    const collect = (value: unknown, path: Array<string | number>): void => {
      paths.push(path);
      if (Array.isArray(value)) value.forEach((item, index) => collect(item, [...path, index]));
      else if (typeof value === 'object' && value !== null) {
        for (const [key, item] of Object.entries(value)) collect(item, [...path, key]);
      }
    };
    collect(proof, []);
    fc.assert(
      fc.property(fc.constantFrom(...paths.slice(1)), fc.jsonValue(), (path, replacement) => {
        const value = jsonCopy(proof);
        let parent = value;
        for (const key of path.slice(0, -1)) parent = parent[key];
        const original = JSON.stringify(parent[path.at(-1)!]);
        parent[path.at(-1)!] = replacement;
        const verdict = verifyInclusionProof(value, trusted, withEngineRule);
        if (JSON.stringify(replacement) !== original) expect(verdict.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('for a throwing signature check, which counts as a failed check', () => {
    const verdict = verifyInclusionProof(proofOf(target0()), trusted, {
      verifySignature: () => {
        throw new Error('boom');
      },
    });
    expect(verdict.ok).toBe(false);
  });
});

function target0(): string {
  return exchange.state.accountList[0]!.id;
}

describe('the message an attestation signs is what the proof checks', () => {
  it('a proof whose attestation was signed over different bytes fails', () => {
    const proof = proofOf(target0());
    const otherFields = { ...proof.attestation, sequence: proof.attestation.sequence + 1 };
    const signature = signMessage(exchange.operator.seed, attestationMessage(otherFields));
    const spliced = {
      ...proof,
      attestation: assembleAttestation(
        proof.attestation,
        proof.attestation.operatorKey,
        Buffer.from(signature).toString('base64'),
      ),
    };
    expect(verifyInclusionProof(spliced, trusted, withEngineRule).ok).toBe(false);
  });
});

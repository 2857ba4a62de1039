import { createState, decodeEntry, genesisHash, stateHashHex } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { fixture, replayWithEngine, settableClock } from '../test/helpers.js';
import { sequencedLog } from '../test/sequenced-log.js';
import { Sequencer } from './sequencer.js';
import { snapshotKey } from './storage-format.js';

describe('Sequencer', () => {
  test('numbers accepted entries from 1, chains them from the genesis hash; its state is their replay', () => {
    const { genesis, sequencer, sequenced } = sequencedLog(3, 120);
    expect(sequenced.length).toBeGreaterThan(50);
    let previousHash = genesisHash(genesis);
    sequenced.forEach((item, index) => {
      const decoded = decodeEntry(item.encoding);
      expect(decoded.sequence).toBe(index + 1);
      expect(decoded.previousHash).toEqual(previousHash);
      expect(item.committed.previousHash).toEqual(previousHash);
      previousHash = item.committed.entryHash;
    });
    expect(sequencer.sequence).toBe(sequenced.length);
    expect(sequencer.entryHash).toEqual(previousHash);
    const replayed = replayWithEngine(
      genesis,
      sequenced.map((item) => item.committed),
    );
    expect(stateHashHex(replayed)).toBe(stateHashHex(sequencer.state));
  });

  test('puts a snapshot with every entry whose sequence is a multiple of the interval, after its history', () => {
    const { sequenced } = sequencedLog(3, 80, 25);
    for (const item of sequenced) {
      const sequence = item.committed.sequence;
      const snapshots = item.records.filter((record) => Buffer.from(record.key).equals(snapshotKey(sequence)));
      expect(snapshots.length).toBe(sequence % 25 === 0 ? 1 : 0);
      // After the history records; only the deletion of an obsolete snapshot may follow it.
      if (snapshots.length === 1) {
        const after = item.records.slice(item.records.indexOf(snapshots[0]!) + 1);
        expect(after.every((record) => record.type === 'del')).toBe(true);
      }
    }
  });

  test('refuses a transaction whose signature is not valid before the engine sees it, and counts it', () => {
    const { entries, genesis } = fixture(3, 10);
    const state = createState(genesis);
    const sequencer = new Sequencer(
      state,
      { sequence: 0, entryHash: genesisHash(genesis) },
      () => entries[0]!.logTimeMs,
      10,
      undefined,
    );
    const before = stateHashHex(state);
    const refusal = sequencer.refusal(entries[0]!.transaction, 'invalid', sequencer.nextLogTime());
    expect(refusal?.outcome.accepted).toBe(false);
    expect(refusal?.outcome.accepted === false && refusal.outcome.rejection.code).toBe('INVALID_SIGNATURE');
    expect(refusal?.sequence).toBeUndefined();
    expect(sequencer.rejectedTransactions).toBe(1);
    expect(sequencer.refusal(entries[0]!.transaction, 'valid', 0)).toBeUndefined();
    expect(stateHashHex(state)).toBe(before);
  });

  test('log time never goes back, and a clock that gives no time is an error', () => {
    const { entries, genesis } = fixture(3, 10);
    const clock = settableClock(entries[0]!.logTimeMs);
    const sequencer = new Sequencer(
      createState(genesis),
      { sequence: 0, entryHash: genesisHash(genesis) },
      clock.clock,
      10,
      undefined,
    );
    const first = sequencer.apply(entries[0]!.transaction, sequencer.nextLogTime());
    expect('committed' in first).toBe(true);
    clock.set(entries[0]!.logTimeMs - 5_000);
    expect(sequencer.nextLogTime()).toBe(entries[0]!.logTimeMs);
    clock.set(Number.NaN);
    expect(() => sequencer.nextLogTime()).toThrow(/not a time in milliseconds/);
  });
});

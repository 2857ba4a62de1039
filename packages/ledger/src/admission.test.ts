import { describe, expect, test } from 'vitest';
import { recordingLogger, settableClock } from '../test/helpers.js';
import { Admission } from './admission.js';

describe('Admission', () => {
  test('admits up to the bound, counts the peak, and frees a slot per answer', () => {
    const admission = new Admission(2, () => 0, recordingLogger().logger);
    expect(admission.full()).toBe(false);
    admission.admit();
    admission.admit();
    expect(admission.full()).toBe(true);
    admission.answered();
    expect(admission.full()).toBe(false);
    expect(admission.pendingTransactions).toBe(1);
    expect(admission.peakPendingTransactions).toBe(2);
  });

  test('warns once when refusals start and once, with the count, when an admission comes a quiet second later', () => {
    const log = recordingLogger();
    const clock = settableClock(1_000);
    const admission = new Admission(1, clock.clock, log.logger);
    admission.admit();
    for (let index = 0; index < 5; index += 1) admission.refuse();
    expect(admission.overloadedTransactions).toBe(5);
    expect(log.lines.filter((line) => line.msg.startsWith('ledger overloaded')).length).toBe(1);
    admission.answered();
    clock.set(1_500);
    admission.admit(); // within the quiet time: the episode goes on
    admission.answered();
    expect(log.lines.some((line) => line.msg === 'ledger overload over')).toBe(false);
    clock.set(2_000);
    admission.admit();
    const over = log.lines.filter((line) => line.msg === 'ledger overload over');
    expect(over.length).toBe(1);
    expect(over[0]!.refusedTransactions).toBe(5);
  });

  test('at close an episode under way is reported however recent its last refusal', () => {
    const log = recordingLogger();
    const admission = new Admission(1, () => 0, log.logger);
    admission.admit();
    admission.refuse();
    admission.endEpisodeWhenQuiet(true);
    expect(log.lines.filter((line) => line.msg === 'ledger overload over').length).toBe(1);
  });
});

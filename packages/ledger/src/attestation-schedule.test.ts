import type { Attestation } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { recordingLogger } from '../test/helpers.js';
import { AttestationSchedule } from './attestation-schedule.js';
import { eventLoopScheduler } from './node-options.js';

/** Only the sequence matters to the schedule. */
const attestationAt = (sequence: number): Attestation => ({ sequence }) as Attestation;

describe('AttestationSchedule', () => {
  test('serves the latest durable attestation, tells subscribers in order, survives one that throws', () => {
    const log = recordingLogger();
    const schedule = new AttestationSchedule(undefined, attestationAt(4), eventLoopScheduler, () => 0, log.logger);
    expect(schedule.latest?.sequence).toBe(4);
    const heard: number[] = [];
    schedule.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    const unsubscribe = schedule.subscribe((attestation) => heard.push(attestation.sequence));
    schedule.durable(attestationAt(8));
    unsubscribe();
    schedule.durable(attestationAt(12));
    expect(heard).toEqual([8]);
    expect(schedule.latest?.sequence).toBe(12);
    expect(log.lines.filter((line) => line.msg === 'ledger: an attestation subscriber threw').length).toBe(2);
  });

  test('a waiter is released by its attestation or a later one, and rejected when the node halts', async () => {
    const schedule = new AttestationSchedule(
      undefined,
      undefined,
      eventLoopScheduler,
      () => 0,
      recordingLogger().logger,
    );
    const released: number[] = [];
    const early = schedule.whenDurable(5, undefined).then(() => released.push(5));
    const late = schedule.whenDurable(20, undefined);
    schedule.durable(attestationAt(10));
    await early;
    expect(released).toEqual([5]);
    await expect(schedule.whenDurable(10, undefined)).resolves.toBeUndefined();
    const halted = new Error('halted');
    schedule.fail(halted);
    await expect(late).rejects.toBe(halted);
    await expect(schedule.whenDurable(30, halted)).rejects.toBe(halted);
  });
});

/**
 * The HTTP fuzzer: a seeded generator that sends controls, mutated requests
 * and replays one at a time, and has the oracle judge every answer.
 */
import { TestKey } from '../../src/test-support.js';
import { bodyMutations } from './body-mutations.js';
import { ControlFactory, controlOf } from './controls.js';
import type { FuzzExchange } from './exchange.js';
import { headerMutations, resignedMutations } from './header-mutations.js';
import { malformedHttp } from './malformed-http.js';
import { nativeMutation } from './native-mutations.js';
import { Oracle, type Tally } from './oracle.js';
import { controlPercent, replayPercent } from './parameters.js';
import { queryMutations } from './query-mutations.js';
import { replayCodesFor, replayOf } from './replays.js';
import { SeededRandom } from './seeded-random.js';
import { flipBit } from './signature-bytes.js';
import {
  type Control,
  headerOf,
  type Mutated,
  type MutationChoices,
  type MutationContext,
  wireOf,
  withHeader,
} from './wire.js';

export class HttpFuzzer implements MutationContext {
  readonly random: SeededRandom;
  readonly traders: TestKey[];
  readonly stranger: TestKey;
  readonly oracle: Oracle;
  readonly controls: ControlFactory;

  constructor(exchange: FuzzExchange, seed: number) {
    this.random = new SeededRandom(seed ^ 0x5bd1e995);
    this.traders = [0, 1, 2].map(() => new TestKey(this.random.bytes(32)));
    this.stranger = new TestKey(this.random.bytes(32));
    this.oracle = new Oracle(exchange, seed);
    this.controls = new ControlFactory(this.random, this.traders, seed, () => this.oracle.exchange.operatorKey);
  }

  get exchange(): FuzzExchange {
    return this.oracle.exchange;
  }
  /** After a restart: the same data directory, a new node and server. */
  set exchange(exchange: FuzzExchange) {
    this.oracle.exchange = exchange;
  }
  get tally(): Tally {
    return this.oracle.tally;
  }
  get failures(): string[] {
    return this.oracle.failures;
  }
  get acceptedMessages(): ReadonlySet<string> {
    return this.oracle.acceptedMessages;
  }
  private get accepted(): readonly Control[] {
    return this.oracle.accepted;
  }

  /** Sends a control; an accepted one teaches the controls its order and client ids. */
  async sendControl(control: Control): Promise<void> {
    const answer = await this.oracle.sendControl(control);
    if (answer !== undefined) this.controls.learnFrom(control, answer.body);
  }

  /** A hostile request derived from a fresh, never-sent control. */
  mutate(): Mutated {
    const roll = this.random.below(100);
    if (roll < 12) return nativeMutation(this.controls);
    if (roll < 15) return malformedHttp(this.random, this.controls.newSignedSpec('transaction'));
    const spec = this.controls.newSignedSpec(roll < 30 ? 'query' : 'transaction');
    const request = wireOf(spec);
    const choices: MutationChoices = [
      ...headerMutations(this, spec, request),
      ...(spec.route.method === 'GET'
        ? queryMutations(this.random, spec, request)
        : bodyMutations(this.random, spec, request)),
      ...resignedMutations(this, spec),
    ];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const mutated = this.random.pick(choices)();
      if (mutated !== undefined) return mutated;
    }
    return {
      label: 'header:signatureBitFlip',
      request: withHeader(request, 'x-signature', flipBit(headerOf(request, 'x-signature')!, this.random)),
      codes: ['INVALID_SIGNATURE'],
    };
  }

  // -- The run --------------------------------------------------------------

  async step(): Promise<void> {
    this.oracle.requestIndex += 1;
    const roll = this.random.below(100);
    if (roll < controlPercent) {
      const control = this.random.chance(15)
        ? this.controls.nativeControl()
        : (() => {
            const spec = this.controls.newSignedSpec();
            return controlOf(spec, `control:${spec.route.name}`);
          })();
      await this.sendControl(control);
      return;
    }
    if (roll < controlPercent + replayPercent && this.accepted.length > 0) {
      this.tally.replays += 1;
      await this.oracle.sendRefused(replayOf(this.random, this.random.pick(this.accepted)), this.tally.replaysByCode);
      return;
    }
    this.tally.mutated += 1;
    await this.oracle.sendRefused(this.mutate(), this.tally.rejectedByCode);
  }

  /** Sends controls with the longest window until `count` are accepted; they can be replayed for a minute. */
  async acceptControls(wanted: number): Promise<void> {
    let accepted = 0;
    for (let attempt = 0; attempt < wanted * 10 && accepted < wanted; attempt += 1) {
      const before = this.tally.acceptedControls;
      const spec = { ...this.controls.newSignedSpec('transaction') };
      const long = { ...spec, window: '60000', signedWindow: '60000' };
      await this.sendControl(controlOf(long, `control:${spec.route.name}`));
      if (this.tally.acceptedControls > before) accepted += 1;
    }
  }

  /** Replays every remembered accepted transaction, exactly; counts the codes in `record`. */
  async replayAll(record: Record<string, number>): Promise<void> {
    for (const control of this.accepted) {
      this.tally.replays += 1;
      await this.oracle.sendRefused(
        { label: 'replay:exactBytes', request: control.request, codes: replayCodesFor(control) },
        record,
      );
    }
  }
}

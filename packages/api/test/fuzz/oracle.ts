/**
 * The fuzzer's oracle: sends one request and judges the answer. A mutated
 * request or a replay is never 2xx; a control transaction is 2xx at most once
 * per signed message; every error is exactly `{code, message}` with a
 * catalogue code and the HTTP status docs/api.md gives it; the head moves by
 * one for an accepted transaction and not at all for a refusal, and the state
 * hash does not change without an entry; nothing answers 5xx.
 */
import { resultCodes, stateHashHex } from '@vex/engine';
import type { FuzzExchange } from './exchange.js';
import { type Answer, send } from './send.js';
import type { Control, Mutated, WireRequest } from './wire.js';

// The docs' catalogue: which HTTP statuses each code may come with (docs/api.md, Conventions).
const statusesByCode: Readonly<Record<string, readonly number[]>> = {
  INVALID_CLIENT_REQUEST: [400, 415],
  INVALID_TIMESTAMP: [400],
  INVALID_WINDOW: [400],
  INVALID_INSTRUCTION: [400],
  INVALID_MARKET: [400],
  INVALID_ASSET: [400],
  INVALID_ORDER: [400],
  INVALID_QUANTITY: [400],
  INVALID_PRICE: [400],
  INSUFFICIENT_FUNDS: [400],
  ORDER_LIMIT: [400],
  ORDER_VALUE_TOO_SMALL: [400],
  ORDER_WOULD_NOT_FILL: [400],
  INVALID_SIGNATURE: [401],
  UNAUTHORIZED: [401],
  RESOURCE_NOT_FOUND: [404],
  NOT_FOUND: [404],
  DUPLICATE_REQUEST: [409],
  DUPLICATE_DEPOSIT: [409],
  ALREADY_EXISTS: [409],
  REQUEST_TOO_LARGE: [413, 431],
};
/** A control may be refused only by execution (its funds, its order), never for its form. */
const controlRefusalCodes = [
  'INSUFFICIENT_FUNDS',
  'RESOURCE_NOT_FOUND',
  'INVALID_ORDER',
  'ORDER_LIMIT',
  'ORDER_VALUE_TOO_SMALL',
  'ORDER_WOULD_NOT_FILL',
];
export const replayCodes = ['DUPLICATE_REQUEST', 'INVALID_TIMESTAMP'];

export interface Tally {
  seed: number;
  sent: number;
  controls: number;
  acceptedControls: number;
  acceptedControlQueries: number;
  refusedControlsByCode: Record<string, number>;
  mutated: number;
  rejectedByCode: Record<string, number>;
  rejectedByStatus: Record<string, number>;
  replays: number;
  replaysByCode: Record<string, number>;
  replaysAfterSnapshot: Record<string, number>;
  replaysAfterRestart: Record<string, number>;
  wronglyAccepted: number;
  appendedByRejected: number;
  serverErrors: number;
  /** Malformed-HTTP answers whose body is not `{code, message}` (the known defect above). */
  malformedHttpAnswersWithoutCatalogueBody: number;
  labels: Record<string, number>;
  logEntries?: number;
  recoveredFromSnapshot?: number | null;
  replayedStateHashMatches?: boolean;
  wallMs?: number;
}

function isCatalogueError(answer: Answer): boolean {
  const body = answer.body as Record<string, unknown> | undefined;
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof body.code === 'string' &&
    Object.hasOwn(resultCodes, body.code) &&
    typeof body.message === 'string'
  );
}

export const count = (record: Record<string, number>, key: string): void => {
  record[key] = (record[key] ?? 0) + 1;
};

export function newTally(seed: number): Tally {
  return {
    seed,
    sent: 0,
    controls: 0,
    acceptedControls: 0,
    acceptedControlQueries: 0,
    refusedControlsByCode: {},
    mutated: 0,
    rejectedByCode: {},
    rejectedByStatus: {},
    replays: 0,
    replaysByCode: {},
    replaysAfterSnapshot: {},
    replaysAfterRestart: {},
    wronglyAccepted: 0,
    appendedByRejected: 0,
    serverErrors: 0,
    malformedHttpAnswersWithoutCatalogueBody: 0,
    labels: {},
  };
}

export class Oracle {
  readonly tally: Tally;
  readonly failures: string[] = [];
  /** Signed messages (with the signer's key) of accepted control transactions. */
  readonly acceptedMessages = new Set<string>();
  /** Accepted control transactions, newest last, for replays. */
  readonly accepted: Control[] = [];
  /** The number of the request being sent, for the failure report. */
  requestIndex = 0;

  constructor(
    /** The exchange now open (it is reopened part-way through). */
    public exchange: FuzzExchange,
    seed: number,
  ) {
    this.tally = newTally(seed);
  }

  fail(problem: string, request: WireRequest, answer: Answer | undefined): void {
    const shown = { ...request, body: request.body?.slice(0, 400), raw: request.raw?.slice(0, 400) };
    if (this.failures.length < 25) {
      this.failures.push(
        `request ${this.requestIndex} (FUZZ_SEED=${this.tally.seed}): ${problem}\n` +
          `  request: ${JSON.stringify(shown)}\n` +
          `  answer: ${answer === undefined ? '-' : `${answer.status} ${answer.text.slice(0, 300)}`}`,
      );
    }
  }

  private head(): { sequence: number; sequenced: number } {
    return {
      sequence: this.exchange.node.head().sequence,
      sequenced: this.exchange.node.statistics().sequencedEntries,
    };
  }

  /** The state hash after the last accepted entry: a refused request must leave it as it is. */
  private knownStateHash: string | undefined;
  private stateHash(): string {
    return stateHashHex(this.exchange.node.state);
  }

  /** Checks an error answer's shape, code and status; returns the code. */
  private checkError(request: WireRequest, answer: Answer, codes: readonly string[] | undefined): string | undefined {
    const body = answer.body as Record<string, unknown> | undefined;
    if (answer.status >= 500) {
      this.tally.serverErrors += 1;
      this.fail(`server error ${answer.status}`, request, answer);
      return undefined;
    }
    if (
      typeof body !== 'object' ||
      body === null ||
      Array.isArray(body) ||
      Object.keys(body).sort().join(',') !== 'code,message' ||
      typeof body.code !== 'string' ||
      typeof body.message !== 'string'
    ) {
      this.fail('the error is not exactly {code, message}', request, answer);
      return undefined;
    }
    const code = body.code;
    if (!Object.hasOwn(resultCodes, code)) this.fail(`code ${code} is not in the catalogue`, request, answer);
    else if (!(statusesByCode[code] ?? []).includes(answer.status))
      this.fail(`code ${code} with status ${answer.status}, not as docs/api.md gives it`, request, answer);
    if (codes !== undefined && !codes.includes(code))
      this.fail(`expected ${codes.join(' or ')}, got ${code}`, request, answer);
    return code;
  }

  /** Sends a control; returns the answer when it was an accepted transaction. */
  async sendControl(control: Control): Promise<Answer | undefined> {
    this.tally.sent += 1;
    this.tally.controls += 1;
    count(this.tally.labels, control.label);
    const before = this.head();
    const answer = await send(this.exchange.baseUrl, control.request);
    const after = this.head();
    const stateHash = this.stateHash();
    const appliedTransaction = answer.status >= 200 && answer.status < 300 && control.kind === 'transaction';
    if (!appliedTransaction && this.knownStateHash !== undefined && stateHash !== this.knownStateHash)
      this.fail('a query or a refused control changed the state', control.request, answer);
    this.knownStateHash = stateHash;
    if (answer.status >= 200 && answer.status < 300) {
      if (control.kind === 'query') {
        this.tally.acceptedControlQueries += 1;
        if (after.sequence !== before.sequence) this.fail('a query appended to the log', control.request, answer);
        return undefined;
      }
      const identity = `${control.apiKey} ${control.message}`;
      if (this.acceptedMessages.has(identity)) {
        this.tally.wronglyAccepted += 1;
        this.fail('a signed message was accepted twice', control.request, answer);
      }
      this.acceptedMessages.add(identity);
      this.tally.acceptedControls += 1;
      if (after.sequence !== before.sequence + 1)
        this.fail(
          `an accepted transaction moved the head from ${before.sequence} to ${after.sequence}`,
          control.request,
          answer,
        );
      this.accepted.push(control);
      if (this.accepted.length > 400) this.accepted.shift();
      return answer;
    }
    const code = this.checkError(control.request, answer, controlRefusalCodes);
    if (code !== undefined) count(this.tally.refusedControlsByCode, code);
    if (after.sequence !== before.sequence || after.sequenced !== before.sequenced) {
      this.tally.appendedByRejected += 1;
      this.fail('a refused control appended to the log', control.request, answer);
    }
    return undefined;
  }
  /** Sends a request that must be refused; `record` picks the tally it counts in. */
  async sendRefused(mutated: Mutated, record: Record<string, number>): Promise<string | undefined> {
    this.tally.sent += 1;
    count(this.tally.labels, mutated.label);
    const before = this.head();
    let answer: Answer;
    try {
      answer = await send(this.exchange.baseUrl, mutated.request);
    } catch (error) {
      this.fail(
        `the request failed: ${error instanceof Error ? error.message : String(error)}`,
        mutated.request,
        undefined,
      );
      return undefined;
    }
    const after = this.head();
    let code: string | undefined;
    if (answer.status < 400 && (answer.status < 200 || answer.status >= 300))
      this.fail(`status ${answer.status} is neither a success nor an error`, mutated.request, answer);
    if (answer.status >= 200 && answer.status < 300) {
      this.tally.wronglyAccepted += 1;
      this.fail(`ACCEPTED a request that must be refused (${mutated.label})`, mutated.request, answer);
    } else if (mutated.malformedHttp === true && !isCatalogueError(answer)) {
      // The server's clientErrorHandler answers refused HTTP in the catalogue's shape too.
      this.tally.malformedHttpAnswersWithoutCatalogueBody += 1;
      this.fail(`malformed HTTP answered ${answer.status} without a {code, message} body`, mutated.request, answer);
    } else {
      code = this.checkError(mutated.request, answer, mutated.codes);
      count(record, code ?? `status ${answer.status}`);
      count(this.tally.rejectedByStatus, String(answer.status));
    }
    const stateHash = this.stateHash();
    if (this.knownStateHash !== undefined && stateHash !== this.knownStateHash && after.sequence === before.sequence) {
      this.fail(`the state changed without an entry (${mutated.label})`, mutated.request, answer);
    }
    this.knownStateHash = stateHash;
    if (after.sequence !== before.sequence || after.sequenced !== before.sequenced) {
      if (answer.status < 200 || answer.status >= 300) this.tally.appendedByRejected += 1;
      this.fail(
        `the log moved from ${before.sequence} to ${after.sequence} (${mutated.label})`,
        mutated.request,
        answer,
      );
    }
    return code;
  }
}

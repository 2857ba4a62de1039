/**
 * Submitting a signed transaction to the node and turning its outcome into
 * an HTTP answer. A request is answered only once submit() resolves, that is
 * once the entry is synced to disk: an acknowledged request is durable.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { InstructionResult, SignedTransaction } from '@vex/engine';
import { ApiError } from './errors.js';
import type { ExchangeNodePort } from './node-port.js';

export interface Committed {
  readonly sequence: number;
  readonly logTimeMs: number;
  readonly results: readonly InstructionResult[];
}

/**
 * The Retry-After of an overload 429: a full admission bound drains in about
 * 0.6 to 2 s at the node's capacity (NodeOptions.maximumPendingTransactions),
 * so a second is the right order for a client to wait before trying again.
 */
export const overloadRetryAfterSeconds = 1;
/** The Retry-After of a 503 while the node retries a write that found no free file descriptor. */
export const storageBusyRetryAfterSeconds = 1;

export async function submitTransaction(
  node: ExchangeNodePort,
  transaction: SignedTransaction,
  log: FastifyBaseLogger,
): Promise<Committed> {
  let result;
  try {
    result = await node.submit(transaction);
  } catch (error) {
    // The node refuses work once it is closing (LedgerClosedError) or has halted after a
    // failed write (LedgerHaltedError): the client may retry against a restarted node.
    const name = error instanceof Error ? error.name : '';
    // Overload is the node protecting itself, not a fault: the client backs off and sends the same request again
    // (it was not logged). No warning here, as one per refusal would add work at the worst moment; the error
    // handler answers it like any 429, with Retry-After.
    if (name === 'LedgerOverloadedError') {
      throw new ApiError(
        'TOO_MANY_REQUESTS',
        `The exchange is overloaded and did not take this request (nothing was logged); send it again in ${overloadRetryAfterSeconds} s.`,
      );
    }
    if (name === 'LedgerStorageBusyError') {
      const busy = new ApiError('SERVICE_UNAVAILABLE', `${(error as Error).message}`);
      busy.retryAfterSeconds = storageBusyRetryAfterSeconds;
      throw busy;
    }
    if (name === 'LedgerClosedError' || name === 'LedgerHaltedError') {
      log.warn({ err: error }, 'the node refused a transaction');
      throw new ApiError('SERVICE_UNAVAILABLE', `The node is not accepting transactions: ${(error as Error).message}`);
    }
    log.error({ err: error }, 'node.submit failed');
    throw new ApiError('SERVER_ERROR', 'The node failed to process the transaction.');
  }
  const outcome = result.outcome;
  if (!outcome.accepted) throw new ApiError(outcome.rejection.code, outcome.rejection.message);
  if (result.sequence === undefined)
    throw new ApiError('SERVER_ERROR', 'The node accepted the transaction without a sequence.');
  return { sequence: result.sequence, logTimeMs: result.logTimeMs, results: outcome.results };
}

/** The value of an accepted single-instruction transaction, or its rejection as an ApiError. */
export function onlyResult(committed: Committed): Extract<InstructionResult, { ok: true }>['value'] {
  const first = committed.results[0];
  if (first === undefined) throw new ApiError('SERVER_ERROR', 'The node returned no result.');
  if (!first.ok) throw new ApiError(first.rejection.code, first.rejection.message);
  return first.value;
}

/**
 * The ledger's errors. A RecoveryError stops start-up; the node never repairs
 * a damaged log by itself (beyond dropping a torn tail, see
 * docs/log-format.md), so each one names what is wrong and where.
 */

export type RecoveryProblem =
  | 'genesis-mismatch'
  | 'storage-format'
  | 'missing-genesis'
  | 'corrupt-entry'
  | 'missing-entry'
  | 'broken-chain'
  | 'invalid-signature'
  | 'entry-rejected'
  | 'corrupt-snapshot'
  | 'snapshot-mismatch'
  | 'attestation-mismatch'
  | 'invariant-violation';

export class RecoveryError extends Error {
  override readonly name = 'RecoveryError';

  constructor(
    /** What kind of damage was found. */
    readonly problem: RecoveryProblem,
    /** The ledger directory (<dataDirectory>/ledger). */
    readonly location: string,
    /** The entry (or snapshot) sequence the problem is at, when there is one. */
    readonly sequence: number | undefined,
    /** What exactly is wrong, in one sentence. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${sequence === undefined ? '' : `entry ${sequence}: `}${detail} [${problem}]`, options);
  }

  /** A multi-line explanation for a command-line tool to print. */
  describe(): string {
    return [
      `The ledger at ${this.location} cannot be opened.`,
      `  Problem:  ${this.problem}`,
      ...(this.sequence === undefined ? [] : [`  Sequence: ${this.sequence}`]),
      `  Detail:   ${this.detail}`,
      'Nothing was changed on disk. The node does not repair a damaged log by itself:',
      'restore the ledger directory from a backup, or rebuild it from a verified export.',
    ].join('\n');
  }
}

/**
 * The node stopped accepting work because the disk and the in-memory state
 * may disagree (a batch write failed, or the engine threw). Every pending and
 * later submit() rejects with it; restart the node to recover from disk.
 */
export class LedgerHaltedError extends Error {
  override readonly name = 'LedgerHaltedError';
}

/** submit() after close() was called. */
export class LedgerClosedError extends Error {
  override readonly name = 'LedgerClosedError';
}

/**
 * submit() found the node at its bound of transactions in flight
 * (NodeOptions.maximumPendingTransactions). The transaction was refused at
 * once: nothing was logged and the state is untouched, so the same signed
 * request may simply be sent again later. Overload becomes refusals instead
 * of a queue that grows until memory or every client's timeout runs out.
 */
export class LedgerOverloadedError extends Error {
  override readonly name = 'LedgerOverloadedError';

  constructor(
    /** The bound that was reached. */
    readonly maximumPendingTransactions: number,
  ) {
    super(
      `The ledger is overloaded: ${maximumPendingTransactions} transactions are already in flight, its limit. ` +
        'This one was refused unseen (nothing was logged); send it again shortly.',
    );
  }
}

/**
 * submit() found storage short of file descriptors ("Too many open files"):
 * the batch being written is retried, and meanwhile new transactions are
 * refused at once, logging nothing, so the same signed request may be sent
 * again shortly. The node halts only if the condition lasts longer than
 * NodeOptions.storageRetryLimitMs.
 */
export class LedgerStorageBusyError extends Error {
  override readonly name = 'LedgerStorageBusyError';
}

/**
 * Whether `error` (or an error in its cause chain) is the process running
 * out of file descriptors: LevelDB reports it as an IO error whose message
 * ends "Too many open files"; Node's own calls as EMFILE (per process) or
 * ENFILE (system-wide). It is a transient condition, not damage.
 */
export function isDescriptorExhaustion(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth += 1) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (code === 'EMFILE' || code === 'ENFILE') return true;
    if (typeof message === 'string' && /Too many open files|EMFILE|ENFILE/.test(message)) return true;
    current = cause;
  }
  return false;
}

/**
 * The one catalogue of result codes. Every rejection anywhere in the system
 * (engine, ledger, HTTP API) is one of these, so clients can rely on a single
 * list. The names follow Backpack's error codes where ccxt maps them to typed
 * exceptions (INVALID_SIGNATURE → AuthenticationError, INSUFFICIENT_FUNDS →
 * InsufficientFunds, INVALID_ORDER → InvalidOrder, INVALID_MARKET → BadSymbol,
 * RESOURCE_NOT_FOUND → OrderNotFound).
 */
export const resultCodes = {
  INVALID_SIGNATURE: 'The signature does not verify under the signature rule.',
  INVALID_CLIENT_REQUEST: 'The request is malformed or not canonical.',
  INVALID_TIMESTAMP: 'The timestamp lies outside its window of the log time.',
  INVALID_WINDOW: 'The window is out of range.',
  DUPLICATE_REQUEST: 'This exact signed message has already been applied.',
  UNAUTHORIZED: 'The signer may not issue this instruction.',
  INVALID_INSTRUCTION:
    'The instruction cannot be applied as a transaction here (a query, a listing that breaks the listing rules, or an attestation record out of place).',
  INVALID_MARKET: 'The market does not exist.',
  INVALID_ASSET: 'The asset does not exist.',
  INVALID_ORDER: 'The order is invalid.',
  INVALID_QUANTITY: 'The quantity is invalid, out of range, or more precise than allowed.',
  INVALID_PRICE: 'The price is invalid, out of range, or more precise than allowed.',
  INSUFFICIENT_FUNDS: 'The account does not hold enough available funds.',
  ORDER_LIMIT: "The account already holds the market's maximum number of open orders.",
  ORDER_VALUE_TOO_SMALL: "The order's value is below the market's minimum order value.",
  ORDER_WOULD_NOT_FILL:
    'An order that cannot rest would execute nothing (or a fill-or-kill order could not fill in full).',
  RESOURCE_NOT_FOUND: 'The order, withdrawal or account was not found.',
  DUPLICATE_DEPOSIT: 'This chain transaction has already been credited.',
  ALREADY_EXISTS: 'An asset or market with this symbol already exists.',
  INVALID_LOG_TIME: 'The log time of an entry went backwards.',
  // Margin (docs/margin.md); the Backpack names where Backpack has one.
  INSUFFICIENT_MARGIN: 'The account would fall below its initial margin.',
  BORROW_LIMIT: 'The borrow would take the lending pool above its maximum utilisation.',
  INSUFFICIENT_SUPPLY: 'The lending pool cannot pay out that much now (its cash or its maximum utilisation).',
  ACCOUNT_LIQUIDATING: 'The account is below its maintenance margin; only deposits, repayments and liquidation apply.',
  NOT_LIQUIDATABLE: 'The account is not below its maintenance margin, so it may not be liquidated.',
  PRICE_REJECTED: 'The index price update moves too far, arrives out of order, or names no borrowable asset.',
  COVERAGE_POOL_LOCKED: 'The coverage pool withdrawal is not due yet, or no matching request exists.',
  // HTTP API codes (packages/api): never produced by the engine.
  TOO_MANY_REQUESTS: 'Too many requests; slow down and retry later.',
  REQUEST_TOO_LARGE: 'The request body is larger than the server accepts.',
  NOT_FOUND: 'No such route.',
  SERVICE_UNAVAILABLE: 'The node is shutting down or has halted; retry later.',
  SERVER_ERROR: 'An unexpected server error.',
} as const;

export type ResultCode = keyof typeof resultCodes;

/** A rejection: data, not an exception. The state it was applied to is unchanged. */
export interface Rejection {
  readonly code: ResultCode;
  readonly message: string;
  /** A machine-readable reason under the code (camelCase; docs/margin.md lists the margin ones), when set. */
  readonly reason?: string;
}

export function reject(code: ResultCode, message?: string, reason?: string): Rejection {
  const text = message ?? resultCodes[code];
  return reason === undefined ? { code, message: text } : { code, message: text, reason };
}

export function isRejection(value: unknown): value is Rejection {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}

/**
 * Thrown only for bugs and broken invariants. The node halts on it rather than
 * run on in a state that may be wrong.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

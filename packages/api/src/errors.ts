/**
 * Errors as the API answers them: always `{code, message}` with `code` from
 * the one catalogue (packages/engine/src/result-codes.ts) and an HTTP status
 * that says what kind of failure it is.
 */
import { resultCodes, type Rejection, type ResultCode } from '@vex/engine';

/** The HTTP status for each result code; anything not listed is 400. */
const statusByCode: Partial<Record<ResultCode, number>> = {
  INVALID_SIGNATURE: 401,
  UNAUTHORIZED: 401,
  RESOURCE_NOT_FOUND: 404,
  NOT_FOUND: 404,
  DUPLICATE_REQUEST: 409,
  DUPLICATE_DEPOSIT: 409,
  ALREADY_EXISTS: 409,
  REQUEST_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  // The sequencer assigns log times, so this is never the client's fault.
  INVALID_LOG_TIME: 500,
  SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

export function httpStatusFor(code: string): number {
  return statusByCode[code as ResultCode] ?? 400;
}

export function isResultCode(code: unknown): code is ResultCode {
  return typeof code === 'string' && Object.hasOwn(resultCodes, code);
}

/** An error the API answers with; thrown from hooks and handlers. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  /** A catalogue code; a code the node reports that is not in the catalogue passes through unchanged. */
  readonly code: string;
  /** Sent as Retry-After when set (a refusal the client should simply repeat later). */
  retryAfterSeconds: number | undefined;
  constructor(code: ResultCode | (string & {}), message?: string, statusCode?: number) {
    super(message ?? (isResultCode(code) ? resultCodes[code] : code));
    this.code = code;
    this.statusCode = statusCode ?? httpStatusFor(code);
  }

  static from(rejection: Rejection): ApiError {
    return new ApiError(rejection.code, rejection.message);
  }
}

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

/** The JSON schema of every error response, for the OpenAPI document. */
export const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

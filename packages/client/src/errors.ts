/**
 * The two kinds of failure the SDK reports.
 *
 * ExchangeError: the exchange (or the network) refused the request. The
 * server answers `{"code": "...", "message": "..."}` with an HTTP error
 * status; `code` is one of the exchange's result codes (INVALID_SIGNATURE,
 * INSUFFICIENT_FUNDS, INVALID_ORDER, ...). Two codes are made up by the SDK:
 * NETWORK_ERROR (no HTTP response at all, `status` 0) and HTTP_<status> (an
 * error response without a JSON `{code, message}` body, e.g. from a proxy).
 *
 * ClientInputError: the input cannot be signed or sent, so nothing was sent
 * (a value with no stable text form, a missing secret, a malformed key).
 */
export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status, or 0 when no response arrived. */
    readonly status: number,
    /** The parsed response body, when there was one. */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export class ClientInputError extends Error {
  override readonly name = 'ClientInputError';
}

/** Whether a parsed response body is Backpack's error shape `{code, message}`. */
export function isErrorBody(value: unknown): value is { readonly code: string; readonly message?: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/** The ExchangeError for a response the server refused, from its status and body text. */
export function errorFromResponse(status: number, statusText: string, text: string): ExchangeError {
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's HTML page, say): reported below as HTTP_<status>.
  }
  if (isErrorBody(body)) {
    const message = typeof body.message === 'string' && body.message.length > 0 ? body.message : body.code;
    return new ExchangeError(body.code, message, status, body);
  }
  const snippet = text.trim().slice(0, 200);
  const message = snippet.length > 0 ? snippet : statusText.length > 0 ? statusText : `HTTP status ${status}`;
  return new ExchangeError(`HTTP_${status}`, message, status, body);
}

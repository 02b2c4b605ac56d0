/**
 * One table of error codes. The HTTP layer maps each code to its status and to Pipe's error
 * envelope; jobs read `retryable` to decide whether another attempt can help.
 */
export const ERROR_CODES = {
  unauthorized: { status: 401, retryable: false },
  forbidden: { status: 403, retryable: false },
  not_found: { status: 404, retryable: false },
  method_not_allowed: { status: 405, retryable: false },
  bad_request: { status: 400, retryable: false },
  conflict: { status: 409, retryable: false },
  gone: { status: 410, retryable: false },
  precondition_failed: { status: 412, retryable: false },
  payload_too_large: { status: 413, retryable: false },
  unsupported_media: { status: 415, retryable: false },
  rate_limited: { status: 429, retryable: true },
  media_unreadable: { status: 422, retryable: false },
  outbound_blocked: { status: 400, retryable: false },
  timeout: { status: 504, retryable: true },
  upstream: { status: 502, retryable: true },
  internal: { status: 500, retryable: true },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { field?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.field = options.field;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function badRequest(field: string, message: string): AppError {
  return new AppError('bad_request', message, { field });
}

export function notFound(what: string): AppError {
  return new AppError('not_found', `${what} not found`);
}

/** Whether a failed job should be attempted again. Unknown errors are assumed transient. */
export function isRetryable(err: unknown): boolean {
  return err instanceof AppError ? err.retryable : true;
}

// Typed errors: the server's codes (docs/PROTOCOL.md) plus a few client-side ones.

/** Error codes the server sends. */
export const SERVER_ERROR_CODES = Object.freeze([
  "UNAUTHENTICATED",
  "ACCESS_DENIED",
  "NOT_FOUND",
  "BAD_REQUEST",
  "RATE_LIMITED",
  "MESSAGE_TOO_LARGE",
  "NOT_JOINED",
  "CONFLICT",
  "UNAVAILABLE",
  "INTERNAL",
  "PAYLOAD_TOO_LARGE", // HTTP 413: an upload over the server's limit
  "UNSUPPORTED_MEDIA_TYPE", // HTTP 415: an upload of a type the server does not take
  "METHOD_NOT_ALLOWED", // HTTP 405: a route called with a method it does not take
  "QUOTA_EXCEEDED", // HTTP 413: an upload past the user's storage quota
  "INSUFFICIENT_STORAGE", // HTTP 507: the server is low on disk; uploads are paused
]);

/** Error codes the SDK itself produces. */
export const CLIENT_ERROR_CODES = Object.freeze([
  "TIMEOUT", // no reply within the request timeout
  "DISCONNECTED", // the connection dropped before the reply, or was closed
  "NETWORK", // an HTTP request failed before getting a response
  "MEDIA_DENIED", // the user or the page's permissions refused the microphone
  "MEDIA_UNAVAILABLE", // no microphone, or no WebRTC in this context
  "MEDIA", // a WebRTC step failed (an SDP or candidate the browser refused)
]);

export class EarshotError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   * @param {{requestId?: string, retryAfterMs?: number, status?: number, cause?: unknown}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message || code, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = "EarshotError";
    this.code = code;
    if (extra.requestId !== undefined) this.requestId = extra.requestId;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
    if (extra.status !== undefined) this.status = extra.status;
  }

  /** From a socket `error` frame. */
  static fromFrame(frame) {
    return new EarshotError(frame.code || "INTERNAL", frame.message, {
      requestId: frame.request_id,
      retryAfterMs: frame.retry_after_ms,
    });
  }

  /** True for errors worth retrying later with the same request. */
  get retryable() {
    return ["RATE_LIMITED", "UNAVAILABLE", "TIMEOUT", "DISCONNECTED", "NETWORK"].includes(this.code);
  }
}

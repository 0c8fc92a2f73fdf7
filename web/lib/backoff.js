// Exponential backoff with jitter, as plain functions and a tiny stateful
// helper, so the reconnect policy is unit-testable without sockets or timers.

/** Defaults used by EarshotClient for reconnecting. */
export const DEFAULT_BACKOFF = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Infinity,
  /**
   * The longest wait while the page is visible: someone is looking at it, so
   * it comes back within about this long of the server's return (a hidden
   * tab backs off up to `maxDelayMs`).
   */
  visibleMaxDelayMs: 1500,
});

function clamp(x, lo, hi) {
  return Math.min(hi, Math.max(lo, x));
}

/**
 * The delay before retry number `attempt` (0-based).
 *
 * The un-jittered delay is `initialDelayMs * factor^attempt`, capped at
 * `maxDelayMs`. Jitter then takes off up to `jitter` (0..1) of it, so the
 * result is in `[capped * (1 - jitter), capped]`: clients that lost the same
 * server at the same moment spread their retries instead of stampeding.
 *
 * @param {number} attempt
 * @param {Partial<typeof DEFAULT_BACKOFF>} [options]
 * @param {() => number} [random] returns a number in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const o = { ...DEFAULT_BACKOFF, ...options };
  const n = Math.max(0, Math.floor(attempt));
  const raw = o.initialDelayMs * Math.pow(o.factor, n);
  const capped = Math.min(o.maxDelayMs, Number.isFinite(raw) ? raw : o.maxDelayMs);
  const j = clamp(o.jitter, 0, 1);
  const r = clamp(random(), 0, 1);
  return Math.round(capped * (1 - j * r));
}

/**
 * Counts attempts and hands out delays until `maxAttempts` is reached.
 * `next()` returns the delay before the next attempt, or `null` once the
 * attempts are used up; `reset()` after a successful connection.
 */
export class Backoff {
  /**
   * @param {Partial<typeof DEFAULT_BACKOFF>} [options]
   * @param {() => number} [random]
   */
  constructor(options = {}, random = Math.random) {
    this.options = { ...DEFAULT_BACKOFF, ...options };
    this.random = random;
    this.attempt = 0;
  }

  /** True when no attempt is left. */
  get exhausted() {
    return this.attempt >= this.options.maxAttempts;
  }

  /** @returns {number | null} */
  next() {
    if (this.exhausted) return null;
    const delay = backoffDelay(this.attempt, this.options, this.random);
    this.attempt += 1;
    return delay;
  }

  reset() {
    this.attempt = 0;
  }
}

// Request/response correlation by `request_id`: every request gets a fresh
// id, and the reply (or `error`) carrying it settles the request's promise.

import { EarshotError } from "./errors.js";

export class PendingRequests {
  /**
   * @param {{timeoutMs?: number, prefix?: string,
   *          setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout}} [options]
   */
  constructor(options = {}) {
    this.timeoutMs = options.timeoutMs ?? 15000;
    this.prefix = options.prefix ?? "r";
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((t) => clearTimeout(t));
    this.counter = 0;
    /** @type {Map<string, {resolve: Function, reject: Function, timer: any, type: string}>} */
    this.map = new Map();
  }

  /** A fresh request id. */
  nextId() {
    this.counter += 1;
    return `${this.prefix}${this.counter}`;
  }

  /**
   * Register a request; returns its id and a promise settled by `resolve`,
   * `reject`, or a TIMEOUT error after `timeoutMs`.
   * @param {string} type the request's message type (for error messages)
   * @param {number} [timeoutMs]
   */
  create(type, timeoutMs = this.timeoutMs) {
    const requestId = this.nextId();
    let entry;
    const promise = new Promise((resolve, reject) => {
      entry = { resolve, reject, timer: null, type };
    });
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      entry.timer = this.setTimer(() => {
        this.map.delete(requestId);
        entry.reject(new EarshotError("TIMEOUT", `no reply to ${type} within ${timeoutMs} ms`, { requestId }));
      }, timeoutMs);
    }
    this.map.set(requestId, entry);
    return { requestId, promise };
  }

  has(requestId) {
    return this.map.has(requestId);
  }

  /** Settle with a reply frame. Returns false for unknown ids. */
  resolve(requestId, frame) {
    const e = this.take(requestId);
    if (!e) return false;
    e.resolve(frame);
    return true;
  }

  /** Settle with an error. Returns false for unknown ids. */
  reject(requestId, error) {
    const e = this.take(requestId);
    if (!e) return false;
    e.reject(error);
    return true;
  }

  /** Reject every pending request (the connection dropped). */
  rejectAll(makeError) {
    for (const [id, e] of [...this.map]) {
      this.take(id);
      e.reject(typeof makeError === "function" ? makeError(id, e.type) : makeError);
    }
  }

  take(requestId) {
    const e = this.map.get(requestId);
    if (!e) return undefined;
    this.map.delete(requestId);
    if (e.timer !== null) this.clearTimer(e.timer);
    return e;
  }

  get size() {
    return this.map.size;
  }
}

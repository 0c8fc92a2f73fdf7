// The offline send queue. Pure bookkeeping: which messages wait, which are on
// the wire, which were acknowledged or failed. The client decides when to
// send (connected, room joined) and feeds back acks and errors.
//
// Every entry keeps its client message id for its whole life, so sending it
// again (after a reconnect, a rate limit, a manual retry) is idempotent: the
// server stores it at most once and acks a resend with `duplicate: true`.
//
// Order: within a room, entries leave in the order they were queued, and at
// most `maxInFlightPerRoom` (default 1) are on the wire at once, so a
// rejected or rate-limited message is never overtaken by a later one.

/**
 * @typedef {"queued" | "inflight" | "sent" | "failed"} EntryState
 * @typedef {{
 *   clientMsgId: string, roomId: string, frame: object, message: object,
 *   state: EntryState, attempts: number, notBefore: number, error?: unknown
 * }} OutboxEntry
 */

export class Outbox {
  /**
   * @param {{maxAttempts?: number, maxInFlightPerRoom?: number, now?: () => number}} [options]
   */
  constructor(options = {}) {
    this.maxAttempts = options.maxAttempts ?? 10;
    this.maxInFlightPerRoom = options.maxInFlightPerRoom ?? 1;
    this.now = options.now ?? Date.now;
    /** Waiting and in-flight entries, in queue order. @type {Map<string, OutboxEntry>} */
    this.active = new Map();
    /** Failed entries, kept for `retry`. @type {Map<string, OutboxEntry>} */
    this.failed = new Map();
  }

  /** Entries not yet acknowledged or failed. */
  get size() {
    return this.active.size;
  }

  /**
   * Queue a message. `message` is the caller's local message object: its
   * `status` is kept in step (`sending`, `sent`, `failed`).
   * @returns {OutboxEntry}
   */
  enqueue(roomId, frame, message) {
    const clientMsgId = frame.client_msg_id;
    if (!clientMsgId) throw new TypeError("frame.client_msg_id is required");
    const existing = this.active.get(clientMsgId);
    if (existing) return existing;
    this.failed.delete(clientMsgId);
    const entry = { clientMsgId, roomId, frame, message, state: "queued", attempts: 0, notBefore: 0 };
    message.status = "sending";
    delete message.error;
    this.active.set(clientMsgId, entry);
    return entry;
  }

  /** @returns {OutboxEntry | undefined} */
  get(clientMsgId) {
    return this.active.get(clientMsgId) ?? this.failed.get(clientMsgId);
  }

  /** Active entries (optionally of one room), in queue order. */
  pending(roomId) {
    const all = [...this.active.values()];
    return roomId === undefined ? all : all.filter((e) => e.roomId === roomId);
  }

  /**
   * The entries to put on the wire now, marked in flight. `ready(roomId)`
   * says whether a room can take messages (connected and joined).
   * @param {(roomId: string) => boolean} ready
   * @param {number} [now] the time to judge "due" by (pass the same to `nextDueAt`)
   * @returns {OutboxEntry[]}
   */
  take(ready, now = this.now()) {
    const inflight = new Map();
    const blocked = new Set();
    const out = [];
    for (const e of this.active.values()) {
      if (e.state === "inflight") inflight.set(e.roomId, (inflight.get(e.roomId) ?? 0) + 1);
    }
    for (const e of this.active.values()) {
      if (e.state !== "queued" || blocked.has(e.roomId)) continue;
      const busy = inflight.get(e.roomId) ?? 0;
      if (!ready(e.roomId) || e.notBefore > now || busy >= this.maxInFlightPerRoom) {
        blocked.add(e.roomId); // later entries of this room wait their turn
        continue;
      }
      e.state = "inflight";
      e.attempts += 1;
      inflight.set(e.roomId, busy + 1);
      out.push(e);
    }
    return out;
  }

  /**
   * The server stored the message. Fills in the message's id, seq and time.
   * @returns {OutboxEntry | undefined} the entry, if it was still active
   */
  ack(clientMsgId, ack = {}) {
    const e = this.active.get(clientMsgId) ?? this.failed.get(clientMsgId);
    if (!e) return undefined;
    this.active.delete(clientMsgId);
    this.failed.delete(clientMsgId);
    e.state = "sent";
    const m = e.message;
    if (ack.message_id ?? ack.id) m.id = ack.message_id ?? ack.id;
    if (ack.seq !== undefined) m.seq = ack.seq;
    if (ack.created_at !== undefined) m.created_at = ack.created_at;
    m.status = "sent";
    delete m.error;
    return e;
  }

  /** Give up on an entry (a permanent error). */
  fail(clientMsgId, error) {
    const e = this.active.get(clientMsgId);
    if (!e) return undefined;
    this.active.delete(clientMsgId);
    e.state = "failed";
    e.error = error;
    e.message.status = "failed";
    e.message.error = error;
    this.failed.set(clientMsgId, e);
    return e;
  }

  /**
   * Put an in-flight entry back in the queue, to be sent again no sooner
   * than `delayMs` from now (a rate limit, a temporary server error). Fails
   * it instead once it has used `maxAttempts`.
   */
  defer(clientMsgId, delayMs = 0, error) {
    const e = this.active.get(clientMsgId);
    if (!e) return undefined;
    if (e.attempts >= this.maxAttempts) return this.fail(clientMsgId, error ?? new Error("too many attempts"));
    e.state = "queued";
    e.notBefore = this.now() + Math.max(0, delayMs);
    return e;
  }

  /** The connection dropped: everything on the wire goes back in the queue. */
  requeueInFlight() {
    const moved = [];
    for (const e of this.active.values()) {
      if (e.state === "inflight") {
        e.state = "queued";
        moved.push(e);
      }
    }
    return moved;
  }

  /** Queue a failed entry again, with the same client message id. */
  retry(clientMsgId) {
    const e = this.failed.get(clientMsgId);
    if (!e) return this.active.get(clientMsgId);
    this.failed.delete(clientMsgId);
    e.state = "queued";
    e.attempts = 0;
    e.notBefore = 0;
    delete e.error;
    e.message.status = "sending";
    delete e.message.error;
    this.active.set(clientMsgId, e);
    return e;
  }

  /** Fail every active entry (optionally only those of `roomId`). */
  failAll(error, roomId) {
    const failed = [];
    for (const e of [...this.active.values()]) {
      if (roomId === undefined || e.roomId === roomId) failed.push(this.fail(e.clientMsgId, error));
    }
    return failed;
  }

  /**
   * When the earliest entry deferred past `since` becomes due, or null.
   * Pass the time `take` judged by: an entry it found not yet due still
   * counts here if it has fallen due since (a timer firing a moment early).
   */
  nextDueAt(since = this.now()) {
    let t = null;
    for (const e of this.active.values()) {
      if (e.state === "queued" && e.notBefore > since) t = t === null ? e.notBefore : Math.min(t, e.notBefore);
    }
    return t;
  }
}

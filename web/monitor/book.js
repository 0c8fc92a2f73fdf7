// What the call monitor knows of the ongoing calls, kept from the server's
// monitoring messages: `monitor_snapshot` (or `GET /api/monitor/calls`)
// replaces everything, `monitor_call` replaces one call, `connection_quality`
// updates one participant's level at once (before the next round of
// samples), `monitor_call_ended` removes a call. Plain data, no DOM.

/** How long an ended call's id is remembered, so a late `monitor_call` does not bring it back. */
const ENDED_MEMORY = 200;

export class MonitorBook {
  constructor() {
    /** call id -> call view (docs/PROTOCOL.md, `monitor_snapshot`) */
    this.calls = new Map();
    this.ended = [];
    /** When the figures were last brought up to date (ms), and by what: "socket" or "rest". */
    this.updatedAt = null;
    this.via = null;
  }

  _touch(via, now) {
    this.updatedAt = now;
    this.via = via;
  }

  /** Every ongoing call at once (a snapshot, or the REST list). */
  replace(calls, { via = "socket", now = Date.now() } = {}) {
    this.calls = new Map();
    for (const c of calls ?? []) if (c?.id && !this.ended.includes(c.id)) this.calls.set(c.id, copyCall(c));
    this._touch(via, now);
  }

  /** A call started, someone joined or left, or a round of samples was taken. Returns whether the call is new. */
  upsert(call, { now = Date.now() } = {}) {
    if (!call?.id || this.ended.includes(call.id)) return false;
    const isNew = !this.calls.has(call.id);
    const prev = this.calls.get(call.id);
    const next = copyCall(call);
    // The server's view is the truth; only when a level last changed carries over.
    for (const p of next.participants) {
      const old = prev?.participants.find((x) => x.participant_id === p.participant_id);
      if (old?.changedAt) p.changedAt = old.changedAt;
    }
    this.calls.set(call.id, next);
    this._touch("socket", now);
    return isNew;
  }

  /**
   * `connection_quality`: a participant's level changed. Returns the
   * participant, or null when the call or participant is unknown here.
   */
  quality(frame, { now = Date.now() } = {}) {
    const call = this.calls.get(frame.call_id);
    const p = call?.participants.find((x) => x.participant_id === frame.participant_id);
    if (!p) return null;
    const q = { ...(p.quality ?? {}) };
    q.level = frame.level;
    for (const k of ["mos", "loss_pct", "jitter_ms", "rtt_ms"]) if (frame[k] !== undefined) q[k] = frame[k];
    p.quality = q;
    p.changedAt = now;
    this._touch("socket", now);
    return p;
  }

  /** `monitor_call_ended`: the call is over. */
  end(callId, { now = Date.now() } = {}) {
    const had = this.calls.delete(callId);
    this.ended.push(callId);
    if (this.ended.length > ENDED_MEMORY) this.ended.shift();
    this._touch("socket", now);
    return had;
  }

  /** Ongoing calls, oldest first. */
  list() {
    return [...this.calls.values()].sort((a, b) => a.started_at - b.started_at);
  }
}

function copyCall(c) {
  return {
    ...c,
    participants: (c.participants ?? []).map((p) => ({ ...p, quality: p.quality ? { ...p.quality } : null })),
  };
}

// What the call monitor knows of the ongoing calls, kept from the server's
// monitoring messages: `monitor_snapshot` (or `GET /api/monitor/calls`)
// replaces everything, `monitor_call` replaces one call, `connection_quality`
// updates one participant's level at once (before the next round of
// samples), `monitor_call_ended` removes a call, `call_issue` and
// `call_issue_cleared` add and end a call's live issues (kept across the
// call's updates while the people they are about are in it). RTT is measured less often
// than samples are taken (it needs a receiver report or a client report in
// the interval), so a sample without it keeps the last measured RTT, marked
// stale with the time it was measured. Plain data, no DOM.

import { IssueSet } from "../lib/calls/issues.js";

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
    const prev = this.calls;
    this.calls = new Map();
    for (const c of calls ?? []) if (c?.id && !this.ended.includes(c.id)) this.calls.set(c.id, carry(prev.get(c.id), copyCall(c)));
    this._touch(via, now);
  }

  /** A call started, someone joined or left, or a round of samples was taken. Returns whether the call is new. */
  upsert(call, { now = Date.now() } = {}) {
    if (!call?.id || this.ended.includes(call.id)) return false;
    const isNew = !this.calls.has(call.id);
    this.calls.set(call.id, carry(this.calls.get(call.id), copyCall(call)));
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
    for (const k of ["mos", "loss_pct", "jitter_ms"]) if (frame[k] !== undefined) q[k] = frame[k];
    if (isNum(frame.rtt_ms)) {
      q.rtt_ms = frame.rtt_ms;
      q.rtt_stale = false;
    }
    p.quality = q;
    p.changedAt = now;
    this._touch("socket", now);
    return p;
  }

  /**
   * `call_issue` / `call_issue_cleared` for a watched call. Returns whether
   * anything changed.
   */
  issue(frame, { now = Date.now() } = {}) {
    const call = this.calls.get(frame.call_id);
    if (!call) return false;
    const change = call.issues.apply(frame);
    if (change) this._touch("socket", now);
    return !!change;
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

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * The server's view is the truth; from what we had, only when a level last
 * changed and the last measured RTT (for samples without one) carry over.
 */
function carry(prev, next) {
  // Issues come only as frames: keep those about people still in the call.
  if (prev) {
    const present = new Set(next.participants.map((p) => String(p.participant_id)));
    for (const i of prev.issues.active.values()) {
      const involved = [i.participant_id, i.from_participant_id].filter((x) => x !== undefined && x !== null).map(String);
      if (involved.every((id) => present.has(id))) next.issues.apply({ type: "call_issue", ...i });
    }
  }
  for (const p of next.participants) {
    const old = prev?.participants.find((x) => x.participant_id === p.participant_id);
    if (old?.changedAt) p.changedAt = old.changedAt;
    const q = p.quality;
    if (!q) continue;
    if (isNum(q.rtt_ms)) q.rtt_at = q.at;
    else if (isNum(old?.quality?.rtt_ms)) {
      q.rtt_ms = old.quality.rtt_ms;
      q.rtt_at = old.quality.rtt_at ?? old.quality.at;
      q.rtt_stale = true;
    }
  }
  return next;
}

function copyCall(c) {
  const issues = new IssueSet();
  // A server that lists a call's live issues with it: take them.
  for (const i of Array.isArray(c.issues) ? c.issues : []) issues.apply({ type: "call_issue", call_id: c.id, ...i });
  return {
    ...c,
    participants: (c.participants ?? []).map((p) => ({ ...p, quality: p.quality ? { ...p.quality } : null })),
    issues,
  };
}

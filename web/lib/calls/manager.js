// Calls for an EarshotClient: starting and joining, routing call frames to
// the Call they belong to, the active call of each room (from the ring,
// `call_started`, until `call_ended`), re-joining after a reconnect, and
// sending `call_stats` reports.

import { EarshotError } from "../errors.js";
import { Call } from "./call.js";

/** Frames that belong to a call, routed by `call_id`. */
const CALL_FRAMES = new Set([
  "call_participant_joined",
  "call_participant_left",
  "participant_muted",
  "active_speaker",
  "connection_quality",
  "sfu_offer",
  "ice_candidate",
  "call_signal",
  "call_ended",
  "call_left",
  "call_issue",
  "call_issue_cleared",
]);

/** Frames about calls' states, which the manager emits itself. */
export const STATE_FRAMES = new Set(["call_started", "call_updated", "call_ended", "active_calls"]);

export class CallManager {
  constructor(client) {
    this.client = client;
    /** call id -> Call this device is in (or joining) */
    this.calls = new Map();
    /** room id -> call info of the room's active call, as far as we know */
    this.active = new Map();
    /** false once the server said it does not know `call_stats` (until the next connection) */
    this.statsSupported = true;
    /** false once the server said it does not know `report_call_issue` (until the next connection) */
    this.issueReportsSupported = true;
  }

  handles(type) {
    return CALL_FRAMES.has(type) || STATE_FRAMES.has(type);
  }

  /** The call this device is in, if any (the most recent one). */
  get current() {
    let last;
    for (const c of this.calls.values()) last = c;
    return last;
  }

  onFrame(f) {
    if (f.type === "call_started") {
      this.active.set(f.call.room_id, f.call);
      this.client.emit("call_started", f.call, { ringing: f.request_id === undefined });
      return;
    }
    if (f.type === "call_updated") {
      // Someone accepted, declined, was busy or missed it: `call.state` is
      // `ringing` or `active`, `call.invitees` says where each callee stands.
      this.active.set(f.call.room_id, f.call);
      this.calls.get(f.call.id)?._onUpdated(f.call);
      this.client.emit("call_updated", f.call);
      return;
    }
    if (f.type === "active_calls") {
      this._reconcile(f.calls ?? []);
      return;
    }
    if (f.type === "call_ended") {
      const a = this.active.get(f.room_id);
      if (a?.id === f.call_id) this.active.delete(f.room_id);
      for (const [room, info] of this.active) if (info.id === f.call_id) this.active.delete(room);
      this.client.emit("call_ended", f);
    }
    const call = this.calls.get(f.call_id);
    if (call) call._onFrame(f);
  }

  /**
   * Start a call in a room and (unless `join: false`) join it.
   * Resolves with the Call (joined) or the call info (`join: false`).
   */
  async start(roomId, o = {}) {
    const f = await this.client.request("start_call", { room_id: roomId, mode: o.mode ?? "sfu" });
    this.active.set(roomId, f.call);
    if (o.join === false) return f.call;
    return this.join(f.call.id, { ...o, info: f.call });
  }

  /** Join a call by id: opens the microphone, joins, sets up the media. */
  async join(callId, o = {}) {
    const existing = this.calls.get(callId);
    if (existing && existing.state !== "left" && existing.state !== "ended") return existing;
    // One call per device: leave any other first.
    for (const c of [...this.calls.values()]) if (c.id !== callId) await c.leave();
    const info = o.info ?? this._knownInfo(callId) ?? { id: callId, mode: o.mode ?? "sfu", participants: [] };
    const call = new Call(this.client, info, o);
    this.calls.set(callId, call);
    try {
      await call._join();
    } catch (err) {
      call._finish("left", { reason: "join failed", error: err });
      this.calls.delete(callId);
      throw err;
    }
    this.client.emit("call_joined", call);
    return call;
  }

  /**
   * The calls the server says exist after a (re)connection: every call we
   * knew of that is not among them ended while we were away (emitted as
   * `call_ended` with reason `gone`, and left if we were in it); the listed
   * ones replace what we knew.
   */
  _reconcile(calls) {
    const alive = new Set(calls.map((c) => c.id));
    for (const [room, info] of [...this.active]) {
      if (alive.has(info.id)) continue;
      this.active.delete(room);
      this.client.emit("call_ended", { type: "call_ended", call_id: info.id, room_id: room, reason: "gone", outcome: null });
    }
    for (const call of [...this.calls.values()]) {
      if (!alive.has(call.id) && call.state !== "left" && call.state !== "ended") {
        call._finish("ended", { reason: "gone" });
      }
    }
    for (const info of calls) this.active.set(info.room_id, info);
    this.client.emit("active_calls", calls);
  }

  /** Decline a call ringing for this user (`reason`: `busy` or a short text). */
  async decline(callId, reason) {
    await this.client.request("decline_call", reason ? { call_id: callId, reason } : { call_id: callId });
  }

  /** Cancel a call this user placed, before anyone answered. */
  async cancel(callId) {
    await this.client.request("cancel_call", { call_id: callId });
  }

  _knownInfo(callId) {
    for (const info of this.active.values()) if (info.id === callId) return info;
    return undefined;
  }

  _forget(call) {
    if (this.calls.get(call.id) === call) this.calls.delete(call.id);
    if (call.state === "ended") {
      const a = this.active.get(call.roomId);
      if (a?.id === call.id) this.active.delete(call.roomId);
    }
  }

  /** A new connection: the server left our calls when the old one closed. */
  onConnected(resumed) {
    this.statsSupported = true;
    this.issueReportsSupported = true;
    if (!resumed) return;
    for (const call of this.calls.values()) call._rejoin("reconnected");
  }

  onDisconnected() {
    for (const call of this.calls.values()) {
      if (call.state !== "left" && call.state !== "ended") call._setState("reconnecting", { reason: "connection lost" });
    }
  }

  leaveAll() {
    for (const call of [...this.calls.values()]) call._finish("left", { reason: "disconnected" });
  }

  async _sendStats(msg) {
    if (!this.statsSupported) return false;
    const { type, ...payload } = msg;
    try {
      // With a request_id, so the server's answer (ok, or an error) comes
      // back to us instead of surfacing as a stray error event.
      await this.client.request(type, payload, { timeoutMs: 10000 });
      return true;
    } catch (err) {
      if (err.code === "BAD_REQUEST" && /unknown variant/.test(err.message)) {
        // A server without call-quality monitoring: stop sending on this connection.
        this.statsSupported = false;
        this.client.emit("call_stats_unsupported", err);
        return false;
      }
      if (err.code !== "DISCONNECTED") this.calls.get(msg.call_id)?.emit("stats_error", err);
      return false;
    }
  }

  /**
   * Tell the server about an issue this device detected itself
   * (`report_call_issue`: `talking_while_muted`). A server that does not
   * know the message is not asked again on this connection.
   */
  async _reportIssue(payload) {
    if (!this.issueReportsSupported) return false;
    try {
      await this.client.request("report_call_issue", payload, { timeoutMs: 10000 });
      return true;
    } catch (err) {
      if (err.code === "BAD_REQUEST" && /unknown variant/.test(err.message)) this.issueReportsSupported = false;
      else if (err.code !== "DISCONNECTED") this.calls.get(payload.call_id)?.emit("issue_report_error", err);
      return false;
    }
  }

  /**
   * The room's active call, from the ring or, if none was heard, from
   * `GET /api/rooms/{id}/calls` and `GET /api/calls/{id}`.
   */
  async activeCall(roomId, { refresh = false } = {}) {
    if (!refresh && this.active.has(roomId)) return this.active.get(roomId);
    const list = await this.client._rest("GET", `/api/rooms/${encodeURIComponent(roomId)}/calls`);
    if (!list?.active) {
      this.active.delete(roomId);
      return null;
    }
    const rec = (list.calls ?? []).find((c) => c.id === list.active) ?? (await this.client._rest("GET", `/api/calls/${encodeURIComponent(list.active)}`)).call;
    const info = {
      id: rec.id,
      room_id: rec.room_id,
      mode: rec.mode,
      initiator: { id: rec.initiator },
      started_at: rec.started_at,
      participants: (rec.participants ?? []).filter((p) => p.left_at === null || p.left_at === undefined),
    };
    this.active.set(roomId, info);
    return info;
  }
}

export { EarshotError };

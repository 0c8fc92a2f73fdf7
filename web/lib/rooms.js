// The client's book of rooms: which rooms to keep joined, joining and
// re-joining them with `since_seq`, delivering their messages in order with
// no gaps and no duplicates, members and read marks, typing debouncers.
// Used by EarshotClient (`this.c`); not meant to be used on its own.

import { Sequencer } from "./sequencer.js";
import { TypingDebouncer } from "./typing.js";
import { EarshotError } from "./errors.js";

/** Largest page asked for when filling a gap. */
const FILL_PAGE = 200;
/** At most one `mark_delivered` per room this often (ms). */
const DELIVERED_EVERY_MS = 500;

export class RoomBook {
  constructor(client, typingOptions) {
    this.c = client;
    this.typingOptions = typingOptions;
    /** @type {Map<string, any>} */
    this.rooms = new Map();
    /** join request_id -> room id */
    this.joinRequests = new Map();
    this.counter = 0;
  }

  _room(id) {
    let r = this.rooms.get(id);
    if (!r) {
      r = {
        id,
        want: false, // keep joined (re-join after reconnects)
        joined: false, // joined on the current connection
        joining: false,
        everJoined: false,
        info: null,
        members: new Map(),
        lastSeq: 0, // the server's last seq, as far as we know
        seq: null, // Sequencer of delivered messages
        readSent: 0,
        readWanted: 0,
        typing: null,
        waiters: [],
        filling: false,
        lastJoin: null,
      };
      this.rooms.set(id, r);
    }
    return r;
  }

  get me() {
    return this.c.user?.id;
  }

  wants(id) {
    return this.rooms.get(id)?.want === true;
  }

  isJoined(id) {
    const r = this.rooms.get(id);
    return !!r && r.want && r.joined;
  }

  wanted() {
    return [...this.rooms.values()].filter((r) => r.want).map((r) => r.id);
  }

  snapshot(id) {
    const r = this.rooms.get(id);
    if (!r) return undefined;
    return {
      room: r.info,
      members: [...r.members.values()].map((m) => ({ ...m })),
      lastSeq: Math.max(r.lastSeq, r.seq?.lastSeq ?? 0),
      deliveredSeq: r.seq?.lastSeq ?? 0,
      readSeq: Math.max(r.readSent, r.readWanted),
      joined: r.joined,
    };
  }

  // ---- joining ----------------------------------------------------------

  join(id, { sinceSeq, timeoutMs } = {}) {
    const r = this._room(id);
    r.want = true;
    if (sinceSeq !== undefined && r.seq === null) r.seq = new Sequencer(sinceSeq);
    if (r.joined && r.lastJoin) return Promise.resolve(r.lastJoin);
    const p = new Promise((resolve, reject) => {
      const w = { resolve, reject, timer: null };
      const ms = timeoutMs ?? this.c.requests.timeoutMs;
      w.timer = setTimeout(() => {
        r.waiters = r.waiters.filter((x) => x !== w);
        reject(new EarshotError("TIMEOUT", `room ${id} not joined within ${ms} ms`));
      }, ms);
      r.waiters.push(w);
    });
    if (this.c.socket.state === "connected" && !r.joining) this._sendJoin(r);
    return p;
  }

  _sendJoin(r) {
    const rid = `j${++this.counter}`;
    const frame = { type: "join_room", request_id: rid, room_id: r.id };
    if (r.seq) frame.since_seq = r.seq.lastSeq;
    this.joinRequests.set(rid, r.id);
    r.joining = true;
    if (!this.c.socket.send(frame)) {
      this.joinRequests.delete(rid);
      r.joining = false;
    }
  }

  /** After `welcome`: join every room we keep, passing the last seq seen. */
  rejoinAll() {
    for (const r of this.rooms.values()) {
      if (!r.want) continue;
      r.joined = false;
      this._sendJoin(r);
    }
  }

  rejoin(id) {
    const r = this.rooms.get(id);
    if (!r?.want || r.joining || this.c.socket.state !== "connected") return;
    r.joined = false;
    this._sendJoin(r);
  }

  /** Whether `rid` was one of our join requests (forgetting it). */
  ownsRequest(rid) {
    return this.joinRequests.delete(rid);
  }

  onJoined(frame) {
    const id = frame.room?.id;
    if (!id) return;
    const r = this._room(id);
    r.want = true;
    r.joining = false;
    r.joined = true;
    r.info = frame.room;
    r.lastSeq = Math.max(r.lastSeq, frame.last_seq ?? 0);
    r.lastJoin = frame;
    r.members = new Map((frame.members ?? []).map((m) => [m.user.id, { ...m }]));
    for (const m of frame.members ?? []) {
      this.c._setPresenceOf({ user_id: m.user.id, status: m.presence, ...(m.last_seen ? { last_seen: m.last_seen } : {}) });
    }
    const mine = r.members.get(this.me);
    if (mine) r.readSent = Math.max(r.readSent, mine.last_read_seq ?? 0);
    const resumed = r.everJoined;
    r.everJoined = true;
    const missed = frame.missed ?? [];
    if (!r.seq) r.seq = new Sequencer(missed.length ? missed[0].seq - 1 : frame.last_seq ?? 0);
    this.c.emit("room_joined", { ...frame, resumed });
    this._deliver(r, missed, "missed");
    // Joined and up to date with the room's head (its newest messages come
    // with it or on demand, its preview is in the list): delivered here.
    if ((frame.last_seq ?? 0) > 0) this._ackDelivered(r, frame.last_seq);
    if (frame.has_more || r.seq.hasGap || r.seq.lastSeq < r.lastSeq) this._fill(r, r.lastSeq);
    if (r.readWanted > r.readSent) this._sendRead(r);
    for (const w of r.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(frame);
    }
  }

  onJoinError(rid, err) {
    const id = this.joinRequests.get(rid);
    if (id === undefined) return false;
    this.joinRequests.delete(rid);
    const r = this.rooms.get(id);
    if (!r) return true;
    r.joining = false;
    if (err.code === "RATE_LIMITED" || err.code === "UNAVAILABLE") {
      setTimeout(() => this.rejoin(id), err.retryAfterMs ?? 1000);
      return true;
    }
    err.roomId = id;
    this._drop(r, err);
    this.c.emit("error", err);
    return true;
  }

  /** `room_left`: our leave, or we were removed from the room. */
  onLeft(frame) {
    const r = this.rooms.get(frame.room_id);
    if (r) this._drop(r, new EarshotError("NOT_JOINED", `left room ${frame.room_id}`));
  }

  leave(id) {
    const r = this.rooms.get(id);
    if (!r) return Promise.resolve();
    const wasJoined = r.joined;
    this._drop(r, new EarshotError("NOT_JOINED", `left room ${id}`));
    if (!wasJoined || this.c.socket.state !== "connected") return Promise.resolve();
    return this.c.request("leave_room", { room_id: id }).then(() => undefined);
  }

  _drop(r, err) {
    r.want = false;
    r.joined = false;
    r.joining = false;
    r.typing?.reset();
    for (const w of r.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    for (const e of this.c.outbox.failAll(err, r.id)) this.c.emit("message_status", e.message);
    this.rooms.delete(r.id);
  }

  onDisconnected() {
    this.joinRequests.clear();
    for (const r of this.rooms.values()) {
      r.joined = false;
      r.joining = false;
      r.typing?.reset();
    }
  }

  failJoins(err) {
    for (const r of this.rooms.values()) {
      for (const w of r.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
  }

  clear() {
    for (const r of this.rooms.values()) r.typing?.reset();
    this.rooms.clear();
    this.joinRequests.clear();
  }

  // ---- messages ---------------------------------------------------------

  onLiveMessage(m) {
    const r = this.rooms.get(m.room_id);
    if (!r) return;
    if (!r.seq) r.seq = new Sequencer(m.seq - 1);
    r.lastSeq = Math.max(r.lastSeq, m.seq);
    this._deliver(r, [m], "live");
    if (r.seq.hasGap) this._fill(r, r.lastSeq);
  }

  _deliver(r, messages, source) {
    for (const m of messages) this.c._noteOwn(m);
    let newest = 0;
    for (const m of r.seq.push(messages)) {
      this.c.emit("message", m, { source });
      if (m.sender?.id !== this.me) newest = Math.max(newest, m.seq);
    }
    if (newest > 0) this._ackDelivered(r, newest);
  }

  /**
   * Tell the server others' messages up to `seq` reached this device: one
   * `mark_delivered` at once, then at most one per `DELIVERED_EVERY_MS` for
   * whatever arrived meanwhile (a batch, never one per message).
   */
  _ackDelivered(r, seq) {
    if (seq <= (r.deliveredSent ?? 0)) return;
    r.deliveredWanted = Math.max(r.deliveredWanted ?? 0, seq);
    if (r.deliveredTimer) return;
    const send = () => {
      const want = r.deliveredWanted;
      if (!r.joined || want <= (r.deliveredSent ?? 0)) return;
      r.deliveredSent = want;
      if (!this.c.socket.send({ type: "mark_delivered", room_id: r.id, seq: want })) r.deliveredSent = 0;
    };
    send();
    r.deliveredTimer = setTimeout(() => {
      r.deliveredTimer = null;
      send();
    }, DELIVERED_EVERY_MS);
  }

  /** Fetch what is missing after the last delivered seq (`get_messages` after). */
  async _fill(r, target) {
    if (r.filling) return;
    r.filling = true;
    try {
      for (let i = 0; i < 1000 && (r.seq.hasGap || r.seq.lastSeq < target); i++) {
        const before = r.seq.lastSeq;
        const page = await this.c.getMessages(r.id, { after: before, limit: FILL_PAGE });
        if (this.rooms.get(r.id) !== r) return;
        this._deliver(r, page.messages, "fill");
        if (r.seq.lastSeq === before) {
          // The server has nothing after `before`: stop waiting for it.
          if (r.seq.hasGap) this._deliver(r, r.seq.skipGap(), "live");
          break;
        }
      }
    } catch (err) {
      if (err.code !== "DISCONNECTED") this.c.emit("error", err);
    } finally {
      r.filling = false;
    }
  }

  // ---- receipts, members, typing ----------------------------------------

  onReadReceipt(f) {
    const r = this.rooms.get(f.room_id);
    if (!r) return;
    const m = r.members.get(f.user_id);
    if (m) m.last_read_seq = Math.max(m.last_read_seq ?? 0, f.seq);
    else r.members.set(f.user_id, { user: { id: f.user_id }, presence: "online", last_read_seq: f.seq });
    if (f.user_id === this.me) r.readSent = Math.max(r.readSent, f.seq);
  }

  onDeliveryReceipt(f) {
    const r = this.rooms.get(f.room_id);
    if (!r) return;
    const m = r.members.get(f.user_id);
    if (m) m.delivered_seq = Math.max(m.delivered_seq ?? 0, f.seq);
    else r.members.set(f.user_id, { user: { id: f.user_id }, presence: "online", last_read_seq: 0, delivered_seq: f.seq });
  }

  /**
   * Delivered: every other member has `seq` on at least one device (or has
   * read it). False while the room has no other member.
   */
  deliveredToAll(id, seq) {
    const r = this.rooms.get(id);
    if (!r) return false;
    const others = [...r.members.values()].filter((m) => m.user.id !== this.me);
    return others.length > 0 && others.every((m) => Math.max(m.delivered_seq ?? 0, m.last_read_seq ?? 0) >= seq);
  }

  onMemberJoined(f) {
    const r = this.rooms.get(f.room_id);
    if (!r || !f.user) return;
    const m = r.members.get(f.user.id);
    if (m) m.user = { ...m.user, ...f.user };
    else r.members.set(f.user.id, { user: f.user, presence: "online", last_read_seq: 0 });
  }

  markRead(id, seq) {
    const r = this.rooms.get(id);
    if (!r) return Promise.resolve(false);
    const target = seq ?? r.seq?.lastSeq ?? 0;
    if (target <= Math.max(r.readSent, r.readWanted)) return Promise.resolve(false);
    r.readWanted = target;
    const mine = r.members.get(this.me);
    if (mine) mine.last_read_seq = Math.max(mine.last_read_seq ?? 0, target);
    if (!r.joined || this.c.socket.state !== "connected") return Promise.resolve(false);
    return this._sendRead(r);
  }

  _sendRead(r) {
    const seq = r.readWanted;
    return this.c.request("mark_read", { room_id: r.id, seq }).then(
      () => {
        r.readSent = Math.max(r.readSent, seq);
        return true;
      },
      (err) => {
        if (err.code !== "DISCONNECTED") this.c.emit("error", err);
        return false;
      },
    );
  }

  readBy(id, seq) {
    const r = this.rooms.get(id);
    if (!r) return [];
    return [...r.members.values()]
      .filter((m) => m.user.id !== this.me && (m.last_read_seq ?? 0) >= seq)
      .map((m) => m.user);
  }

  typingFor(id) {
    const r = this.rooms.get(id);
    if (!r?.want) return null;
    if (!r.typing) {
      r.typing = new TypingDebouncer((isTyping) => {
        if (r.joined) this.c.socket.send({ type: "typing", room_id: id, is_typing: isTyping });
      }, this.typingOptions);
    }
    return r.typing;
  }

  resetTyping(id) {
    this.rooms.get(id)?.typing?.reset();
  }
}

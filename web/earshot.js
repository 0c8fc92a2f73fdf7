// earshot browser SDK: one EarshotClient per signed-in device.
//
// Dependency-free ES module. Speaks the socket protocol of docs/PROTOCOL.md:
// connection state and auto-reconnect (backoff + jitter), heartbeat, rooms
// re-joined after a reconnect with `since_seq` so missed messages arrive with
// no gaps and no duplicates, an offline send queue with idempotent client
// message ids, typing, read receipts, presence, notifications, custom events,
// typed errors, and calls (lib/calls/): p2p and sfu, with quality reports.
//
// Every server message is also emitted as an event named after its `type`
// (after the SDK has handled it); `request(type, payload)` and `send(frame)`
// reach any message of the protocol.

import { Emitter } from "./lib/emitter.js";
import { EarshotError, SERVER_ERROR_CODES, CLIENT_ERROR_CODES } from "./lib/errors.js";
import { Outbox } from "./lib/outbox.js";
import { PendingRequests } from "./lib/requests.js";
import { ReconnectingSocket, CLOSE } from "./lib/socket.js";
import { restRequest, devToken, devConfig } from "./lib/rest.js";
import { uuid } from "./lib/ids.js";
import { RoomBook } from "./lib/rooms.js";
import { CallManager, STATE_FRAMES } from "./lib/calls/manager.js";
import { LiveRoomList } from "./lib/roomlist.js";
import { restMethods } from "./lib/api.js";

export { EarshotError, SERVER_ERROR_CODES, CLIENT_ERROR_CODES, CLOSE, devToken, devConfig, uuid };
export { Backoff, backoffDelay, DEFAULT_BACKOFF } from "./lib/backoff.js";
export { Outbox } from "./lib/outbox.js";
export { Sequencer } from "./lib/sequencer.js";
export { TypingDebouncer } from "./lib/typing.js";
export { Call } from "./lib/calls/call.js";
export { listMicrophones, openMicrophone } from "./lib/calls/media.js";
export { estimateMos, levelFromMos, QualityClassifier, QualityTracker, readPeerStats, callStatsReport } from "./lib/stats.js";
export { SpeakingDetector } from "./lib/speaking.js";
export { MutedTalkDetector, frameLevel } from "./lib/calls/muted-talk.js";
export { ISSUE_KINDS, issueKey, sortIssues } from "./lib/calls/issues.js";

/** Presence statuses a device may set. */
const SETTABLE_PRESENCE = ["online", "away", "busy"];

function defaultUrl() {
  const loc = globalThis.location;
  if (!loc || !loc.host) return undefined;
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws`;
}

function httpBase(wsUrl) {
  if (!wsUrl) return "";
  const u = new URL(wsUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  return u.origin;
}

export class EarshotClient extends Emitter {
  /**
   * @param {import("./earshot").EarshotClientOptions} [options]
   */
  constructor(options = {}) {
    super();
    this.url = options.url ?? defaultUrl();
    if (!this.url) throw new TypeError("options.url is required outside a browser page");
    this.baseUrl = options.baseUrl ?? httpBase(this.url);
    this._fetch = options.fetch;
    this.requests = new PendingRequests({ timeoutMs: options.requestTimeoutMs ?? 15000 });
    this.outbox = new Outbox({ maxAttempts: options.sendMaxAttempts ?? 10 });
    this.book = new RoomBook(this, options.typing);
    this.calls = new CallManager(this);
    /** The room list as live state (see `roomList.list()` and the `room_list` event). */
    this.roomList = new LiveRoomList();
    this.on("message", (m) => {
      if (this.roomList.noteMessage(m, this._user?.id)) this.emit("room_list", this.roomList.list());
    });
    /** @type {Map<string, {user_id: string, status: string, last_seen?: number, devices?: number}>} */
    this.presence = new Map();
    this._user = null;
    this._connectionId = null;
    this._token = null;
    this._tokenSource = null;
    this._presenceStatus = null;
    this._sendRequests = new Map(); // request_id -> client_msg_id
    this._waiters = new Set(); // requests waiting for the connection
    this._connectWaiters = [];
    this._flushTimer = null;
    this._sendCounter = 0;
    this.socket = new ReconnectingSocket({
      url: this.url,
      WebSocket: options.WebSocket,
      authMode: options.authMode,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      backoff: { ...options.backoff, ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}) },
      random: options.random,
      window: options.window,
      handlers: {
        state: (state, previous, info) => this.emit("state", state, { previous, ...info }),
        token: (token) => (this._token = token),
        open: (welcome, resumed) => this._onOpen(welcome, resumed),
        frame: (frame) => this._dispatch(frame),
        pong: (frame, rtt) => this.emit("pong", { ...frame, rtt }),
        refreshed: (frame) => this.emit("token_refreshed", frame),
        down: (info) => this._onDown(info),
        reconnecting: (info) => this.emit("reconnecting", info),
        failed: (err) => this._onFailed(err),
        error: (err) => this.emit("error", err),
      },
    });
  }

  // ---- connection -------------------------------------------------------

  /** `connecting`, `connected`, `reconnecting` or `disconnected`. */
  get state() {
    return this.socket.state;
  }

  /** The signed-in user, from `welcome`. */
  get user() {
    return this._user;
  }

  /** This connection's id (a call's `participant_id`), from `welcome`. */
  get connectionId() {
    return this._connectionId;
  }

  /**
   * Connect with a token, or with a function returning one (sync or async),
   * which is called again before every reconnect so tokens can be refreshed.
   * Resolves with the `welcome` frame; rejects when connecting is given up.
   */
  connect(tokenOrProvider) {
    if (tokenOrProvider == null || tokenOrProvider === "") throw new TypeError("connect() needs a token or a token provider");
    this._tokenSource = tokenOrProvider;
    if (this.socket.active) this.socket.stop(CLOSE.NORMAL, "reconnecting with new credentials");
    return new Promise((resolve, reject) => {
      this._connectWaiters.push({ resolve, reject });
      this.socket.start(tokenOrProvider);
    });
  }

  /** Close for good: no reconnect; queued messages fail, joined rooms are forgotten. */
  disconnect() {
    this.calls.leaveAll();
    this.socket.stop(CLOSE.NORMAL, "client disconnect");
    this._failEverything(new EarshotError("DISCONNECTED", "disconnected by the client"));
    this.book.clear();
  }

  /** While reconnecting: skip the rest of the backoff delay and try now. */
  reconnectNow() {
    this.socket.retryNow();
  }

  /** Install a feature module: `plugin(client)`; returns what it returns. */
  use(plugin) {
    return plugin(this);
  }

  /** Send a raw frame now; false when not connected. */
  send(frame) {
    return this.socket.send(frame);
  }

  /**
   * Send a request and wait for its reply (the server message that echoes
   * its `request_id`). Waits for the connection if it is (re)connecting.
   * Rejects with EarshotError: the server's `error`, TIMEOUT or DISCONNECTED.
   * @param {string} type
   * @param {object} [payload]
   * @param {{timeoutMs?: number}} [options]
   */
  async request(type, payload = {}, options = {}) {
    // Sent synchronously when connected, so callers can rely on frame order.
    if (this.socket.state !== "connected") await this._whenConnected(options.timeoutMs);
    const { requestId, promise } = this.requests.create(type, options.timeoutMs);
    if (!this.socket.send({ ...payload, type, request_id: requestId })) {
      this.requests.reject(requestId, new EarshotError("DISCONNECTED", `not connected (${type})`, { requestId }));
    }
    return promise;
  }

  _whenConnected(timeoutMs = this.requests.timeoutMs) {
    if (this.socket.state === "connected") return Promise.resolve();
    if (!this.socket.active) return Promise.reject(new EarshotError("DISCONNECTED", "not connected: call connect() first"));
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, timer: null };
      w.timer = setTimeout(() => {
        this._waiters.delete(w);
        reject(new EarshotError("TIMEOUT", `not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this._waiters.add(w);
    });
  }

  _settleWaiters(error) {
    for (const w of [...this._waiters]) {
      this._waiters.delete(w);
      clearTimeout(w.timer);
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  _onOpen(welcome, resumed) {
    this._user = welcome.user;
    this._connectionId = welcome.connection_id;
    this.emit("welcome", welcome);
    // Joins go out first: frames are handled in order, so everything sent
    // after them (waiting requests, queued messages) finds the rooms joined.
    this.book.rejoinAll();
    this.calls.onConnected(resumed);
    if (this._monitoring) this.socket.send({ type: "monitor_subscribe" });
    if (this._presenceStatus && this._presenceStatus !== "online") {
      this.socket.send({ type: "set_presence", status: this._presenceStatus });
    }
    this.emit("connected", { resumed, user: welcome.user, connection_id: welcome.connection_id });
    for (const c of this._connectWaiters.splice(0)) c.resolve(welcome);
    this._settleWaiters();
    this._flush();
  }

  _onDown(info) {
    this.book.onDisconnected();
    this.outbox.requeueInFlight();
    this._sendRequests.clear();
    this.requests.rejectAll((requestId, type) => new EarshotError("DISCONNECTED", `connection lost before the reply to ${type}`, { requestId }));
    clearTimeout(this._flushTimer);
    this._flushTimer = null;
    this.calls.onDisconnected();
    this.emit("disconnected", info);
  }

  _onFailed(err) {
    this._failEverything(err);
    for (const c of this._connectWaiters.splice(0)) c.reject(err);
    this.emit("reconnect_failed", err);
  }

  _failEverything(err) {
    for (const e of this.outbox.failAll(err)) this.emit("message_status", e.message);
    this._settleWaiters(err);
    this.book.failJoins(err);
  }

  // ---- incoming frames --------------------------------------------------

  _dispatch(frame) {
    this.emit("frame", frame);
    const rid = frame.request_id;
    switch (frame.type) {
      case "error":
        this._onError(frame);
        return;
      case "message_ack":
        this._onAck(frame);
        break;
      case "room_joined":
        this.book.onJoined(frame); // emits room_joined (with `resumed`) and the missed messages
        this._flush();
        break;
      case "room_left":
        this.book.onLeft(frame);
        this.emit("room_left", frame);
        break;
      case "message":
        this.book.onLiveMessage(frame.message); // emits `message` in seq order
        break;
      case "ai_response":
        // A stored room message with its own seq: part of the timeline.
        this.book.onLiveMessage(frame.message);
        this.emit("ai_response", frame.message);
        break;
      case "notification":
        this.emit("notification", frame.notification);
        break;
      case "notifications_read":
        // Marked read on one of this user's devices (this one included).
        this.emit("notifications_read", { ids: Array.isArray(frame.ids) ? frame.ids : [], all: frame.all === true, read_at: frame.read_at });
        break;
      case "event": {
        const ev = { name: frame.name, payload: frame.payload, ...(frame.room_id !== undefined ? { room_id: frame.room_id } : {}) };
        this.emit("event", ev);
        if (typeof frame.name === "string") this.emit(`event:${frame.name}`, ev.payload, ev);
        break;
      }
      case "message_updated":
        this.emit("message_updated", frame.message);
        break;
      case "typing":
        if (frame.user_id !== this._user?.id) this.emit("typing", frame);
        break;
      case "delivery_receipt":
        this.book.onDeliveryReceipt(frame);
        this.emit("delivery_receipt", frame);
        break;
      case "read_receipt":
        this.book.onReadReceipt(frame);
        this.emit("read_receipt", frame);
        break;
      case "member_joined":
        this.book.onMemberJoined(frame);
        this.emit("member_joined", frame);
        break;
      case "presence":
        this._setPresenceOf(frame);
        this.emit("presence", frame);
        break;
      case "presence_list":
        for (const p of frame.users ?? []) this._setPresenceOf(p);
        this.emit("presence_list", frame);
        break;
      case "room_added":
      case "room_removed":
      case "room_updated":
      case "room_activity":
        if (this.roomList.apply(frame, this._user?.id)) this.emit("room_list", this.roomList.list());
        this.emit(frame.type, frame);
        break;
      case "rooms":
        this._noteRoomsOnline(frame.rooms ?? []);
        this.emit("rooms", frame);
        break;
      default:
        // Call frames go to their call first (call_started and call_ended
        // are emitted by the call manager, with the call info).
        if (this.calls.handles(frame.type)) {
          this.calls.onFrame(frame);
          if (STATE_FRAMES.has(frame.type)) break;
        }
        // message_deleted, member_left, ok, messages, call frames...: an
        // event named by the frame's type.
        this.emit(frame.type, frame);
    }
    if (rid !== undefined && !this.book.ownsRequest(rid)) this.requests.resolve(rid, frame);
  }

  _onError(frame) {
    const err = EarshotError.fromFrame(frame);
    const rid = frame.request_id;
    if (rid !== undefined && this._sendRequests.has(rid)) return this._onSendError(rid, err);
    if (rid !== undefined && this.book.onJoinError(rid, err)) return;
    if (rid !== undefined && this.requests.reject(rid, err)) return;
    this.emit("error", err);
  }

  /** Our own message seen before (or instead of) its ack: it is stored. */
  _noteOwn(message) {
    if (message.sender?.id !== this._user?.id) return;
    const e = this.outbox.get(message.client_msg_id);
    if (e && e.state !== "sent") {
      this._ackOutbox(message.client_msg_id, { message_id: message.id, seq: message.seq, created_at: message.created_at });
    }
  }

  // ---- sending messages -------------------------------------------------

  /**
   * Send a message. Returns at once with a local message object whose
   * `status` is `sending`, then `sent` (on `message_ack`, with `id` and
   * `seq` filled in) or `failed` (with `error`); each change is also a
   * `message_status` event. Messages sent while offline are queued and go out
   * after the reconnect, with the same client message id (no duplicates).
   * @param {string} roomId
   * @param {string | {text?: string, replyTo?: string, messageType?: string, refs?: object[], metadata?: object, lang?: string, attachments?: Array<string | {id: string}>, clientMsgId?: string}} input
   */
  sendMessage(roomId, input) {
    const o = typeof input === "string" ? { text: input } : { ...input };
    const clientMsgId = o.clientMsgId ?? uuid();
    const frame = { type: "send_message", room_id: roomId, client_msg_id: clientMsgId, text: o.text ?? "" };
    if (o.messageType) frame.message_type = o.messageType;
    if (o.replyTo) frame.reply_to = o.replyTo;
    if (o.refs) frame.refs = o.refs;
    if (o.metadata) frame.metadata = o.metadata;
    if (o.lang) frame.lang = o.lang;
    // Attachments: upload ids, or the objects uploadFile() resolved with.
    const attachments = (o.attachments ?? []).map((a) => (typeof a === "string" ? { id: a } : a));
    if (attachments.length) frame.attachments = attachments.map((a) => a.id);
    const message = {
      id: null,
      room_id: roomId,
      seq: null,
      sender: this._user ?? { id: null },
      client_msg_id: clientMsgId,
      message_type: frame.message_type ?? "text",
      text: frame.text,
      ...(frame.reply_to ? { reply_to: frame.reply_to } : {}),
      ...(frame.refs ? { refs: frame.refs } : {}),
      ...(frame.metadata ? { metadata: frame.metadata } : {}),
      ...(frame.lang ? { lang: frame.lang } : {}),
      ...(attachments.length ? { attachments } : {}),
      created_at: Date.now(),
      deleted: false,
      local: true,
      status: "sending",
    };
    this.outbox.enqueue(roomId, frame, message);
    this.book.resetTyping(roomId);
    if (!this.book.wants(roomId)) {
      this.outbox.fail(clientMsgId, new EarshotError("NOT_JOINED", `join room ${roomId} before sending to it`));
      queueMicrotask(() => this.emit("message_status", message));
      return message;
    }
    this._flush();
    return message;
  }

  /** Send a failed message again (same client message id). */
  retryMessage(clientMsgId) {
    const e = this.outbox.retry(clientMsgId);
    if (!e) return undefined;
    this.emit("message_status", e.message);
    this._flush();
    return e.message;
  }

  /** Messages not yet acknowledged (optionally of one room), oldest first. */
  pendingMessages(roomId) {
    return this.outbox.pending(roomId).map((e) => e.message);
  }

  _flush() {
    clearTimeout(this._flushTimer);
    this._flushTimer = null;
    if (this.socket.state !== "connected") return;
    // One instant for both: an entry that take() found not yet due must
    // get a timer even if it falls due before nextDueAt() looks.
    const now = this.outbox.now();
    for (const e of this.outbox.take((roomId) => this.book.isJoined(roomId), now)) {
      const rid = `m${++this._sendCounter}`;
      this._sendRequests.set(rid, e.clientMsgId);
      if (!this.socket.send({ ...e.frame, request_id: rid })) {
        this._sendRequests.delete(rid);
        this.outbox.requeueInFlight();
        return;
      }
    }
    const due = this.outbox.nextDueAt(now);
    if (due !== null) this._flushTimer = setTimeout(() => this._flush(), Math.max(0, due - Date.now()));
  }

  _ackOutbox(clientMsgId, ack) {
    const e = this.outbox.ack(clientMsgId, ack);
    if (e) this.emit("message_status", e.message);
    return e;
  }

  _onAck(frame) {
    if (frame.request_id !== undefined) this._sendRequests.delete(frame.request_id);
    this._ackOutbox(frame.client_msg_id, frame);
    this.emit("message_ack", frame);
    this._flush();
  }

  _onSendError(rid, err) {
    const cid = this._sendRequests.get(rid);
    this._sendRequests.delete(rid);
    const entry = this.outbox.get(cid);
    let e;
    if (err.code === "RATE_LIMITED") e = this.outbox.defer(cid, err.retryAfterMs ?? 1000, err);
    else if (err.code === "UNAVAILABLE" || err.code === "INTERNAL") e = this.outbox.defer(cid, 1000 * (entry?.attempts ?? 1), err);
    else if (err.code === "NOT_JOINED" && entry && this.book.wants(entry.roomId)) {
      e = this.outbox.defer(cid, 0, err);
      this.book.rejoin(entry.roomId);
    } else e = this.outbox.fail(cid, err);
    if (e?.state === "failed") this.emit("message_status", e.message);
    this._flush();
  }

  // ---- rooms, history, receipts, typing ---------------------------------

  /** `list_rooms`: the first page of the user's rooms, most recently active first. */
  async listRooms() {
    const rooms = (await this.request("list_rooms")).rooms;
    this.roomList.load(rooms);
    this.emit("room_list", this.roomList.list());
    return rooms;
  }

  /**
   * `list_rooms` a page at a time: `{rooms, hasMore, nextCursor}`; pass
   * `nextCursor` back as `cursor` for the next page.
   */
  async listRoomsPage({ limit, cursor } = {}) {
    const payload = {};
    if (limit !== undefined) payload.limit = limit;
    if (cursor !== undefined && cursor !== null) payload.cursor = cursor;
    const f = await this.request("list_rooms", payload);
    return { rooms: f.rooms, hasMore: !!f.has_more, nextCursor: f.next_cursor ?? null };
  }

  /**
   * Join a room (and keep it joined across reconnects). Without `sinceSeq`
   * the newest 50 messages arrive as `message` events; with it, every
   * message after it. Resolves with the `room_joined` frame.
   */
  joinRoom(roomId, options = {}) {
    return this.book.join(roomId, options);
  }

  /** Leave a room: no more events from it, and it is not re-joined. */
  leaveRoom(roomId) {
    return this.book.leave(roomId);
  }

  /** Ids of the rooms this client keeps joined. */
  get joinedRooms() {
    return this.book.wanted();
  }

  /** What the client knows of a room: `{room, members, lastSeq, joined}`. */
  roomState(roomId) {
    return this.book.snapshot(roomId);
  }

  /** A page of history (`get_messages`): `{messages, has_more}`, ascending. */
  async getMessages(roomId, { before, after, limit } = {}) {
    const payload = { room_id: roomId };
    if (before !== undefined) payload.before = before;
    if (after !== undefined) payload.after = after;
    if (limit !== undefined) payload.limit = limit;
    const f = await this.request("get_messages", payload);
    return { room_id: f.room_id, messages: f.messages, has_more: f.has_more };
  }

  /** Edit one of your messages (`edit_message`). */
  editMessage(roomId, messageId, text) {
    return this.request("edit_message", { room_id: roomId, message_id: messageId, text });
  }

  /** Delete one of your messages (`delete_message`). */
  deleteMessage(roomId, messageId) {
    return this.request("delete_message", { room_id: roomId, message_id: messageId });
  }

  /**
   * Move your read mark (`mark_read`) to `seq` (default: the newest message
   * received). Sent only when it moves forward; while offline it is sent
   * after the reconnect. Resolves true once sent and confirmed.
   */
  markRead(roomId, seq) {
    if (this.roomList.read(roomId)) this.emit("room_list", this.roomList.list());
    return this.book.markRead(roomId, seq);
  }

  /** Whether every other member has `seq` on at least one device (delivered). */
  deliveredToAll(roomId, seq) {
    return this.book.deliveredToAll(roomId, seq);
  }

  /** Members other than you whose read mark is at or past `seq`. */
  readBy(roomId, seq) {
    return this.book.readBy(roomId, seq);
  }

  /** Call on every keystroke in a room's composer (debounced `typing`). */
  typing(roomId) {
    this.book.typingFor(roomId)?.keystroke();
  }

  /** Say you stopped typing now (e.g. the composer was cleared). */
  stopTyping(roomId) {
    this.book.typingFor(roomId)?.stop();
  }

  // ---- presence ---------------------------------------------------------

  /** Set this device's presence (`online`, `away`, `busy`); kept across reconnects. */
  async setPresence(status) {
    if (!SETTABLE_PRESENCE.includes(status)) throw new EarshotError("BAD_REQUEST", "status must be online, away or busy");
    this._presenceStatus = status;
    if (this.socket.state !== "connected") return;
    await this.request("set_presence", { status });
  }

  /** Ask for users' presence (`get_presence`); resolves with the list. */
  async getPresence(userIds) {
    const f = await this.request("get_presence", { user_ids: userIds });
    return f.users;
  }

  /** The last known presence of a user, or undefined. */
  presenceOf(userId) {
    return this.presence.get(userId);
  }

  _setPresenceOf(p) {
    if (!p?.user_id) return;
    const prev = this.presence.get(p.user_id) ?? {};
    this.presence.set(p.user_id, { ...prev, ...p });
  }

  _noteRoomsOnline(rooms) {
    for (const r of rooms) {
      for (const u of r.online ?? []) {
        const p = this.presence.get(u);
        if (!p || p.status === "offline") this._setPresenceOf({ user_id: u, status: "online" });
      }
    }
  }

  // ---- calls ------------------------------------------------------------

  /**
   * Start a call in a room (`mode`: `sfu`, the default, or `p2p`) and join
   * it (unless `join: false`). Resolves with the Call.
   */
  startCall(roomId, options = {}) {
    return this.calls.start(roomId, options);
  }

  /** Join a call by id. Opens the microphone first. Resolves with the Call. */
  joinCall(callId, options = {}) {
    return this.calls.join(callId, options);
  }

  /** Decline a ringing call (`reason`: `busy` or a short text for the caller). */
  declineCall(callId, reason) {
    return this.calls.decline(callId, reason);
  }

  /** Cancel a call you placed that nobody has answered yet. */
  cancelCall(callId) {
    return this.calls.cancel(callId);
  }

  /** The call this device is in (or joining), if any. */
  get currentCall() {
    return this.calls.current;
  }

  /** The active call of a room (`null` if none), from the ring or the REST API. */
  activeCall(roomId, options) {
    return this.calls.activeCall(roomId, options);
  }

  /**
   * Monitor roles: follow every ongoing call (`monitor_subscribe`). Resolves
   * with the snapshot's calls; then `monitor_call` and `monitor_call_ended`
   * events follow. Kept across reconnects until `unsubscribeMonitor()`.
   */
  async subscribeMonitor() {
    this._monitoring = true;
    try {
      return (await this.request("monitor_subscribe")).calls;
    } catch (err) {
      // Refused (ACCESS_DENIED, or a server without monitoring): do not ask
      // again after every reconnect. A lost connection keeps the wish: the
      // subscription goes out again with the next connection.
      if (err.code !== "DISCONNECTED" && err.code !== "TIMEOUT") this._monitoring = false;
      throw err;
    }
  }

  unsubscribeMonitor() {
    this._monitoring = false;
    this.send({ type: "monitor_unsubscribe" });
  }
}

// REST: rooms, call records, notifications, uploads, attachments (lib/api.js).
Object.assign(EarshotClient.prototype, restMethods);

export default EarshotClient;

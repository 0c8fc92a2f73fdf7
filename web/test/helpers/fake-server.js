// An in-memory stand-in for the earshot server and a WebSocket class wired to
// it, for SDK tests in Node: enough of docs/PROTOCOL.md to exercise joins
// with since_seq, idempotent sends, acks, heartbeats and dropped connections.

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const later = (fn) => setTimeout(fn, 0);

export class FakeServer {
  constructor({ maxRecovery = 500, tokenLifetimeMs = null } = {}) {
    this.up = true;
    // Like the real server: a socket is closed with 4001 when its token
    // expires, unless `authenticate` on the open socket refreshed it.
    this.tokenLifetimeMs = tokenLifetimeMs;
    this.answerPings = true;
    this.maxRecovery = maxRecovery;
    this.sockets = new Set();
    this.rooms = new Map(); // id -> {id, messages: [], members: Set}
    this.received = []; // every client frame
    this.connections = 0;
    this.validTokens = null; // null: any token; else a Set
    const server = this;
    this.WebSocket = class extends FakeWebSocket {
      constructor(url) {
        super(url, server);
      }
    };
  }

  room(id) {
    let r = this.rooms.get(id);
    if (!r) this.rooms.set(id, (r = { id, messages: [], members: new Set() }));
    return r;
  }

  /** Store a message as another user would (not through a client socket). */
  inject(roomId, text, sender = { id: "other", name: "Other" }) {
    const r = this.room(roomId);
    const m = {
      id: `m-${roomId}-${r.messages.length + 1}`,
      room_id: roomId,
      seq: r.messages.length + 1,
      sender,
      client_msg_id: `inject-${r.messages.length + 1}`,
      message_type: "text",
      text,
      created_at: Date.now(),
      deleted: false,
    };
    r.messages.push(m);
    for (const s of this.sockets) if (s.joined.has(roomId)) s.push({ type: "message", message: m });
    return m;
  }

  /** The assistant answers in a room: a stored message delivered as `ai_response`. */
  injectAi(roomId, text) {
    const r = this.room(roomId);
    const m = {
      id: `m-${roomId}-${r.messages.length + 1}`,
      room_id: roomId,
      seq: r.messages.length + 1,
      sender: { id: "assistant", name: "Assistant", role: "assistant" },
      message_type: "text",
      text,
      ai: true,
      created_at: Date.now(),
      deleted: false,
    };
    r.messages.push(m);
    for (const s of this.sockets) if (s.joined.has(roomId)) s.push({ type: "ai_response", message: m });
    return m;
  }

  /** Push a frame to every authenticated connection. */
  pushAll(frame) {
    for (const s of this.sockets) if (s.user) s.push(frame);
  }

  /** Kill every connection without a close frame (like a crashed server). */
  crash() {
    for (const s of [...this.sockets]) s.drop(1006, "");
  }

  /** Close every connection with a code (1012: restarting). */
  closeAll(code = 1012, reason = "server shutting down") {
    for (const s of [...this.sockets]) s.drop(code, reason);
  }

  /** (Re)start the socket's token expiry; returns the `token_expires_at` field. */
  _expireLater(sock) {
    if (this.tokenLifetimeMs === null) return {};
    clearTimeout(sock.expiry);
    sock.expiry = setTimeout(() => sock.drop(4001, "token expired"), this.tokenLifetimeMs);
    return { token_expires_at: Date.now() + this.tokenLifetimeMs };
  }

  framesOfType(type) {
    return this.received.filter((f) => f.type === type);
  }

  handle(sock, f) {
    this.received.push(f);
    if (!sock.user) {
      if (f.type !== "authenticate") return sock.drop(1008, "send `authenticate` first");
      if (this.validTokens && !this.validTokens.has(f.token)) return sock.drop(1008, "invalid token: bad signature");
      sock.user = { id: f.token.split(":")[0] || "user", name: "User" };
      this.connections += 1;
      const expires = this._expireLater(sock);
      return sock.push({ type: "welcome", user: sock.user, connection_id: String(this.connections), server_time: Date.now(), heartbeat_interval_ms: 20000, ...expires });
    }
    const rid = f.request_id;
    const reply = (m) => sock.push(rid === undefined ? m : { ...m, request_id: rid });
    const error = (code, message) => reply({ type: "error", code, message });
    switch (f.type) {
      case "authenticate": {
        if (this.validTokens && !this.validTokens.has(f.token)) return error("UNAUTHENTICATED", "invalid token: bad signature");
        if ((f.token.split(":")[0] || "user") !== sock.user.id) return error("UNAUTHENTICATED", "the new token is for another user");
        return reply({ type: "token_refreshed", ...this._expireLater(sock) });
      }
      case "ping":
        if (this.answerPings) sock.push({ type: "pong", ts: f.ts, server_time: Date.now() });
        return;
      case "join_room": {
        if (f.room_id.startsWith("missing")) return error("NOT_FOUND", "room not found");
        const r = this.room(f.room_id);
        r.members.add(sock.user.id);
        sock.joined.add(r.id);
        const last = r.messages.length;
        let missed;
        let hasMore = false;
        if (f.since_seq !== undefined) {
          const after = r.messages.filter((m) => m.seq > f.since_seq);
          missed = after.slice(0, this.maxRecovery);
          hasMore = after.length > missed.length;
        } else missed = r.messages.slice(-50);
        return reply({
          type: "room_joined",
          room: { id: r.id, type: "support", title: r.id, created_by: "x", created_at: 0 },
          members: [...r.members].map((id) => ({ user: { id }, presence: "online", last_read_seq: 0 })),
          last_seq: last,
          missed,
          has_more: hasMore,
        });
      }
      case "get_messages": {
        const r = this.room(f.room_id);
        const limit = f.limit ?? 50;
        if (f.after !== undefined) {
          const after = r.messages.filter((m) => m.seq > f.after);
          return reply({ type: "messages", room_id: r.id, messages: after.slice(0, limit), has_more: after.length > limit });
        }
        const before = r.messages.filter((m) => f.before === undefined || m.seq < f.before);
        return reply({ type: "messages", room_id: r.id, messages: before.slice(-limit), has_more: before.length > limit });
      }
      case "send_message": {
        if (!sock.joined.has(f.room_id)) return error("NOT_JOINED", "join the room first");
        if (this.rateLimitNext > 0) {
          this.rateLimitNext -= 1;
          return reply({ type: "error", code: "RATE_LIMITED", message: "too many messages; slow down", retry_after_ms: 30 });
        }
        const r = this.room(f.room_id);
        const dup = r.messages.find((m) => m.client_msg_id === f.client_msg_id && m.sender.id === sock.user.id);
        if (dup) {
          return reply({ type: "message_ack", room_id: r.id, client_msg_id: f.client_msg_id, message_id: dup.id, seq: dup.seq, created_at: dup.created_at, duplicate: true });
        }
        const m = {
          id: `m-${r.id}-${r.messages.length + 1}`,
          room_id: r.id,
          seq: r.messages.length + 1,
          sender: sock.user,
          client_msg_id: f.client_msg_id,
          message_type: f.message_type ?? "text",
          text: f.text,
          ...(f.reply_to ? { reply_to: f.reply_to } : {}),
          created_at: Date.now(),
          deleted: false,
        };
        r.messages.push(m);
        if (this.swallowNextAck) {
          // Stored, but the connection dies before the ack goes out.
          this.swallowNextAck = false;
          sock.drop(1006, "");
          return;
        }
        reply({ type: "message_ack", room_id: r.id, client_msg_id: f.client_msg_id, message_id: m.id, seq: m.seq, created_at: m.created_at, duplicate: false });
        for (const s of this.sockets) if (s.joined.has(r.id)) s.push({ type: "message", message: m });
        return;
      }
      case "mark_delivered":
        if (rid !== undefined) reply({ type: "ok" });
        for (const s of this.sockets) if (s.joined.has(f.room_id)) s.push({ type: "delivery_receipt", room_id: f.room_id, user_id: sock.user.id, seq: f.seq });
        return;
      case "mark_read":
        if (rid !== undefined) reply({ type: "ok" });
        for (const s of this.sockets) if (s.joined.has(f.room_id)) s.push({ type: "read_receipt", room_id: f.room_id, user_id: sock.user.id, seq: f.seq });
        return;
      case "list_rooms":
        return reply({ type: "rooms", rooms: [] });
      case "typing":
      case "set_presence":
        if (rid !== undefined) reply({ type: "ok" });
        return;
      case "monitor_subscribe":
        // Users whose id starts with "admin" are monitors here.
        if (!sock.user.id.startsWith("admin")) return error("ACCESS_DENIED", "monitoring is for monitoring roles");
        return reply({ type: "monitor_snapshot", calls: this.monitorCalls ?? [] });
      case "monitor_unsubscribe":
        if (rid !== undefined) reply({ type: "ok" });
        return;
      case "never_answered":
        return;
      default:
        return error("BAD_REQUEST", `unknown type ${f.type}`);
    }
  }
}

class FakeWebSocket {
  constructor(url, server) {
    this.url = url;
    this.server = server;
    this.readyState = CONNECTING;
    this.joined = new Set();
    this.user = null;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    later(() => {
      if (this.readyState !== CONNECTING) return;
      if (!server.up) {
        this.readyState = CLOSED;
        this.onerror?.({ type: "error" });
        this.onclose?.({ code: 1006, reason: "", wasClean: false });
        return;
      }
      server.sockets.add(this);
      this.readyState = OPEN;
      this.onopen?.({ type: "open" });
    });
  }

  send(data) {
    if (this.readyState !== OPEN) throw new Error("not open");
    const frame = JSON.parse(data);
    later(() => {
      if (this.readyState === OPEN && this.server.up) this.server.handle(this, frame);
    });
  }

  close(code = 1000, reason = "") {
    clearTimeout(this.expiry);
    if (this.readyState >= CLOSING) return;
    this.readyState = CLOSING;
    this.server.sockets.delete(this);
    later(() => {
      this.readyState = CLOSED;
      this.onclose?.({ code, reason, wasClean: true });
    });
  }

  /** Server side: deliver a frame to the client. */
  push(frame) {
    if (this.readyState !== OPEN) return;
    const data = JSON.stringify(frame);
    later(() => {
      if (this.readyState === OPEN) this.onmessage?.({ data });
    });
  }

  /** Server side: the connection ends. */
  drop(code, reason) {
    clearTimeout(this.expiry);
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.server.sockets.delete(this);
    later(() => this.onclose?.({ code, reason, wasClean: code !== 1006 }));
  }
}

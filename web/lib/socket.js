// One logical connection to the server over successive WebSockets:
// authentication, the app-level heartbeat, connection state, and reconnecting
// with backoff, and refreshing the token on the open socket before it
// expires. Knows nothing of rooms or messages: frames other than `welcome`,
// `pong` and `token_refreshed` go to `handlers.frame`.

import { Backoff } from "./backoff.js";
import { EarshotError } from "./errors.js";

const OPEN = 1;

/** Close codes after which the server asks clients to come back later. */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  POLICY: 1008, // authentication failed or timed out
  TOO_BIG: 1009,
  RESTART: 1012,
  SLOW_CONSUMER: 1013,
  HEARTBEAT: 4000,
  TOKEN_EXPIRED: 4001, // the token expired without a refresh: reconnect with a fresh one
});

/** Refresh this long before the token expires (at most), or a fifth of its remaining life. */
const REFRESH_MARGIN_MS = 60000;
/** setTimeout's longest delay; a later refresh is planned again when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @typedef {"connecting" | "connected" | "reconnecting" | "disconnected"} ConnectionState
 */

export class ReconnectingSocket {
  /**
   * @param {object} o
   * @param {string} o.url
   * @param {any} [o.WebSocket]
   * @param {"message" | "query"} [o.authMode]
   * @param {number} [o.heartbeatIntervalMs]
   * @param {number} [o.heartbeatTimeoutMs]
   * @param {number} [o.connectTimeoutMs]
   * @param {object} [o.backoff]
   * @param {() => number} [o.random]
   * @param {any} [o.window] object with addEventListener for online/offline/visibility hooks
   * @param {object} o.handlers
   */
  constructor(o) {
    this.url = o.url;
    this.WebSocket = o.WebSocket ?? globalThis.WebSocket;
    this.authMode = o.authMode ?? "message";
    this.heartbeatIntervalMs = o.heartbeatIntervalMs ?? 10000;
    this.heartbeatTimeoutMs = o.heartbeatTimeoutMs ?? 5000;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 10000;
    this.backoff = new Backoff(o.backoff, o.random);
    this.h = o.handlers;
    this.win = o.window === undefined ? defaultWindow() : o.window;
    /** @type {ConnectionState} */
    this.state = "disconnected";
    this.ws = null;
    this.authenticated = false;
    this.stopped = true;
    this.everConnected = false;
    this.gen = 0;
    this.timers = { retry: null, connect: null, ping: null, pong: null, refresh: null };
    /** Server clock minus ours, from `welcome`. */
    this.clockOffsetMs = 0;
    this.refreshes = 0;
    this.refreshRequestId = null;
    /** When the socket's token expires (ms, server clock), from `welcome` / `token_refreshed`. */
    this.tokenExpiresAt = null;
    this.tokenSource = null;
    this._onOnline = () => this.retryNow();
    this._onOffline = () => this.probe();
    this._onVisible = () => {
      if (this.win?.document?.visibilityState === "visible") {
        if (this.state === "connected") this.probe();
        else this.retryNow();
      }
    };
  }

  /** True between `start` and `stop` (or giving up). */
  get active() {
    return !this.stopped;
  }

  /** Start connecting. `tokenSource`: a token, or a function returning one (or a promise). */
  start(tokenSource) {
    if (!this.WebSocket) throw new Error("no WebSocket implementation: pass options.WebSocket");
    this.tokenSource = tokenSource;
    this.stopped = false;
    this.everConnected = false;
    this.backoff.reset();
    this._listen(true);
    this._attempt();
  }

  /** Close for good (no reconnect). */
  stop(code = CLOSE.NORMAL, reason = "client disconnect") {
    const wasActive = !this.stopped;
    this.stopped = true;
    this.gen += 1;
    this._listen(false);
    clearTimeout(this.timers.retry);
    this.timers.retry = null;
    const ws = this.ws;
    if (ws) this._teardown(ws, code, reason);
    if (ws || wasActive) this.h.down?.({ code, reason, wasConnected: this.authenticated, byClient: true });
    this.authenticated = false;
    this._setState("disconnected");
  }

  /** Send a frame if the socket is open and authenticated. */
  send(frame) {
    const ws = this.ws;
    if (!ws || !this.authenticated || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** While waiting to reconnect: try now (the network came back). */
  retryNow() {
    if (this.stopped || this.state !== "reconnecting" || this.timers.retry === null) return;
    clearTimeout(this.timers.retry);
    this.timers.retry = null;
    this._attempt();
  }

  /** While connected: ping now and treat a missing pong as a dead connection. */
  probe() {
    if (this.state === "connected") this._ping();
  }

  _listen(on) {
    const w = this.win;
    if (!w?.addEventListener) return;
    const f = on ? "addEventListener" : "removeEventListener";
    w[f]("online", this._onOnline);
    w[f]("offline", this._onOffline);
    w.document?.[f]?.("visibilitychange", this._onVisible);
  }

  _setState(state, info) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.h.state?.(state, previous, info);
  }

  async _token() {
    const src = this.tokenSource;
    const token = typeof src === "function" ? await src() : src;
    if (typeof token !== "string" || token === "") throw new Error("the token provider returned no token");
    this.h.token?.(token);
    return token;
  }

  async _attempt() {
    const gen = ++this.gen;
    this._setState(this.everConnected || this.backoff.attempt > 0 ? "reconnecting" : "connecting");
    let token;
    try {
      token = await this._token();
    } catch (err) {
      if (gen !== this.gen || this.stopped) return;
      this.h.error?.(tokenError(err));
      this._scheduleRetry();
      return;
    }
    if (gen !== this.gen || this.stopped) return;
    let url = this.url;
    if (this.authMode === "query") url += `${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
    let ws;
    try {
      ws = new this.WebSocket(url);
    } catch (err) {
      this.h.error?.(new EarshotError("NETWORK", `cannot open ${this.url}: ${err?.message ?? err}`, { cause: err }));
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    this.authenticated = false;
    this.timers.connect = setTimeout(() => {
      if (ws === this.ws && !this.authenticated) this._lost(ws, { code: 0, reason: "connect timeout" });
    }, this.connectTimeoutMs);
    ws.onopen = () => {
      if (ws !== this.ws) return;
      if (this.authMode === "message") {
        try {
          ws.send(JSON.stringify({ type: "authenticate", token }));
        } catch {
          /* the close event follows */
        }
      }
    };
    ws.onmessage = (ev) => {
      if (ws === this.ws) this._receive(ev.data);
    };
    ws.onclose = (ev) => {
      if (ws === this.ws) this._lost(ws, { code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
    };
    ws.onerror = () => {}; // a close event always follows
  }

  _receive(data) {
    let frame;
    try {
      frame = JSON.parse(typeof data === "string" ? data : String(data));
    } catch {
      this.h.error?.(new EarshotError("BAD_REQUEST", "the server sent a frame that is not JSON"));
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "welcome") {
      if (typeof frame.server_time === "number") this.clockOffsetMs = frame.server_time - Date.now();
      this.tokenExpiresAt = null;
      this._scheduleRefresh(frame.token_expires_at);
      this.authenticated = true;
      clearTimeout(this.timers.connect);
      this.backoff.reset();
      const resumed = this.everConnected;
      this.everConnected = true;
      this._setState("connected");
      this._startHeartbeat();
      this.h.open?.(frame, resumed);
      return;
    }
    if (frame.type === "pong") {
      if (this.timers.pong !== null) {
        clearTimeout(this.timers.pong);
        this.timers.pong = null;
      }
      const rtt = typeof frame.ts === "number" ? Date.now() - frame.ts : undefined;
      this.h.pong?.(frame, rtt);
      return;
    }
    if (frame.type === "token_refreshed") {
      if (frame.request_id === this.refreshRequestId) this.refreshRequestId = null;
      // A provider that handed back the same token gains nothing: the socket
      // closes at expiry and the reconnect asks it again.
      if (frame.token_expires_at > this.tokenExpiresAt) this._scheduleRefresh(frame.token_expires_at);
      else {
        clearTimeout(this.timers.refresh);
        this.timers.refresh = null;
      }
      this.h.refreshed?.(frame);
      return;
    }
    if (frame.type === "error" && frame.request_id != null && frame.request_id === this.refreshRequestId) {
      // The server keeps the socket until the old token expires, then closes
      // it with 4001 and the reconnect asks the provider again.
      this.refreshRequestId = null;
      this.h.error?.(new EarshotError(frame.code ?? "UNAUTHENTICATED", `token refresh refused: ${frame.message ?? ""}`));
      return;
    }
    this.h.frame?.(frame);
  }

  /** Plan the token refresh before `expiresAt` (ms, server clock); only a token provider can give a fresh token. */
  _scheduleRefresh(expiresAt) {
    clearTimeout(this.timers.refresh);
    this.timers.refresh = null;
    if (typeof expiresAt !== "number" || typeof this.tokenSource !== "function") return;
    this.tokenExpiresAt = expiresAt;
    const left = expiresAt - (Date.now() + this.clockOffsetMs);
    const delay = Math.max(0, left - Math.min(REFRESH_MARGIN_MS, left / 5));
    const ws = this.ws;
    this.timers.refresh = setTimeout(() => {
      this.timers.refresh = null;
      if (ws !== this.ws) return;
      if (delay > MAX_TIMER_MS) this._scheduleRefresh(expiresAt);
      else this._refresh(ws);
    }, Math.min(delay, MAX_TIMER_MS));
  }

  /** Get a fresh token from the provider and send it on the open socket (no reconnect). */
  async _refresh(ws) {
    let token;
    try {
      token = await this._token();
    } catch (err) {
      this.h.error?.(new EarshotError("UNAUTHENTICATED", `cannot get a token: ${err?.message ?? err}`, { cause: err }));
      return;
    }
    if (ws !== this.ws || !this.authenticated) return;
    this.refreshes += 1;
    this.refreshRequestId = `token-refresh-${this.refreshes}`;
    this.send({ type: "authenticate", token, request_id: this.refreshRequestId });
  }

  _startHeartbeat() {
    this._stopHeartbeat();
    const tick = () => {
      this.timers.ping = setTimeout(tick, this.heartbeatIntervalMs);
      this._ping();
    };
    this.timers.ping = setTimeout(tick, this.heartbeatIntervalMs);
  }

  _stopHeartbeat() {
    clearTimeout(this.timers.ping);
    clearTimeout(this.timers.pong);
    this.timers.ping = null;
    this.timers.pong = null;
  }

  _ping() {
    if (this.timers.pong !== null) return; // a ping is already waiting for its pong
    const ws = this.ws;
    if (!this.send({ type: "ping", ts: Date.now() })) return;
    this.timers.pong = setTimeout(() => {
      this.timers.pong = null;
      if (ws === this.ws) this._lost(ws, { code: CLOSE.HEARTBEAT, reason: "heartbeat timeout: no pong" });
    }, this.heartbeatTimeoutMs);
  }

  _teardown(ws, code, reason) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      if (ws.readyState <= OPEN) ws.close(code, reason);
    } catch {
      /* already closing */
    }
    if (ws === this.ws) this.ws = null;
    clearTimeout(this.timers.connect);
    clearTimeout(this.timers.refresh);
    this.timers.refresh = null;
    this.refreshRequestId = null;
    this._stopHeartbeat();
  }

  /** The socket closed or was found dead: report it and plan the next attempt. */
  _lost(ws, info) {
    const wasConnected = this.authenticated;
    // Abandon a dead socket at once: its closing handshake may never finish.
    this._teardown(ws, info.code >= 3000 && info.code <= 4999 ? info.code : CLOSE.NORMAL, info.reason || "");
    this.authenticated = false;
    this.h.down?.({ ...info, wasConnected, byClient: false });
    if (this.stopped) return;
    if (info.code === CLOSE.POLICY) {
      const err = new EarshotError("UNAUTHENTICATED", info.reason || "authentication failed");
      this.h.error?.(err);
      if (typeof this.tokenSource !== "function") {
        // A fixed token will not get better: stop instead of hammering the server.
        this._giveUp(err);
        return;
      }
    }
    this._scheduleRetry();
  }

  _scheduleRetry() {
    let delay = this.backoff.next();
    if (delay !== null && this.win?.document?.visibilityState === "visible") {
      // Someone is looking: retry often (jittered), whatever the attempt.
      const cap = this.backoff.options.visibleMaxDelayMs;
      const jitter = Math.min(1, Math.max(0, this.backoff.options.jitter));
      delay = Math.min(delay, Math.round(cap * (1 - jitter * this.backoff.random())));
    }
    if (delay === null) {
      this._giveUp(
        new EarshotError("DISCONNECTED", `gave up reconnecting after ${this.backoff.attempt} attempts`),
      );
      return;
    }
    const attempt = this.backoff.attempt;
    this._setState("reconnecting");
    this.h.reconnecting?.({ attempt, delay });
    this.timers.retry = setTimeout(() => {
      this.timers.retry = null;
      this._attempt();
    }, delay);
  }

  _giveUp(err) {
    this.stopped = true;
    this._listen(false);
    this._setState("disconnected");
    this.h.failed?.(err);
  }
}

function defaultWindow() {
  const w = globalThis.window;
  return w && typeof w.addEventListener === "function" ? w : null;
}

/**
 * Why no token came: the network (the server or the token endpoint is out
 * of reach: `NETWORK`), or a refusal (its own code, else `UNAUTHENTICATED`).
 */
export function tokenError(err) {
  const network = err?.code === "NETWORK" || err instanceof TypeError;
  if (network) return new EarshotError("NETWORK", `cannot reach the server for a token: ${err?.message ?? err}`, { cause: err });
  const code = typeof err?.code === "string" && err.code ? err.code : "UNAUTHENTICATED";
  return new EarshotError(code, `cannot get a token: ${err?.message ?? err}`, { cause: err });
}

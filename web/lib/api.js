// EarshotClient's REST methods (docs/PROTOCOL.md, "REST"): rooms, calls'
// records, notifications, uploads and attachments. Installed on the
// client's prototype by earshot.js; `this` is the client. Every request
// carries `Authorization: Bearer <token>`; a 401 with a token provider asks
// it for a fresh token once and retries.

import { restRequest } from "./rest.js";
import { EarshotError } from "./errors.js";

const enc = encodeURIComponent;

export const restMethods = {
  async _authToken() {
    if (!this._token && this._tokenSource) this._token = await this._freshToken();
    return this._token;
  },

  async _freshToken() {
    const s = this._tokenSource;
    return typeof s === "function" ? await s() : s;
  },

  /** Run `call(token)`; on UNAUTHENTICATED with a token provider, refresh once and retry. */
  async _withToken(call) {
    const token = await this._authToken();
    try {
      return await call(token);
    } catch (err) {
      if (err.code !== "UNAUTHENTICATED" || typeof this._tokenSource !== "function") throw err;
      this._token = await this._freshToken();
      return call(this._token);
    }
  },

  _rest(method, path, body) {
    return this._withToken((token) => restRequest({ fetch: this._fetch, baseUrl: this.baseUrl, token, method, path, body }));
  },

  /** `POST /api/rooms`: create a room; you are a member. Resolves with the room. */
  createRoom({ id, type = "general", title, participants = [], metadata } = {}) {
    const body = { type, title, participants };
    if (id) body.id = id;
    if (metadata !== undefined) body.metadata = metadata;
    return this._rest("POST", "/api/rooms", body);
  },

  /**
   * `GET /api/users?q=&limit=`: people you may talk to, by part of a name or
   * id (staff: their tenant's users; others: their tenant's staff).
   */
  async findUsers(q = "", { limit } = {}) {
    const qs = new URLSearchParams();
    if (q) qs.set("q", q);
    if (limit) qs.set("limit", String(limit));
    const s = qs.toString();
    return (await this._rest("GET", `/api/users${s ? `?${s}` : ""}`)).users;
  },

  /** `GET /api/rooms/{id}`: `{room, members, last_seq}`. */
  getRoom(roomId) {
    return this._rest("GET", `/api/rooms/${enc(roomId)}`);
  },

  /** `POST /api/rooms/{id}/members`. */
  addMember(roomId, userId) {
    return this._rest("POST", `/api/rooms/${enc(roomId)}/members`, { user_id: userId });
  },

  /** `DELETE /api/rooms/{id}/members/{user_id}`. */
  removeMember(roomId, userId) {
    return this._rest("DELETE", `/api/rooms/${enc(roomId)}/members/${enc(userId)}`);
  },

  /** `GET /api/rooms/{id}/assistant`: `{room_id, enabled}`. */
  getAssistant(roomId) {
    return this._rest("GET", `/api/rooms/${enc(roomId)}/assistant`);
  },

  /** `PUT /api/rooms/{id}/assistant`: staff turn the FAQ assistant on or off; the room's creator may only turn it off. */
  setAssistant(roomId, enabled) {
    return this._rest("PUT", `/api/rooms/${enc(roomId)}/assistant`, { enabled: !!enabled });
  },

  /** `GET /api/rooms/{id}/calls`: `{room_id, calls, active}` (newest first). */
  getRoomCalls(roomId) {
    return this._rest("GET", `/api/rooms/${enc(roomId)}/calls`);
  },

  /** `GET /api/calls/{id}`: `{call, active}`. */
  getCallRecord(callId) {
    return this._rest("GET", `/api/calls/${enc(callId)}`);
  },

  /**
   * `GET /api/calls?room_id=&user_id=&since=&until=&worst=&issue=&limit=`:
   * call summaries (quality at a glance), newest first; `issue`: calls that
   * had at least one issue of that kind.
   */
  async listCalls(query = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) q.set(k, String(v));
    const qs = q.toString();
    return (await this._rest("GET", `/api/calls${qs ? `?${qs}` : ""}`)).calls;
  },

  /** `GET /api/calls/{id}/report`: `{call, summary, participants, samples, issues, diagnosis, legs}`. */
  getCallReport(callId) {
    return this._rest("GET", `/api/calls/${enc(callId)}/report`);
  },

  /** `GET /api/monitor/calls` (monitor roles): every ongoing call with live quality. */
  async monitorCalls() {
    return (await this._rest("GET", "/api/monitor/calls")).calls;
  },

  /** `GET /api/notifications` (`unread: true`: only unread ones). */
  async listNotifications({ unread } = {}) {
    const q = unread ? "?unread=true" : "";
    return (await this._rest("GET", `/api/notifications${q}`)).notifications;
  },

  /** `POST /api/notifications/{id}/read`. */
  markNotificationRead(id) {
    return this._rest("POST", `/api/notifications/${enc(id)}/read`);
  },

  /** `POST /api/notifications/read-all`. */
  markAllNotificationsRead() {
    return this._rest("POST", "/api/notifications/read-all");
  },

  /**
   * `POST /api/uploads` (multipart, field `file`): resolves with
   * `{id, url, name, mime_type, size, thumbnail_url?}`; pass the `id` in
   * `sendMessage(room, {attachments: [id]})`. Rejects with
   * PAYLOAD_TOO_LARGE or QUOTA_EXCEEDED (413), UNSUPPORTED_MEDIA_TYPE (415),
   * RATE_LIMITED (429) or UNAVAILABLE (503, thumbnail workers busy; both
   * retryable, with `retryAfterMs`), or INSUFFICIENT_STORAGE (507).
   * @param {Blob} file
   * @param {string} [name]
   */
  uploadFile(file, name) {
    return this._withToken(async (token) => {
      const form = new FormData();
      form.append("file", file, name ?? file.name ?? "file");
      const f = this._fetch ?? globalThis.fetch;
      let res;
      try {
        res = await f(`${this.baseUrl}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
      } catch (err) {
        throw new EarshotError("NETWORK", `upload failed: ${err?.message ?? err}`, { cause: err });
      }
      const data = await res.json().catch(() => null);
      if (!res.ok) {
        const code = data?.code ?? (res.status === 413 ? "PAYLOAD_TOO_LARGE" : res.status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : res.status === 401 ? "UNAUTHENTICATED" : "BAD_REQUEST");
        const retryAfter = Number(res.headers?.get?.("retry-after"));
        const extra = { status: res.status };
        if (retryAfter > 0) extra.retryAfterMs = retryAfter * 1000;
        throw new EarshotError(code, data?.message ?? `upload failed: ${res.status}`, extra);
      }
      return data;
    });
  },

  /**
   * Fetch an attachment (`url` or `thumbnail_url` of a message's
   * attachment) with the Authorization header; resolves with a Blob. Show it
   * with `URL.createObjectURL(blob)` (and revoke the URL when done), or use
   * `attachmentUrl`.
   */
  fetchAttachment(url) {
    return this._withToken(async (token) => {
      const f = this._fetch ?? globalThis.fetch;
      const abs = /^https?:/.test(url) ? url : `${this.baseUrl}${url}`;
      let res;
      try {
        res = await f(abs, { headers: { authorization: `Bearer ${token}` } });
      } catch (err) {
        throw new EarshotError("NETWORK", `attachment: ${err?.message ?? err}`, { cause: err });
      }
      if (!res.ok) {
        const data = await res.json().catch(() => null);
        const code = data?.code ?? (res.status === 401 ? "UNAUTHENTICATED" : res.status === 403 ? "ACCESS_DENIED" : res.status === 404 ? "NOT_FOUND" : "BAD_REQUEST");
        throw new EarshotError(code, data?.message ?? `attachment: ${res.status}`, { status: res.status });
      }
      return res.blob();
    });
  },

  /** `fetchAttachment` as a blob: URL (cached per URL until `revokeAttachmentUrls`). */
  async attachmentUrl(url) {
    this._blobUrls ??= new Map();
    let p = this._blobUrls.get(url);
    if (!p) {
      p = this.fetchAttachment(url).then((blob) => URL.createObjectURL(blob));
      this._blobUrls.set(url, p);
      p.catch(() => this._blobUrls.delete(url));
    }
    return p;
  },

  /** Free the blob: URLs made by `attachmentUrl`. */
  async revokeAttachmentUrls() {
    const all = [...(this._blobUrls?.values() ?? [])];
    this._blobUrls?.clear();
    for (const p of all) {
      try {
        URL.revokeObjectURL(await p);
      } catch {
        /* never loaded */
      }
    }
  },
};

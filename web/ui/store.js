// The demo app's per-room message store: stored messages by seq, local
// messages (sending or failed) by client id, merged without duplicates.

export class RoomMessages {
  constructor() {
    /** @type {Map<number, object>} */
    this.bySeq = new Map();
    /** @type {Map<string, object>} */
    this.byId = new Map();
    /** Local messages not yet stored (sending or failed), by client id. */
    this.pending = new Map();
    this.loaded = false;
    this.hasOlder = false;
    this.loadingOlder = false;
  }

  /** Add or replace a stored message. Returns true if anything changed. */
  add(m) {
    if (m == null || m.seq == null) return false;
    const prev = this.bySeq.get(m.seq);
    if (prev && !prev.local && (prev.edited_at ?? 0) > (m.edited_at ?? 0)) return false;
    if (prev && prev.deleted && !m.deleted) return false;
    this.bySeq.set(m.seq, m);
    if (m.id) this.byId.set(m.id, m);
    if (m.client_msg_id) this.pending.delete(m.client_msg_id);
    return true;
  }

  /** A local message from sendMessage (the SDK keeps it up to date). */
  addLocal(local) {
    if (local.status === "sent" && local.seq != null) {
      // Keep the server's copy if it is already here.
      if (!this.bySeq.has(local.seq)) this.add(local);
      this.pending.delete(local.client_msg_id);
    } else {
      this.pending.set(local.client_msg_id, local);
    }
  }

  update(m) {
    if (m.seq == null) return false;
    this.bySeq.set(m.seq, m);
    if (m.id) this.byId.set(m.id, m);
    return true;
  }

  markDeleted({ seq, message_id }) {
    const m = this.bySeq.get(seq) ?? this.byId.get(message_id);
    if (!m) return false;
    const d = { ...m, deleted: true, text: "" };
    delete d.refs;
    this.update(d);
    return true;
  }

  find(id) {
    return this.byId.get(id);
  }

  get oldestSeq() {
    let min = Infinity;
    for (const s of this.bySeq.keys()) if (s < min) min = s;
    return min === Infinity ? null : min;
  }

  get newestSeq() {
    let max = 0;
    for (const s of this.bySeq.keys()) if (s > max) max = s;
    return max;
  }

  /** Stored messages by seq, then local ones by creation time. */
  list() {
    const stored = [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
    const local = [...this.pending.values()].sort((a, b) => a.created_at - b.created_at);
    return stored.concat(local);
  }
}

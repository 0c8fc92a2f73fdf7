// The client's room list as live state: filled by `listRooms()`, then kept
// current by what the server pushes (room_added, room_removed, room_updated,
// room_activity) and by the messages of joined rooms, so an app renders
// `client.roomList.list()` on each `room_list` event instead of polling.

export class LiveRoomList {
  constructor() {
    /** room id -> summary `{room, unread, last_seq, last_message, online}` */
    this.rooms = new Map();
  }

  /** Take a listing (`list_rooms`): its entries replace what was known. */
  load(summaries) {
    for (const s of summaries) this.rooms.set(s.room.id, { ...s });
  }

  /** The rooms, most recently active first. */
  list() {
    const at = (s) => s.last_message?.created_at ?? s.room.created_at ?? 0;
    return [...this.rooms.values()].sort((a, b) => at(b) - at(a) || (a.room.id < b.room.id ? 1 : -1));
  }

  /** A frame the server pushed; true when the list changed. */
  apply(f, me) {
    switch (f.type) {
      case "room_added":
        this.rooms.set(f.room.room.id, { ...f.room });
        return true;
      case "room_removed":
        return this.rooms.delete(f.room_id);
      case "room_updated": {
        const s = this.rooms.get(f.room.id);
        if (!s) return false;
        s.room = f.room;
        return true;
      }
      case "room_activity":
        return this._note(f.room_id, f.message, f.last_seq, me);
      default:
        return false;
    }
  }

  /** A message of a joined room; true when the list changed. */
  noteMessage(m, me) {
    if (m.seq == null) return false;
    const preview = {
      seq: m.seq,
      sender_id: m.sender?.id,
      sender_name: m.sender?.name,
      message_type: m.message_type,
      text: m.deleted ? "" : (m.text ?? "").slice(0, 120),
      created_at: m.created_at,
    };
    return this._note(m.room_id, preview, m.seq, me);
  }

  _note(roomId, preview, lastSeq, me) {
    const s = this.rooms.get(roomId);
    if (!s || (s.last_message?.seq != null && preview.seq <= s.last_message.seq)) return false;
    s.last_message = preview;
    s.last_seq = Math.max(s.last_seq ?? 0, lastSeq);
    if (preview.sender_id !== me) s.unread = (s.unread ?? 0) + 1;
    return true;
  }

  /** This user read the room up to its end. */
  read(roomId) {
    const s = this.rooms.get(roomId);
    if (!s || !s.unread) return false;
    s.unread = 0;
    return true;
  }
}

// Room titles and people's names for the call monitor: call summaries and
// reports carry only ids, so each room is looked up once
// (`GET /api/rooms/{id}`: its title and members) and kept. A room that
// cannot be read (gone, or out of the viewer's scope) is shown by its id.

export class Directory {
  constructor(client) {
    this.client = client;
    /** room id -> Promise<{title: string | null, names: Map<user id, name>}> */
    this.rooms = new Map();
    /** user id -> display name, from rooms and live calls */
    this.names = new Map();
    /** room id -> title, once known */
    this.titles = new Map();
  }

  /** Learn names from a live call view (its participants carry users). */
  noteCall(call) {
    for (const p of call.participants ?? []) if (p.user?.id && p.user.name) this.names.set(p.user.id, p.user.name);
    if (call.initiator?.id && call.initiator.name) this.names.set(call.initiator.id, call.initiator.name);
  }

  /** The room's title and members' names; never rejects. */
  room(roomId) {
    let p = this.rooms.get(roomId);
    if (!p) {
      p = this.client
        .getRoom(roomId)
        .then((r) => {
          const names = new Map();
          for (const m of r.members ?? []) if (m.user?.id) names.set(m.user.id, m.user.name || m.user.id);
          for (const [id, name] of names) if (!this.names.has(id)) this.names.set(id, name);
          return { title: r.room?.title || null, names };
        })
        .catch(() => {
          // Looked up again next time (the room may become readable).
          setTimeout(() => this.rooms.delete(roomId), 30000);
          return { title: null, names: new Map() };
        });
      this.rooms.set(roomId, p);
    }
    return p;
  }

  /** The title, if already known (for synchronous renders). */
  titleNow(roomId) {
    return this.titles.get(roomId) ?? null;
  }

  /** Look up several rooms; `onTitle(roomId, title)` runs as each title arrives. */
  resolve(roomIds, onTitle) {
    for (const id of new Set(roomIds)) {
      if (this.titles.has(id)) continue;
      this.room(id).then((r) => {
        if (r.title && !this.titles.has(id)) {
          this.titles.set(id, r.title);
          onTitle?.(id, r.title);
        }
      });
    }
  }

  /** A user's display name, if known. */
  name(userId) {
    return this.names.get(userId) ?? null;
  }
}

// The sidebar: the signed-in user and the conversation list (presence dots,
// last-message previews, unread badges, search).

import { h, $, avatar, icon, fmtShort } from "./dom.js";

export class RoomList {
  constructor(app) {
    this.app = app;
    this.list = $("#room-list");
    this.filter = $("#room-filter");
    $("#new-room").append(icon("plus"));
    $("#search-icon").append(icon("search"));
    this.filter.addEventListener("input", () => this.render());
    this.list.addEventListener("click", (e) => {
      const item = e.target.closest("[data-room-id]");
      if (item) this.app.openRoom(item.dataset.roomId);
    });
  }

  renderMe() {
    const me = this.app.me;
    $("#me").replaceChildren(
      avatar(me.id, me.name, { size: "md", status: this.app.myStatus }),
      h("div", { class: "me-text" }, h("strong", {}, me.name || me.id), h("span", { class: "muted" }, `${me.id} · ${me.role}`)),
    );
  }

  /** Rooms, most recently active first. */
  ordered() {
    const activity = (r) => r.last_message?.created_at ?? r.room.created_at ?? 0;
    return [...this.app.rooms.values()].sort((a, b) => activity(b) - activity(a));
  }

  render() {
    const q = this.filter.value.trim().toLowerCase();
    const rooms = this.ordered().filter(
      (r) => !q || r.room.title.toLowerCase().includes(q) || (r.last_message?.text ?? "").toLowerCase().includes(q),
    );
    const frag = document.createDocumentFragment();
    for (const r of rooms) frag.append(this.renderItem(r));
    this.list.replaceChildren(frag);
    $("#rooms-empty").hidden = this.app.rooms.size > 0 || !this.app.roomsLoaded;
    this.renderTitle();
  }

  /** The unread count in the tab's title: "(3) earshot". */
  renderTitle() {
    let unread = 0;
    for (const r of this.app.rooms.values()) unread += r.unread || 0;
    document.title = unread ? `(${unread > 99 ? "99+" : unread}) earshot` : "earshot";
  }

  renderItem(r) {
    const id = r.room.id;
    const active = id === this.app.active;
    const typing = this.app.typersIn(id);
    const lm = r.last_message;
    let preview;
    if (typing.length) {
      preview = h("span", { class: "preview typing-preview" }, `${(typing[0].name || typing[0].userId).split(" ")[0]} is typing…`);
    } else if (lm) {
      const who = lm.sender_id === this.app.me.id ? "You" : (lm.sender_name || lm.sender_id).split(" ")[0];
      const text = lm.deleted ? "Message deleted" : lm.text || ({ image: "Photo", voice: "Voice message", file: "File" }[lm.message_type] ?? "Attachment");
      preview = h("span", { class: "preview" }, h("span", { class: "preview-who" }, `${who}: `), h("bdi", {}, text));
    } else {
      preview = h("span", { class: "preview muted" }, `New ${r.room.type} conversation`);
    }
    const unread = active ? 0 : r.unread;
    return h(
      "li",
      { class: `room-item${active ? " active" : ""}${unread ? " has-unread" : ""}` },
      h(
        "button",
        { type: "button", class: "room-btn", dataset: { roomId: id }, "aria-current": active ? "true" : undefined },
        avatar(id, r.room.title, { size: "md", status: this.app.roomPresence(id) }),
        h(
          "span",
          { class: "room-main" },
          h(
            "span",
            { class: "room-top" },
            h("span", { class: "room-title" }, r.room.title),
            this.app.client?.calls.active.has(id) ? h("span", { class: "room-call", title: "Call in progress" }, icon("phone")) : null,
            h("span", { class: "room-time" }, lm ? fmtShort(lm.created_at) : ""),
          ),
          h(
            "span",
            { class: "room-bottom" },
            preview,
            unread ? h("span", { class: "badge", "aria-label": `${unread} unread` }, unread > 99 ? "99+" : String(unread)) : null,
          ),
        ),
      ),
    );
  }
}

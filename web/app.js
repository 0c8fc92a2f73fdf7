// earshot demo app: dev-mode sign-in, conversations with unread badges,
// previews and presence, a chat pane with history, typing, receipts,
// replies, attachments and voice messages, edit/delete and optimistic
// sending, calls (sfu and p2p) with a call dock, and notifications as
// toasts and in a notification centre (unread count, mark read, synced
// across devices). Everything goes through the SDK (earshot.js); the UI
// lives in ui/.

import { EarshotClient, devConfig } from "./earshot.js";
import { h, $, icon, avatar } from "./ui/dom.js";
import { RoomMessages } from "./ui/store.js";
import { ChatView } from "./ui/chat.js";
import { RoomList } from "./ui/rooms.js";
import { CallView } from "./ui/call.js";
import { Banner } from "./ui/banner.js";
import { toast } from "./ui/toasts.js";
import { NotificationCenter } from "./ui/notifications.js";
import { setupSignInForm, savedIdentity, saveIdentity, forgetIdentity, devTokenProvider } from "./ui/signin.js";

const TYPING_TTL_MS = 6000;
// The server pushes room changes (room_added, room_removed, room_updated,
// room_activity); the listing is only a safety net, and runs on reconnect.
const ROOMS_POLL_MS = 120000;
const PAGE = 50;
const PRESENCE_RANK = { online: 3, busy: 2, away: 1, offline: 0 };

const app = {
  client: null,
  me: null,
  myStatus: "online",
  /** room id -> summary ({room, unread, last_seq, last_message, online}) */
  rooms: new Map(),
  roomsLoaded: false,
  active: null,
  /** The room a link named that this user is not in (the "no access" state), or null. */
  deniedRoom: null,
  stores: new Map(),
  /** room id -> Map(user id -> {userId, name, timer}) */
  typing: new Map(),
  chat: null,
  list: null,
  banner: null,
  callView: null,
  /** The call this device is in (an SDK Call), or null. */
  call: null,
  staffRoles: [],
  monitorRoles: ["admin"],

  storeFor(roomId) {
    let s = this.stores.get(roomId);
    if (!s) this.stores.set(roomId, (s = new RoomMessages()));
    return s;
  },

  membersOf(roomId) {
    return this.client?.roomState(roomId)?.members ?? [];
  },

  /** The best presence among the room's other members (no dot when all are offline). */
  roomPresence(roomId) {
    let best = "offline";
    const consider = (userId, fallback) => {
      if (userId === this.me.id) return;
      const s = this.client.presenceOf(userId)?.status ?? fallback ?? "offline";
      if (PRESENCE_RANK[s] > PRESENCE_RANK[best]) best = s;
    };
    const members = this.membersOf(roomId);
    if (members.length) for (const m of members) consider(m.user.id, m.presence);
    else for (const u of this.rooms.get(roomId)?.online ?? []) consider(u, "online");
    return best === "offline" ? undefined : best;
  },

  typersIn(roomId) {
    return [...(this.typing.get(roomId)?.values() ?? [])];
  },

  async openRoom(roomId) {
    const r = this.rooms.get(roomId);
    if (!r) return;
    this.active = roomId;
    this.deniedRoom = null;
    r.unread = 0;
    history.replaceState(null, "", `#${encodeURIComponent(roomId)}`);
    $("#app").classList.add("chat-open");
    $("#chat-empty").hidden = true;
    $("#chat-denied").hidden = true;
    this.chat.open();
    this.list.render();
    this.callView.renderStrip();
    this.callView.refresh(roomId);
    const store = this.storeFor(roomId);
    if (!store.loaded) {
      try {
        const page = await this.client.getMessages(roomId, { limit: PAGE });
        for (const m of page.messages) store.add(m);
        store.hasOlder = page.has_more;
        store.loaded = true;
      } catch (err) {
        toast(err.message, { title: "Could not load messages", kind: "error" });
      }
      if (this.active === roomId) this.chat.render("bottom");
    }
    this.markRead(roomId);
  },

  closeRoom() {
    $("#app").classList.remove("chat-open");
  },

  /**
   * A link to a conversation this user is not in (or that does not exist):
   * say so in the chat pane instead of showing nothing. The two cases look
   * the same, so a link tells an outsider nothing about the room.
   */
  showDenied(roomId) {
    this.active = null;
    this.deniedRoom = roomId;
    $("#chat-pane").hidden = true;
    $("#chat-empty").hidden = true;
    $("#chat-denied").hidden = false;
    $("#app").classList.add("chat-open");
    this.list.render();
    $("#chat-denied-title").focus();
  },

  /** Leave the "no access" state for the list of one's own conversations. */
  leaveDenied() {
    this.deniedRoom = null;
    history.replaceState(null, "", location.pathname + location.search);
    $("#chat-denied").hidden = true;
    $("#chat-empty").hidden = false;
    this.closeRoom();
  },

  /** Open the conversation the address names, or say that this user has no access to it. */
  openFromHash() {
    const wanted = decodeURIComponent(location.hash.slice(1));
    if (!wanted || wanted === this.active || !this.roomsLoaded) return;
    if (this.rooms.has(wanted)) this.openRoom(wanted);
    else this.showDenied(wanted);
  },

  async loadOlder(roomId) {
    const store = this.storeFor(roomId);
    if (!roomId || store.loadingOlder || !store.hasOlder || store.oldestSeq == null) return;
    store.loadingOlder = true;
    this.chat.render("prepend");
    try {
      const page = await this.client.getMessages(roomId, { before: store.oldestSeq, limit: PAGE });
      for (const m of page.messages) store.add(m);
      store.hasOlder = page.has_more;
    } catch (err) {
      toast(err.message, { title: "Could not load older messages", kind: "error" });
    } finally {
      store.loadingOlder = false;
    }
    if (this.active === roomId) this.chat.render("prepend");
  },

  markRead(roomId) {
    if (!roomId || roomId !== this.active || document.visibilityState !== "visible") return;
    const r = this.rooms.get(roomId);
    if (r && r.unread) {
      r.unread = 0;
      this.list.render();
    }
    this.client.markRead(roomId).catch(() => {});
  },

  send(roomId, text, replyTo, attachments = [], messageType = undefined, metadata = undefined) {
    // Without text or a type the server types the message from its first file (image, voice or file).
    const local = this.client.sendMessage(roomId, { text, replyTo, attachments, messageType, metadata });
    this.storeFor(roomId).addLocal(local);
    this.notePreview(local);
    this.chat.render("bottom");
    this.list.render();
  },

  editMessage(m, text) {
    this.client.editMessage(m.room_id, m.id, text).catch((err) => toast(err.message, { title: "Could not edit", kind: "error" }));
  },

  deleteMessage(m) {
    if (!confirm("Delete this message for everyone?")) return;
    this.client.deleteMessage(m.room_id, m.id).catch((err) => toast(err.message, { title: "Could not delete", kind: "error" }));
  },

  /** Keep the room list's preview in step with the newest message. */
  notePreview(m) {
    const r = this.rooms.get(m.room_id);
    if (!r) return;
    const lm = r.last_message;
    if (lm && m.seq != null && lm.seq != null && m.seq < lm.seq) return;
    r.last_message = {
      seq: m.seq,
      sender_id: m.sender?.id,
      sender_name: m.sender?.name,
      message_type: m.message_type,
      text: (m.text ?? "").slice(0, 120),
      created_at: m.created_at,
      deleted: m.deleted,
    };
    if (m.seq != null) r.last_seq = Math.max(r.last_seq ?? 0, m.seq);
  },
};

// ---- connection and rooms ---------------------------------------------------

async function refreshRooms() {
  if (app.client?.state !== "connected") return;
  let list;
  try {
    list = await app.client.listRooms();
  } catch {
    return; // retried on the next poll or reconnect
  }
  const seen = new Set();
  for (const s of list) {
    const id = s.room.id;
    seen.add(id);
    const prev = app.rooms.get(id);
    const summary = { ...s, unread: id === app.active ? 0 : s.unread };
    // A live message newer than the listing wins.
    if (prev?.last_message && (!s.last_message || prev.last_message.seq > s.last_message.seq)) summary.last_message = prev.last_message;
    app.rooms.set(id, summary);
    if (!app.client.joinedRooms.includes(id)) {
      app.client.joinRoom(id, { sinceSeq: s.last_seq }).catch((err) => console.warn("join", id, err));
    }
  }
  for (const id of [...app.rooms.keys()]) if (!seen.has(id)) app.rooms.delete(id);
  const first = !app.roomsLoaded;
  app.roomsLoaded = true;
  app.list.render();
  if (first && !app.active) app.openFromHash();
}

function setTyping(f) {
  let m = app.typing.get(f.room_id);
  if (!m) app.typing.set(f.room_id, (m = new Map()));
  const prev = m.get(f.user_id);
  if (prev) clearTimeout(prev.timer);
  if (f.is_typing) {
    const timer = setTimeout(() => setTyping({ ...f, is_typing: false }), TYPING_TTL_MS);
    m.set(f.user_id, { userId: f.user_id, name: f.name, timer });
  } else {
    m.delete(f.user_id);
  }
  if (f.room_id === app.active) app.chat.renderTyping();
  app.list.render();
}

function wire(client) {
  client.on("state", (state, info) => {
    app.banner.update(state, info);
    // Presence shown while offline would be stale: grey it out.
    document.body.classList.toggle("offline", state !== "connected");
  });
  client.on("reconnecting", (info) => app.banner.reconnecting(info));
  // Sign-out reloads the page: one notification centre per client.
  app.notifications = new NotificationCenter(client, {
    button: $("#notif-btn"),
    count: $("#notif-count"),
    panel: $("#notif-panel"),
    list: $("#notif-list"),
    empty: $("#notif-empty"),
    readAll: $("#notif-read-all"),
  });
  client.on("connected", ({ resumed }) => {
    if (resumed) app.banner.backOnline();
    refreshRooms();
    app.notifications.load();
  });
  client.on("reconnect_failed", () => app.banner.failed());
  // The live room list: rooms appear, vanish, change and move as it happens.
  client.on("room_added", ({ room: s }) => {
    const id = s.room.id;
    const prev = app.rooms.get(id);
    app.rooms.set(id, { ...s, unread: id === app.active ? 0 : s.unread, last_message: prev?.last_message ?? s.last_message });
    if (!client.joinedRooms.includes(id)) client.joinRoom(id, { sinceSeq: s.last_seq }).catch((err) => console.warn("join", id, err));
    app.list.render();
    // Added to the conversation whose link said "no access": open it.
    if (id === app.deniedRoom) app.openRoom(id);
  });
  client.on("room_removed", ({ room_id: id }) => {
    const title = app.rooms.get(id)?.room.title;
    app.rooms.delete(id);
    Promise.resolve(client.leaveRoom(id)).catch(() => {});
    if (app.active === id) {
      app.closeRoom();
      toast(`You are no longer in ${title ?? "this conversation"}.`, { kind: "info" });
    }
    app.list.render();
  });
  client.on("room_updated", ({ room }) => {
    const r = app.rooms.get(room.id);
    if (!r) return;
    r.room = room;
    app.list.render();
    if (app.active === room.id) app.chat.renderHeader();
  });
  client.on("room_activity", (f) => {
    const r = app.rooms.get(f.room_id);
    if (!r) return;
    const m = f.message;
    if (r.last_message?.seq != null && m.seq <= r.last_message.seq) return;
    r.last_message = m;
    r.last_seq = Math.max(r.last_seq ?? 0, f.last_seq);
    if (m.sender_id !== app.me.id && f.room_id !== app.active) r.unread = (r.unread ?? 0) + 1;
    app.list.render();
  });
  client.on("message", (m) => {
    const store = app.storeFor(m.room_id);
    store.add(m);
    app.notePreview(m);
    const mine = m.sender?.id === app.me.id;
    const r = app.rooms.get(m.room_id);
    const typers = app.typing.get(m.room_id);
    if (typers?.has(m.sender?.id)) setTyping({ room_id: m.room_id, user_id: m.sender.id, is_typing: false });
    if (m.room_id === app.active) {
      app.chat.render(mine ? "bottom" : "auto");
      // Unread while this tab is in the background (the tab's title counts it).
      if (r && !mine && !m.deleted && document.visibilityState !== "visible") r.unread = (r.unread ?? 0) + 1;
      app.markRead(m.room_id);
    } else if (r && !mine && !m.deleted) {
      r.unread = (r.unread ?? 0) + 1;
    }
    app.list.render();
  });
  client.on("message_status", (local) => {
    app.storeFor(local.room_id).addLocal(local);
    if (local.room_id === app.active) app.chat.render("auto");
  });
  client.on("message_updated", (m) => {
    app.storeFor(m.room_id).update(m);
    const r = app.rooms.get(m.room_id);
    if (r?.last_message?.seq === m.seq) app.notePreview(m);
    if (m.room_id === app.active) app.chat.render("auto");
    app.list.render();
  });
  client.on("message_deleted", (f) => {
    app.storeFor(f.room_id).markDeleted(f);
    const r = app.rooms.get(f.room_id);
    if (r?.last_message?.seq === f.seq) r.last_message = { ...r.last_message, deleted: true, text: "" };
    if (f.room_id === app.active) app.chat.render("auto");
    app.list.render();
  });
  client.on("typing", setTyping);
  client.on("delivery_receipt", (f) => {
    if (f.room_id === app.active) app.chat.render("auto");
  });
  client.on("read_receipt", (f) => {
    if (f.user_id === app.me.id) {
      const r = app.rooms.get(f.room_id);
      if (r) r.unread = 0;
      app.list.render();
    }
    if (f.room_id === app.active) app.chat.render("auto");
  });
  const presenceChanged = () => {
    app.list.render();
    if (app.active) app.chat.renderHeader();
  };
  client.on("presence", presenceChanged);
  client.on("member_joined", presenceChanged);
  client.on("member_left", presenceChanged);
  client.on("room_joined", (f) => {
    const r = app.rooms.get(f.room.id);
    if (r) r.room = f.room;
    presenceChanged();
    // Edits and deletions made while we were away are not replayed: refresh
    // the page on screen.
    if (f.resumed && f.room.id === app.active) refreshNewest(f.room.id);
  });
  client.on("room_left", (f) => {
    app.rooms.delete(f.room_id);
    if (app.active === f.room_id) {
      app.active = null;
      $("#chat-pane").hidden = true;
      $("#chat-empty").hidden = false;
      app.closeRoom();
    }
    app.list.render();
  });
  client.on("error", (err) => console.warn("earshot:", err.code, err.message));
  client.on("notification", (n) => {
    toast(n.body ?? "", { title: n.title, kind: ["success", "warning", "error"].includes(n.kind) ? n.kind : "info", link: n.link, timeoutMs: 8000 });
  });
  client.on("event", (e) => console.info("earshot event:", e.name, e.payload));
  app.callView.wire(client);
}

async function refreshNewest(roomId) {
  try {
    const page = await app.client.getMessages(roomId, { limit: PAGE });
    const store = app.storeFor(roomId);
    for (const m of page.messages) store.update(m);
    if (app.active === roomId) app.chat.render("auto");
  } catch {
    /* next time */
  }
}

// ---- sign-in ----------------------------------------------------------------

async function signIn({ user, name, role }) {
  // The provider runs before every (re)connect: a fresh token each time.
  const provider = await devTokenProvider({ user, name, role });
  app.me = { id: user, name: name || user, role };
  saveIdentity({ user, name, role });
  const client = new EarshotClient();
  app.client = client;
  window.earshot = client; // handy in the console
  wire(client);
  $("#signin").hidden = true;
  $("#app").hidden = false;
  app.list.renderMe();
  app.list.render();
  renderMonitorLink();
  app.reconnect = () => client.connect(provider).catch(() => {});
  app.reconnect();
}

/** The call monitor is for the server's monitoring roles (admin unless configured otherwise). */
function renderMonitorLink() {
  $("#monitor-link").hidden = !app.monitorRoles.includes(app.me?.role);
}

function setupRoomDialog() {
  const dialog = $("#room-dialog");
  const form = $("#room-form");
  const err = $("#room-error");
  $("#new-room").addEventListener("click", () => {
    form.reset();
    err.textContent = "";
    $("#room-find-results").replaceChildren();
    dialog.showModal();
    $("#room-title").focus();
    findPeople("");
  });
  // Find people by name: the directory lists whom this user may talk to.
  let findTimer = null;
  let findSeq = 0;
  const findPeople = async (q) => {
    const seq = ++findSeq;
    let users = [];
    try {
      users = await app.client.findUsers(q, { limit: 8 });
    } catch {
      users = [];
    }
    if (seq !== findSeq) return;
    const chosen = () => $("#room-people").value.split(/[\s,;]+/).filter(Boolean);
    $("#room-find-results").replaceChildren(
      ...users.map((u) =>
        h("li", {},
          h("button", {
            type: "button",
            class: "find-person",
            dataset: { userId: u.id },
            onclick: () => {
              const ids = chosen();
              if (!ids.includes(u.id)) $("#room-people").value = [...ids, u.id].join(", ");
            },
          },
          avatar(u.id, u.name || u.id, { size: "sm", status: u.presence }),
          h("span", { class: "find-name" }, u.name || u.id),
          h("span", { class: "find-role muted" }, u.role ?? ""),
          ),
        ),
      ),
    );
  };
  $("#room-find").addEventListener("input", (e) => {
    clearTimeout(findTimer);
    findTimer = setTimeout(() => findPeople(e.target.value.trim()), 150);
  });
  $("#room-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    const participants = $("#room-people").value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
    const btn = $("#room-create");
    btn.disabled = true;
    try {
      const room = await app.client.createRoom({ title: $("#room-title").value.trim(), type: $("#room-type").value, participants });
      app.rooms.set(room.id, { room, unread: 0, last_seq: 0, online: [] });
      await app.client.joinRoom(room.id, { sinceSeq: 0 });
      dialog.close();
      app.list.render();
      app.openRoom(room.id);
    } catch (e2) {
      err.textContent = e2.message || "Could not create the conversation";
    } finally {
      btn.disabled = false;
    }
  });
}

function setupChrome() {
  $("#sign-out").prepend(icon("logout"));
  $("#monitor-link").prepend(icon("pulse"));
  $("#sign-out").addEventListener("click", () => {
    app.client?.disconnect();
    forgetIdentity();
    location.hash = "";
    location.reload();
  });
  $("#my-status").addEventListener("change", (e) => {
    app.myStatus = e.target.value;
    app.client?.setPresence(app.myStatus).catch((err) => toast(err.message, { kind: "error" }));
    app.list.renderMe();
  });
  $("#chat-denied-back").addEventListener("click", () => app.leaveDenied());
  window.addEventListener("hashchange", () => app.openFromHash());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      app.markRead(app.active);
      refreshRooms();
    }
  });
  setInterval(refreshRooms, ROOMS_POLL_MS);
}

async function boot() {
  app.banner = new Banner(() => app.client?.reconnectNow(), () => app.reconnect?.());
  app.list = new RoomList(app);
  app.chat = new ChatView(app);
  app.callView = new CallView(app);
  setupSignInForm(signIn);
  setupRoomDialog();
  setupChrome();
  let dev = false;
  try {
    const config = await devConfig();
    dev = config.dev === true;
    app.staffRoles = config.staff_roles ?? [];
    // Servers that do not say which roles monitor calls use the default.
    app.monitorRoles = config.monitor_roles ?? ["admin"];
  } catch {
    dev = false;
  }
  if (!dev) {
    $("#no-dev").hidden = false;
    return;
  }
  const saved = savedIdentity();
  if (saved) {
    try {
      await signIn(saved);
      return;
    } catch {
      forgetIdentity();
    }
  }
  $("#signin").hidden = false;
  $("#signin-user").focus();
}

boot();

export { app, h };

// earshot demo app (chat): dev-mode sign-in, rooms with unread badges and
// presence dots, history, live messages, typing and read receipts, with
// automatic reconnect that recovers missed messages by sequence number.
// Uses only the documented protocol (docs/PROTOCOL.md).

const $ = (id) => document.getElementById(id);
const state = { token: null, me: null, ws: null, rooms: [], room: null, seen: new Map(), online: new Set(), attempt: 0, typingTimer: null };

function setConn(text, cls) {
  const el = $("conn");
  el.textContent = text;
  el.className = `conn ${cls}`;
}

async function api(path, opts = {}) {
  const res = await fetch(path, { ...opts, headers: { "content-type": "application/json", authorization: `Bearer ${state.token}`, ...(opts.headers || {}) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || res.statusText);
  return body;
}

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

function connect() {
  setConn(state.attempt ? "reconnecting…" : "connecting…", "wait");
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onmessage = (e) => handle(JSON.parse(e.data));
  ws.onclose = () => {
    setConn("reconnecting…", "wait");
    const delay = Math.min(10000, 500 * 2 ** state.attempt) * (0.5 + Math.random() / 2);
    state.attempt += 1;
    setTimeout(connect, delay);
  };
}

function handle(m) {
  switch (m.type) {
    case "welcome":
      state.attempt = 0;
      setConn("connected", "on");
      send({ type: "list_rooms", request_id: "rooms" });
      if (state.room) join(state.room.id);
      break;
    case "rooms":
      state.rooms = m.rooms;
      m.rooms.forEach((r) => r.online.forEach((u) => state.online.add(u)));
      renderRooms();
      break;
    case "room_joined":
      for (const msg of m.missed) addMessage(msg);
      $("older").hidden = !(m.missed.length && m.missed[0].seq > 1);
      markRead();
      break;
    case "messages":
      for (const msg of m.messages.slice().reverse()) addMessage(msg, true);
      $("older").hidden = !m.has_more;
      break;
    case "message":
      if (state.room && m.message.room_id === state.room.id) {
        addMessage(m.message);
        markRead();
      } else {
        send({ type: "list_rooms", request_id: "rooms" });
      }
      break;
    case "message_updated":
    case "message_deleted": {
      const li = document.querySelector(`[data-id="${m.message ? m.message.id : m.message_id}"] .text`);
      if (li) li.textContent = m.message ? m.message.text : "(deleted)";
      break;
    }
    case "message_ack": {
      const li = document.querySelector(`[data-cid="${m.client_msg_id}"] .status`);
      if (li) li.textContent = "sent";
      break;
    }
    case "typing":
      $("typing").textContent = m.is_typing ? `${m.name || m.user_id} is typing…` : "";
      break;
    case "read_receipt":
      if (state.room && m.room_id === state.room.id && m.user_id !== state.me.id) {
        document.querySelectorAll(".msg.mine .status").forEach((s) => { if (s.textContent === "sent") s.textContent = "seen"; });
      }
      break;
    case "presence":
      if (m.status === "offline") state.online.delete(m.user_id); else state.online.add(m.user_id);
      renderRooms();
      break;
    case "error":
      console.warn("earshot error", m.code, m.message);
      break;
  }
}

function renderRooms() {
  const ul = $("room-list");
  ul.innerHTML = "";
  for (const r of state.rooms) {
    const li = document.createElement("li");
    if (state.room && state.room.id === r.room.id) li.className = "active";
    const others = r.online.filter((u) => u !== state.me.id && state.online.has(u));
    li.innerHTML = `<span>${others.length ? '<i class="dot"></i>' : ""}<b></b></span>${r.unread ? `<span class="badge">${r.unread}</span>` : "<span></span>"}<span class="preview"></span>`;
    li.querySelector("b").textContent = r.room.title;
    li.querySelector(".preview").textContent = r.last_message ? `${r.last_message.sender_name || r.last_message.sender_id}: ${r.last_message.text}` : r.room.type;
    li.onclick = () => openRoom(r.room);
    ul.appendChild(li);
  }
}

function openRoom(room) {
  state.room = room;
  state.seen.set(room.id, 0);
  $("messages").innerHTML = "";
  $("room-head").textContent = room.title;
  $("composer").hidden = false;
  renderRooms();
  join(room.id);
}

function join(roomId) {
  const since = state.seen.get(roomId);
  send({ type: "join_room", room_id: roomId, ...(since ? { since_seq: since } : {}) });
}

function addMessage(msg, prepend = false) {
  if (document.querySelector(`[data-id="${msg.id}"]`)) return; // no duplicates
  const pending = document.querySelector(`[data-cid="${msg.client_msg_id}"]:not([data-id])`);
  const li = pending || document.createElement("li");
  li.dataset.id = msg.id;
  li.dataset.cid = msg.client_msg_id;
  li.dataset.seq = msg.seq;
  li.className = `msg${msg.sender.id === state.me.id ? " mine" : ""}`;
  li.innerHTML = `<div class="who"></div><div class="text"></div>`;
  li.querySelector(".who").textContent = msg.sender.name || msg.sender.id;
  li.querySelector(".text").textContent = msg.deleted ? "(deleted)" : msg.text;
  if (msg.sender.id === state.me.id) li.querySelector(".who").insertAdjacentHTML("beforeend", '<span class="status">sent</span>');
  const list = $("messages");
  if (!pending) prepend ? list.prepend(li) : list.appendChild(li);
  state.seen.set(msg.room_id, Math.max(state.seen.get(msg.room_id) || 0, msg.seq));
  if (!prepend) list.scrollTop = list.scrollHeight;
}

function markRead() {
  const seq = state.room && state.seen.get(state.room.id);
  if (seq) send({ type: "mark_read", room_id: state.room.id, seq });
}

$("go").onclick = async () => {
  try {
    const body = { user: $("user").value.trim(), name: $("name").value.trim(), role: $("role").value };
    const res = await fetch("/api/dev/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const data = await res.json();
    if (!res.ok) throw new Error(data.message || "dev mode is off");
    state.token = data.token;
    state.me = { id: body.user, name: body.name };
    $("me").textContent = `${body.name || body.user} · ${body.role}`;
    $("login").hidden = true;
    $("app").hidden = false;
    connect();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
};

$("new-room").onsubmit = async (e) => {
  e.preventDefault();
  const participants = $("room-people").value.split(",").map((s) => s.trim()).filter(Boolean);
  await api("/api/rooms", { method: "POST", body: JSON.stringify({ type: "support", title: $("room-title").value, participants }) });
  $("room-title").value = "";
  $("room-people").value = "";
  send({ type: "list_rooms", request_id: "rooms" });
};

$("composer").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text || !state.room) return;
  const cid = crypto.randomUUID();
  const li = document.createElement("li");
  li.className = "msg mine";
  li.dataset.cid = cid;
  li.innerHTML = `<div class="who">${state.me.name || state.me.id}<span class="status">sending</span></div><div class="text"></div>`;
  li.querySelector(".text").textContent = text;
  $("messages").appendChild(li);
  send({ type: "send_message", room_id: state.room.id, client_msg_id: cid, text });
  send({ type: "typing", room_id: state.room.id, is_typing: false });
  $("text").value = "";
};

$("text").oninput = () => {
  if (!state.room) return;
  if (!state.typingTimer) send({ type: "typing", room_id: state.room.id, is_typing: true });
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => { state.typingTimer = null; send({ type: "typing", room_id: state.room.id, is_typing: false }); }, 2500);
};

$("older").onclick = () => {
  const first = document.querySelector("#messages [data-seq]");
  if (!first || !state.room) return;
  send({ type: "get_messages", request_id: "older", room_id: state.room.id, before: Number(first.dataset.seq), limit: 50 });
};

// The chat pane: header, message list (day separators, grouping, replies,
// edit/delete, sending status, "seen by"), typing line and composer.

import { h, $, avatar, icon, fmtTime, fmtDay, sameDay, joinNames, richText } from "./dom.js";
import { renderAttachments } from "./attachments.js";
import { Composer } from "./composer.js";
import { VoiceRecorder } from "./voice.js";
import { toast } from "./toasts.js";
import { RovingFocus } from "./roving.js";

const GROUP_MS = 5 * 60 * 1000;

export class ChatView {
  /** @param {any} app the app state and actions (see app.js) */
  constructor(app) {
    this.app = app;
    this.pane = $("#chat-pane");
    this.scroller = $("#scroller");
    this.list = $("#messages");
    this.older = $("#load-older");
    this.typingEl = $("#typing");
    this.text = $("#text");
    this.context = null; // {kind: "reply" | "edit", message}
    this.composer = new Composer(app);
    this.voice = new VoiceRecorder(app, () => this.roomId);
    /** Rendered attachments by message: reused across renders so images do not reload and flicker. */
    this.attachmentNodes = new Map();
    this.roving = new RovingFocus(this.list, { onStart: () => this.app.loadOlder(this.roomId) });
    $("#back").append(icon("back"));
    $("#send").append(icon("send"));
    $("#compose-cancel").append(icon("close"));
    $("#assistant-toggle").prepend(icon("sparkle"));
    $("#assistant-toggle").addEventListener("click", () => this.toggleAssistant());
    this.bind();
  }

  get roomId() {
    return this.app.active;
  }

  bind() {
    this.older.addEventListener("click", () => this.app.loadOlder(this.roomId));
    this.scroller.addEventListener("scroll", () => {
      this.stuck = this.atBottom();
      if (this.scroller.scrollTop < 40 && !this.older.hidden) this.app.loadOlder(this.roomId);
      if (this.stuck) this.app.markRead(this.roomId);
    });
    // The space for messages changes (the call strip or dock comes or goes,
    // the composer grows, the window resizes) and images load: whoever was
    // following the newest message stays at the bottom.
    const follow = new ResizeObserver(() => {
      if (this.stuck && !this.pane.hidden) this.scrollToBottom();
    });
    follow.observe(this.scroller);
    follow.observe(this.list);
    $("#back").addEventListener("click", () => this.app.closeRoom());
    $("#compose-cancel").addEventListener("click", () => this.clearContext());
    $("#composer").addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.text.addEventListener("input", () => {
      this.autosize();
      if (this.context?.kind !== "edit" && this.text.value.trim()) this.app.client.typing(this.roomId);
      if (!this.text.value) this.app.client.stopTyping(this.roomId);
    });
    this.text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      } else if (e.key === "Escape" && this.context) {
        this.clearContext();
      } else if (e.key === "ArrowUp" && !this.text.value && !this.context) {
        const mine = this.app.storeFor(this.roomId).list().filter((m) => this.isMine(m) && m.id && !m.deleted).at(-1);
        if (mine) {
          e.preventDefault();
          this.startEdit(mine);
        }
      }
    });
    this.list.addEventListener("click", (e) => {
      const btn = e.target.closest("[data-action]");
      const row = e.target.closest(".msg-row");
      if (!row) return;
      const m = this.messageFor(row.dataset.key);
      if (btn && m) {
        const a = btn.dataset.action;
        if (a === "reply") this.startReply(m);
        else if (a === "edit") this.startEdit(m);
        else if (a === "delete") this.app.deleteMessage(m);
        else if (a === "retry") this.app.client.retryMessage(m.client_msg_id);
        else if (a === "quote") this.flash(m.reply_to);
        return;
      }
      // Opening an image or playing a voice message is not a tap on the message.
      if (e.target.closest(".att-image, .att-voice, .att-file")) return;
      // Touch screens have no hover: a tap shows the message's actions.
      for (const r of this.list.querySelectorAll(".msg-row.show-actions")) if (r !== row) r.classList.remove("show-actions");
      row.classList.toggle("show-actions");
    });
  }

  isMine(m) {
    return m.sender?.id === this.app.me.id;
  }

  messageFor(key) {
    return this.app.storeFor(this.roomId).list().find((m) => keyOf(m) === key);
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Show a room (called by the app). */
  open() {
    this.pane.hidden = false;
    this.clearContext();
    this.text.value = "";
    this.autosize();
    this.roving.reset();
    this.renderHeader();
    this.loadAssistant();
    this.render("bottom");
    this.renderTyping();
    if (window.matchMedia("(min-width: 761px)").matches) this.text.focus();
  }

  /** Whether the signed-in user has a staff role. */
  isStaff() {
    return (this.app.staffRoles ?? []).includes(this.app.me.role);
  }

  /**
   * The assistant switch, with the room's setting: for staff; the room's
   * creator only sees it while the assistant is on (they may switch it off,
   * only staff switch it on).
   */
  async loadAssistant() {
    const roomId = this.roomId;
    const btn = $("#assistant-toggle");
    const r = this.app.rooms.get(roomId);
    const me = this.app.me;
    btn.hidden = true;
    if (!r || !(this.isStaff() || r.room.created_by === me.id)) return;
    try {
      const { enabled } = await this.app.client.getAssistant(roomId);
      if (roomId !== this.roomId) return;
      this.renderAssistant(enabled);
      btn.hidden = !enabled && !this.isStaff();
    } catch {
      /* a server without the assistant: no switch */
    }
  }

  renderAssistant(enabled) {
    const btn = $("#assistant-toggle");
    btn.setAttribute("aria-pressed", String(enabled));
    btn.classList.toggle("on", enabled);
    btn.querySelector("span").textContent = enabled ? "Assistant on" : "Assistant off";
  }

  async toggleAssistant() {
    const btn = $("#assistant-toggle");
    const next = btn.getAttribute("aria-pressed") !== "true";
    try {
      const { enabled } = await this.app.client.setAssistant(this.roomId, next);
      this.renderAssistant(enabled);
      if (!enabled && !this.isStaff()) btn.hidden = true;
    } catch (err) {
      toast(err.message, { title: "Could not change the assistant", kind: "error" });
    }
  }

  renderHeader() {
    const r = this.app.rooms.get(this.roomId);
    if (!r) return;
    const others = this.app.membersOf(this.roomId).filter((m) => m.user.id !== this.app.me.id);
    const status = this.app.roomPresence(this.roomId);
    $("#chat-avatar").replaceChildren(avatar(r.room.id, r.room.title, { size: "md", status }));
    $("#chat-title").textContent = r.room.title;
    let sub;
    if (others.length === 0) sub = `${cap(r.room.type)} · only you so far`;
    else if (others.length <= 3) {
      sub = others
        .map((m) => {
          const p = this.app.client.presenceOf(m.user.id)?.status ?? m.presence ?? "offline";
          return `${m.user.name || m.user.id} (${p === "offline" ? "offline" : p})`;
        })
        .join(" · ");
    } else {
      const online = others.filter((m) => (this.app.client.presenceOf(m.user.id)?.status ?? "offline") !== "offline").length;
      sub = `${others.length + 1} members · ${online} online`;
    }
    $("#chat-sub").textContent = sub;
  }

  /**
   * Re-render the messages. `mode`: "bottom" (scroll to the end), "prepend"
   * (older messages were added above: keep the view still) or "auto" (follow
   * the end only if the user is already there).
   */
  render(mode = "auto") {
    const roomId = this.roomId;
    if (!roomId) return;
    const store = this.app.storeFor(roomId);
    const stick = mode === "bottom" || (mode === "auto" && this.atBottom());
    const prevHeight = this.scroller.scrollHeight;
    const prevTop = this.scroller.scrollTop;
    const focus = this.roving.save();
    const items = store.list();
    const seenRow = this.seenBy(items);
    const frag = document.createDocumentFragment();
    let prev = null;
    for (const m of items) {
      if (!prev || !sameDay(prev.created_at, m.created_at)) {
        frag.append(h("li", { class: "day-sep" }, h("span", {}, fmtDay(m.created_at))));
        prev = null;
      }
      const grouped = !!prev && prev.sender?.id === m.sender?.id && m.created_at - prev.created_at < GROUP_MS && !prev.deleted;
      frag.append(this.renderMessage(m, grouped, store));
      if (seenRow && seenRow.after === m) frag.append(seenRow.el);
      // A call's entry stands on its own: the next message is not grouped with it.
      prev = m.message_type === "call" ? null : m;
    }
    this.list.replaceChildren(frag);
    this.older.hidden = !store.hasOlder;
    this.older.disabled = store.loadingOlder;
    this.older.textContent = store.loadingOlder ? "Loading…" : "Load older messages";
    if (items.length === 0 && store.loaded) {
      this.list.append(h("li", { class: "chat-hint" }, "No messages yet. Say hello!"));
    }
    this.roving.restore(focus);
    if (stick) this.scrollToBottom();
    else if (mode === "prepend") this.scroller.scrollTop = prevTop + (this.scroller.scrollHeight - prevHeight);
    this.stuck = this.atBottom();
  }

  /**
   * A call's entry in the conversation, told from this user's side ("Missed
   * voice call from Amira" for the callee, "No answer" for the caller), with
   * a way to call back.
   */
  renderCallEntry(m) {
    const meta = m.metadata ?? {};
    const mine = m.sender?.id === this.app.me?.id;
    const caller = m.sender?.name || m.sender?.id || "Someone";
    const outcome = meta.outcome ?? "";
    let text = m.text;
    let missed = false;
    if (["missed", "cancelled", "busy"].includes(outcome)) {
      if (mine) text = outcome === "cancelled" ? "Cancelled call" : outcome === "busy" ? "No answer (busy)" : "No answer";
      else {
        text = `Missed voice call from ${caller}`;
        missed = true;
      }
    } else if (outcome === "declined") {
      text = mine ? "Call declined" : "Declined call";
    } else if (!outcome) {
      // The call is still going on: the entry is rewritten when it ends.
      text = mine ? "Voice call · you called" : `Voice call from ${caller}`;
    }
    const callBack = !outcome ? null : h(
      "button",
      {
        type: "button",
        class: "link-btn call-back",
        "data-action": "call-back",
        disabled: !!this.app.call,
        onclick: () => this.app.callView.start("sfu"),
      },
      mine ? "Call again" : "Call back",
    );
    return h(
      "li",
      {
        class: `call-entry${missed ? " missed" : ""}`,
        dataset: { key: keyOf(m), seq: m.seq ?? "", outcome, callId: meta.call_id ?? "" },
      },
      h("span", { class: "call-entry-icon" }, icon(missed || outcome === "declined" ? "phone-missed" : "phone")),
      h("span", { class: "call-entry-text" }, text),
      h("time", { datetime: new Date(m.created_at).toISOString() }, fmtTime(m.created_at)),
      callBack,
    );
  }

  renderMessage(m, grouped, store) {
    if (m.message_type === "call") return this.renderCallEntry(m);
    const mine = this.isMine(m);
    const name = m.sender?.name || m.sender?.id || "Unknown";
    const body = h("div", { class: "msg-body" });
    if (!mine && !grouped) body.append(h("div", { class: "msg-sender" }, name, roleTag(m.ai ? "assistant" : m.sender?.role)));
    const bubble = h("div", { class: `bubble${m.deleted ? " deleted" : ""}` });
    if (m.reply_to && !m.deleted) {
      const q = store.find(m.reply_to);
      bubble.append(
        h(
          "button",
          { class: "quote", type: "button", "data-action": "quote", title: "Show the original message" },
          h("strong", {}, q ? (this.isMine(q) ? "You" : q.sender?.name || q.sender?.id) : "Reply"),
          h("span", { dir: "auto" }, q ? (q.deleted ? "Message deleted" : q.text) : "Original message not loaded"),
        ),
      );
    }
    if (m.deleted || m.text || !m.attachments?.length) {
      // dir="auto": Arabic reads right to left, English left to right, per message.
      bubble.append(h("div", { class: "msg-text", dir: "auto", lang: m.lang || undefined }, m.deleted ? "This message was deleted" : richText(m.text)));
    }
    if (!m.deleted && m.attachments?.length) bubble.append(this.attachmentsOf(m));
    const meta = h("span", { class: "msg-meta" });
    if (m.edited_at && !m.deleted) meta.append(h("span", { class: "edited" }, "edited"));
    meta.append(h("time", { datetime: new Date(m.created_at).toISOString() }, fmtTime(m.created_at)));
    if (mine && !m.deleted) meta.append(this.statusIcon(m));
    bubble.append(meta);
    body.append(bubble);
    if (mine && m.status === "failed") {
      body.append(
        h("div", { class: "msg-failed" }, icon("alert"), `Not sent${m.error?.message ? `: ${m.error.message}` : ""}. `,
          h("button", { class: "link-btn", type: "button", "data-action": "retry" }, "Retry")),
      );
    }
    if (!m.deleted && m.id) {
      const actions = h("div", { class: "msg-actions", role: "toolbar", "aria-label": "Message actions" });
      actions.append(actionBtn("reply", "Reply", "reply"));
      if (mine) actions.append(actionBtn("edit", "Edit", "edit"), actionBtn("delete", "Delete", "trash"));
      body.append(actions);
    }
    const status = mine ? m.status ?? (m.seq != null ? "sent" : "sending") : undefined;
    return h(
      "li",
      {
        class: `msg-row${mine ? " mine" : ""}${grouped ? " grouped" : ""}${m.ai ? " ai" : ""}`,
        dataset: { key: keyOf(m), seq: m.seq ?? "", status: status ?? "" },
      },
      !mine ? (grouped ? h("span", { class: "avatar-spacer" }) : avatar(m.sender?.id ?? "?", name, { size: "sm" })) : null,
      body,
    );
  }

  attachmentsOf(m) {
    const key = `${m.client_msg_id ?? m.id}:${m.attachments.map((a) => `${a.id}${a.url ? "+" : ""}`).join(",")}`;
    let node = this.attachmentNodes.get(key);
    if (!node) {
      // Images load after the render: keep following the end if we were there.
      node = renderAttachments(this.app.client, m.attachments, () => this.stuck && this.scrollToBottom(), m.message_type, m.metadata);
      this.attachmentNodes.set(key, node);
      if (this.attachmentNodes.size > 300) this.attachmentNodes.delete(this.attachmentNodes.keys().next().value);
    }
    return node;
  }

  statusIcon(m) {
    const status = m.status ?? (m.seq != null ? "sent" : "sending");
    if (status === "sending") return h("span", { class: "status sending", title: "Sending…" }, icon("clock"));
    if (status === "failed") return h("span", { class: "status failed", title: "Not sent" }, icon("alert"));
    // Sent (stored), delivered (on a device of everyone else), read.
    const seen = m.seq != null && this.app.client.readBy(this.roomId, m.seq).length > 0;
    if (seen) return h("span", { class: "status seen", title: "Read", dataset: { tick: "read" } }, icon("checks"));
    const delivered = m.seq != null && this.app.client.deliveredToAll(this.roomId, m.seq);
    return delivered
      ? h("span", { class: "status delivered", title: "Delivered", dataset: { tick: "delivered" } }, icon("checks"))
      : h("span", { class: "status sent", title: "Sent", dataset: { tick: "sent" } }, icon("check"));
  }

  /** "Seen by …" under the newest own message that others have read. */
  seenBy(items) {
    for (let i = items.length - 1; i >= 0; i--) {
      const m = items[i];
      if (!this.isMine(m) || m.seq == null || m.deleted) continue;
      const readers = this.app.client.readBy(this.roomId, m.seq);
      if (readers.length === 0) continue;
      const names = readers.map((u) => (u.name || u.id).split(" ")[0]);
      const text = this.app.membersOf(this.roomId).length > 2 ? `Seen by ${joinNames(names)}` : `Seen by ${names[0]}`;
      return { after: m, el: h("li", { class: "seen-by", dataset: { seq: m.seq } }, text) };
    }
    return null;
  }

  renderTyping() {
    const who = this.app.typersIn(this.roomId);
    this.typingEl.replaceChildren();
    if (who.length === 0) {
      this.typingEl.classList.remove("on");
      return;
    }
    const names = who.map((t) => (t.name || t.userId).split(" ")[0]);
    const text = names.length > 3 ? "Several people are typing" : `${joinNames(names)} ${names.length > 1 ? "are" : "is"} typing`;
    this.typingEl.append(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), h("span", {}, `${text}…`));
    this.typingEl.classList.add("on");
  }

  startReply(m) {
    this.context = { kind: "reply", message: m };
    $("#compose-context-title").textContent = `Replying to ${this.isMine(m) ? "yourself" : m.sender?.name || m.sender?.id}`;
    $("#compose-context-text").textContent = m.text;
    $("#compose-context").hidden = false;
    this.text.focus();
  }

  startEdit(m) {
    this.context = { kind: "edit", message: m };
    $("#compose-context-title").textContent = "Editing message";
    $("#compose-context-text").textContent = m.text;
    $("#compose-context").hidden = false;
    this.text.value = m.text;
    this.autosize();
    this.text.focus();
  }

  clearContext() {
    const wasEdit = this.context?.kind === "edit";
    this.context = null;
    $("#compose-context").hidden = true;
    if (wasEdit) {
      this.text.value = "";
      this.autosize();
    }
  }

  submit() {
    const text = this.text.value.trim();
    const ctx = this.context;
    const files = ctx?.kind === "edit" ? [] : this.composer.ready();
    if (files === false) return; // still uploading
    if ((!text && files.length === 0) || !this.roomId) return;
    if (ctx?.kind === "edit") {
      if (text !== ctx.message.text) this.app.editMessage(ctx.message, text);
    } else {
      this.app.send(this.roomId, text, ctx?.kind === "reply" ? ctx.message.id : undefined, files);
      this.composer.clear();
    }
    this.text.value = "";
    this.autosize();
    this.clearContext();
    this.text.focus();
  }

  autosize() {
    this.text.style.height = "auto";
    this.text.style.height = `${Math.min(this.text.scrollHeight, 160)}px`;
  }

  /** Scroll to a message and highlight it briefly. */
  flash(messageId) {
    const m = this.app.storeFor(this.roomId).find(messageId);
    if (!m) return;
    const row = this.list.querySelector(`[data-key="${CSS.escape(keyOf(m))}"]`);
    if (!row) return;
    row.scrollIntoView({ block: "center", behavior: "smooth" });
    row.classList.add("flash");
    setTimeout(() => row.classList.remove("flash"), 1200);
  }
}

function keyOf(m) {
  return m.client_msg_id ? `c:${m.client_msg_id}` : `s:${m.seq}`;
}

function actionBtn(action, label, iconName) {
  return h("button", { class: "act", type: "button", "data-action": action, title: label, "aria-label": label }, icon(iconName));
}

function roleTag(role) {
  if (!role || role === "applicant" || role === "user" || role === "customer") return null;
  return h("span", { class: "role-tag" }, role);
}

function cap(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : "";
}

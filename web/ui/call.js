// Calls in the demo app: the call button in the chat header (sfu or p2p),
// the "call in progress · Join" strip of a room, the ring toast, and the
// call dock at the bottom of the app while this device is in a call
// (participants with speaking and quality indicators, mute, microphone,
// leave, end).

import { h, $, avatar, icon } from "./dom.js";
import { toast } from "./toasts.js";
import { listMicrophones } from "../earshot.js";

const QUALITY_BARS = { excellent: 4, good: 3, fair: 2, poor: 1 };
const STATE_TEXT = {
  joining: "Joining…",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
};

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const hh = Math.floor(m / 60);
  const mm = String(m % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class CallView {
  constructor(app) {
    this.app = app;
    this.dock = $("#call-dock");
    this.menu = $("#call-menu");
    this.connectedAt = null;
    this.tick = null;
    this.busy = false;
    $("#call-start").prepend(icon("phone"));
    $("#call-menu-btn").append(icon("chevron"));
    $("#call-join").prepend(icon("phone"));
    $("#call-leave").prepend(icon("phone-off"));
    $("#call-start").addEventListener("click", () => this.start("sfu"));
    $("#call-menu-btn").addEventListener("click", (e) => {
      e.stopPropagation();
      this.menu.hidden = !this.menu.hidden;
    });
    document.addEventListener("click", (e) => {
      if (!this.menu.hidden && !this.menu.contains(e.target)) this.menu.hidden = true;
    });
    for (const b of this.menu.querySelectorAll("[data-mode]")) {
      b.addEventListener("click", () => {
        this.menu.hidden = true;
        this.start(b.dataset.mode);
      });
    }
    $("#call-join").addEventListener("click", () => {
      const info = this.app.client.calls.active.get(this.app.active);
      if (info) this.join(info.id);
    });
    $("#call-mute").addEventListener("click", () => this.app.call?.toggleMute());
    $("#call-leave").addEventListener("click", () => this.app.call?.leave());
    $("#call-end").addEventListener("click", () => {
      this.app.call?.end().catch((err) => toast(err.message, { title: "Could not end the call", kind: "error" }));
    });
    $("#call-mic").addEventListener("change", (e) => {
      this.app.call?.setMicrophone(e.target.value).catch((err) => toast(err.message, { title: "Could not switch microphones", kind: "error" }));
    });
  }

  /** Wire the client's call events (once per client). */
  wire(client) {
    client.on("call_started", (info, { ringing }) => {
      this.renderStrip();
      this.app.list.render();
      // No ring for our own calls, while in a call, or for the room on screen (its strip offers Join).
      if (!ringing || info.initiator?.id === this.app.me.id || this.app.call || info.room_id === this.app.active) return;
      const room = this.app.rooms.get(info.room_id);
      toast(`${room?.room.title ?? "A conversation"} · ${info.mode === "p2p" ? "direct call" : "group call"}`, {
        id: `ring-${info.id}`,
        title: `${info.initiator?.name || info.initiator?.id} is calling`,
        kind: "call",
        timeoutMs: 30000,
        actions: [
          { label: "Join", primary: true, onClick: () => { this.app.openRoom(info.room_id); this.join(info.id); } },
          { label: "Not now" },
        ],
      });
    });
    client.on("call_ended", (f) => {
      document.querySelector(`[data-toast-id="ring-${CSS.escape(f.call_id)}"]`)?.remove();
      this.renderStrip();
      this.app.list.render();
    });
    const changed = () => this.renderStrip();
    client.on("call_participant_joined", changed);
    client.on("call_participant_left", changed);
  }

  /** Learn about a call started before we were connected (room opened). */
  async refresh(roomId) {
    try {
      await this.app.client.activeCall(roomId, { refresh: true });
    } catch {
      /* the strip stays as it was */
    }
    if (roomId === this.app.active) this.renderStrip();
    this.app.list.render();
  }

  async start(mode) {
    const roomId = this.app.active;
    if (!roomId || this.busy) return;
    this.busy = true;
    this.renderStrip();
    try {
      const call = await this.app.client.startCall(roomId, { mode, audioContainer: $("#call-audio") });
      this.attach(call);
    } catch (err) {
      toast(err.message, { title: "Could not start the call", kind: "error" });
    } finally {
      this.busy = false;
      this.renderStrip();
    }
  }

  async join(callId) {
    if (this.busy) return;
    this.busy = true;
    this.renderStrip();
    try {
      const call = await this.app.client.joinCall(callId, { audioContainer: $("#call-audio") });
      this.attach(call);
    } catch (err) {
      toast(err.message, { title: "Could not join the call", kind: "error" });
    } finally {
      this.busy = false;
      this.renderStrip();
    }
  }

  attach(call) {
    this.app.call = call;
    window.earshotCall = call; // handy in the console
    this.connectedAt = null;
    const render = () => this.renderDock();
    for (const ev of ["state", "participants", "speaking", "active_speaker", "quality", "connection_quality", "muted", "local_muted", "track", "rejoined"]) {
      call.on(ev, render);
    }
    call.on("state", (state) => {
      if (state === "connected" && this.connectedAt === null) this.connectedAt = Date.now();
    });
    call.on("muted_by_moderator", ({ muted, by }) => {
      const who = call.participantList().find((p) => p.user?.id === by)?.user?.name || by;
      toast(muted ? `${who} muted you` : `${who} unmuted you`, { kind: "warning" });
    });
    call.on("autoplay_blocked", () => {
      toast("The browser blocked call audio.", { kind: "warning", id: "autoplay", timeoutMs: 0, actions: [{ label: "Play audio", primary: true, onClick: () => call.resumeAudio() }] });
    });
    call.on("error", (err) => console.warn("call:", err.code, err.message));
    const done = (info) => {
      if (this.app.call === call) this.app.call = null;
      clearInterval(this.tick);
      this.tick = null;
      this.renderDock();
      this.renderStrip();
      this.app.list.render();
      if (info?.reason && info.reason !== "left") toast(info.reason === "ended" ? "The call was ended." : `The call ended (${info.reason}).`, { kind: "info" });
    };
    call.on("left", done);
    call.on("ended", done);
    clearInterval(this.tick);
    this.tick = setInterval(() => this.renderTimer(), 1000);
    this.fillMicrophones();
    this.renderDock();
    this.renderStrip();
  }

  async fillMicrophones() {
    const sel = $("#call-mic");
    const mics = await listMicrophones().catch(() => []);
    const current = this.app.call?.localTrack?.getSettings?.().deviceId;
    sel.replaceChildren(...mics.map((m, i) => h("option", { value: m.deviceId, selected: m.deviceId === current }, m.label || `Microphone ${i + 1}`)));
    sel.hidden = mics.length < 2;
  }

  /** The "call in progress" strip and the call button of the open room. */
  renderStrip() {
    const roomId = this.app.active;
    const strip = $("#call-strip");
    const startBtns = $("#call-start-group");
    if (!roomId) return;
    const info = this.app.client?.calls.active.get(roomId);
    // The strip replaces the ring of the room on screen.
    if (info) document.querySelector(`[data-toast-id="ring-${CSS.escape(info.id)}"]`)?.remove();
    const inThis = this.app.call && info && this.app.call.id === info.id;
    startBtns.hidden = !!info || !!this.app.call;
    $("#call-start").disabled = this.busy;
    if (!info || inThis) {
      strip.hidden = true;
      return;
    }
    strip.hidden = false;
    const n = info.participants?.length ?? 0;
    const member = this.app.membersOf(roomId).find((m) => m.user.id === info.initiator?.id);
    const who = info.initiator?.name || member?.user.name || info.initiator?.id || "Someone";
    $("#call-strip-text").textContent = `${info.mode === "p2p" ? "Direct call" : "Call"} in progress · started by ${who}${n ? ` · ${n} in the call` : ""}`;
    $("#call-join").disabled = this.busy || !!this.app.call;
  }

  renderTimer() {
    const el = $("#call-timer");
    el.textContent = this.connectedAt ? clock(Date.now() - this.connectedAt) : "";
  }

  /** The dock: this device's call. */
  renderDock() {
    const call = this.app.call;
    document.body.classList.toggle("in-call", !!call);
    if (!call) {
      this.dock.hidden = true;
      this.dock.dataset.state = "";
      return;
    }
    this.dock.hidden = false;
    this.dock.dataset.state = call.state;
    this.dock.dataset.mode = call.mode;
    const room = this.app.rooms.get(call.roomId);
    $("#call-room").textContent = room?.room.title ?? "Call";
    $("#call-state").textContent = STATE_TEXT[call.state] ?? call.state;
    $("#call-mode").textContent = call.mode === "p2p" ? "Direct" : "Group";
    this.renderTimer();
    const mute = $("#call-mute");
    mute.replaceChildren(icon(call.muted ? "mic-off" : "mic"), h("span", {}, call.muted ? "Unmute" : "Mute"));
    mute.classList.toggle("on", call.muted);
    mute.setAttribute("aria-pressed", String(call.muted));
    const me = this.app.me;
    const staff = (this.app.staffRoles ?? []).includes(me.role);
    $("#call-end").hidden = !(call.info.initiator?.id === me.id || staff);
    const people = call.participantList().sort((a, b) => (a.isLocal ? -1 : b.isLocal ? 1 : (a.joined_at ?? 0) - (b.joined_at ?? 0)));
    // Staff moderate sfu calls, where the server holds the mute (in p2p it could only announce it).
    const moderator = staff && call.mode === "sfu";
    $("#call-people").replaceChildren(...people.map((p) => this.renderPerson(call, p, moderator)));
  }

  renderPerson(call, p, moderator = false) {
    const name = p.isLocal ? "You" : p.user?.name || p.user?.id || `Participant ${p.participant_id}`;
    const q = (!p.isLocal && p.serverQuality) || p.quality || p.serverQuality;
    const level = q?.level;
    const speaking = !!p.speaking && !p.muted;
    const active = call.activeSpeaker === p.participant_id;
    const bars = h("span", { class: `qbars${level ? ` q-${level}` : ""}`, title: level ? `Connection: ${level}${q.mos ? ` (MOS ${q.mos.toFixed(1)})` : ""}` : "Connection: measuring…" });
    for (let i = 1; i <= 4; i++) bars.append(h("i", { class: i <= (QUALITY_BARS[level] ?? 0) ? "on" : "" }));
    return h(
      "li",
      {
        class: `person${speaking ? " speaking" : ""}${active ? " active" : ""}${p.muted ? " muted" : ""}`,
        dataset: {
          participantId: p.participant_id,
          userId: p.user?.id ?? "",
          speaking: String(speaking),
          quality: level ?? "",
          // The server's verdict (connection_quality), when it sends one.
          serverQuality: p.serverQuality?.level ?? "",
          muted: String(!!p.muted),
          local: String(!!p.isLocal),
        },
      },
      h("span", { class: "person-avatar" }, avatar(p.user?.id ?? p.participant_id, p.user?.name ?? p.user?.id, { size: "sm" })),
      h("span", { class: "person-name" }, name),
      p.muted ? h("span", { class: "person-muted", title: "Muted" }, icon("mic-off")) : null,
      moderator && !p.isLocal ? this.moderatorMute(call, p, name) : null,
      bars,
    );
  }

  /**
   * A moderator's mute button for someone else. Unmuting lifts only the
   * moderator's mute: a person who muted themselves stays muted.
   */
  moderatorMute(call, p, name) {
    const label = p.muted ? `Allow ${name} to speak` : `Mute ${name}`;
    return h(
      "button",
      {
        type: "button",
        class: `person-mod-mute${p.muted ? " on" : ""}`,
        title: label,
        "aria-label": label,
        "aria-pressed": String(!!p.muted),
        onclick: () => call.muteParticipant(p.participant_id, !p.muted).catch((err) => toast(err.message, { title: "Could not change their microphone", kind: "error" })),
      },
      icon(p.muted ? "mic-off" : "mic"),
    );
  }
}

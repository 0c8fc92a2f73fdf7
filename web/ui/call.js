// Calls in the demo app: the call button in the chat header (sfu or p2p),
// the "call in progress · Join" strip of a room, the ring toast, and the
// call dock at the bottom of the app while this device is in a call
// (participants with speaking and quality indicators, mute, microphone,
// leave, end).

import { h, $, avatar, icon, joinNames } from "./dom.js";
import { toast } from "./toasts.js";
import { IncomingCalls } from "./ringing.js";
import { listMicrophones } from "../earshot.js";
import { issueText } from "./issue-text.js";

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
    this.incoming = new IncomingCalls(app, {
      accept: (info) => {
        this.app.openRoom(info.room_id);
        this.join(info.id);
      },
    });
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
    $("#call-leave").addEventListener("click", () => {
      const call = this.app.call;
      if (!call) return;
      // The caller hanging up before an answer cancels the call for everyone.
      if (call.ringing && call.info.initiator?.id === this.app.me.id) {
        call.cancel().catch(() => call.leave());
      } else {
        call.leave();
      }
    });
    $("#call-end").addEventListener("click", () => {
      this.app.call?.end().catch((err) => toast(err.message, { title: "Could not end the call", kind: "error" }));
    });
    $("#call-mic").addEventListener("change", (e) => {
      this.app.call?.setMicrophone(e.target.value).catch((err) => toast(err.message, { title: "Could not switch microphones", kind: "error" }));
    });
  }

  /** Wire the client's call events (once per client). */
  wire(client) {
    client.on("call_started", (info) => {
      this.incoming.update(info);
      this.renderStrip();
      this.app.list.render();
    });
    client.on("call_updated", (info) => {
      const wasRinging = this.incoming.ringing.has(info.id);
      this.incoming.update(info);
      const mine = (info.invitees ?? []).find((i) => i.user_id === this.app.me?.id);
      if (wasRinging && mine?.state === "accepted" && this.app.call?.id !== info.id) {
        toast("You answered on another device.", { kind: "info", id: `elsewhere-${info.id}` });
      }
      this.renderStrip();
      this.renderDock();
    });
    client.on("call_ended", (f) => {
      this.incoming.drop(f.call_id);
      this.renderStrip();
      this.app.list.render();
    });
    client.on("active_calls", (calls) => {
      const alive = new Set(calls.map((c) => c.id));
      for (const id of [...this.incoming.ringing.keys()]) if (!alive.has(id)) this.incoming.drop(id);
      for (const info of calls) this.incoming.update(info);
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
    // Live call issues of this device (the call keeps them): banners in the dock.
    const issues = () => {
      if (this.app.call === call) this.renderIssues(call);
    };
    for (const ev of ["issue", "issue_cleared", "participants", "rejoined"]) call.on(ev, issues);
    for (const ev of ["state", "participants", "speaking", "active_speaker", "quality", "connection_quality", "muted", "local_muted", "track", "rejoined"]) {
      call.on(ev, render);
    }
    // The timer starts at the answer, not while it rings.
    const startTimer = () => {
      if (call.state === "connected" && !call.ringing && this.connectedAt === null) this.connectedAt = Date.now();
    };
    call.on("state", startTimer);
    call.on("updated", () => {
      startTimer();
      render();
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
      this.renderIssues(null);
      clearInterval(this.tick);
      this.tick = null;
      this.renderDock();
      this.renderStrip();
      this.app.list.render();
      const text = this.endedText(call, info);
      if (text) toast(text, { kind: "info" });
    };
    call.on("left", done);
    call.on("ended", done);
    clearInterval(this.tick);
    this.tick = setInterval(() => this.renderTimer(), 1000);
    this.fillMicrophones();
    this.renderDock();
    this.renderStrip();
  }

  /**
   * The dock's issue banners: the most important active issue in
   * `#call-issue` (what is wrong and what to try), any others below it,
   * smaller. No call, or no issue, hides them.
   */
  renderIssues(call) {
    const box = $("#call-issue");
    const more = $("#call-issues-more");
    const shown = [];
    for (const f of call?.issues ?? []) {
      const text = issueText(f, { selfId: call.participantId, nameOf: (pid, uid) => this.personName(call, pid, uid) });
      if (text) shown.push({ f, text, key: `${f.issue}|${f.participant_id}|${f.from_participant_id ?? ""}` });
    }
    const [top, ...rest] = shown;
    box.hidden = !top;
    box.dataset.issue = top?.f.issue ?? "";
    box.dataset.key = top?.key ?? "";
    box.dataset.count = String(shown.length);
    $("#call-issue-text").textContent = top?.text.title ?? "";
    $("#call-issue-hint").textContent = top?.text.hint ?? "";
    const action = $("#call-issue-action");
    // Muted and talking: the way out, right there.
    action.hidden = top?.f.issue !== "talking_while_muted";
    action.textContent = "Unmute";
    action.onclick = () => call?.setMuted(false);
    more.hidden = rest.length === 0;
    more.replaceChildren(
      ...rest.map(({ f, text, key }) =>
        h("li", { class: "call-issue-more", dataset: { issue: f.issue, key } }, h("strong", {}, text.title), h("span", {}, text.hint)),
      ),
    );
  }

  /** A person in the call by their display name: the call's participants, else the room's members, else the id. */
  personName(call, participantId, userId) {
    const p = participantId != null ? call.participants.get(String(participantId)) : undefined;
    const byUser = userId ? call.participantList().find((x) => x.user?.id === userId) : undefined;
    const name = p?.user?.name || byUser?.user?.name;
    if (name) return name;
    if (userId) return this.namesOf(call.roomId, [userId])[0];
    return participantId != null ? `Participant ${participantId}` : "Someone";
  }

  /** Names of users, as the room's member list has them. */
  namesOf(roomId, ids) {
    const members = this.app.membersOf(roomId);
    return ids.map((id) => members.find((m) => m.user.id === id)?.user.name || id);
  }

  /** What to tell the user when their call ends (null: nothing). */
  endedText(call, info) {
    if (!info?.reason || info.reason === "left") return null;
    const others = (call.info.invitees ?? []).filter((i) => i.user_id !== this.app.me.id);
    const who = joinNames(this.namesOf(call.roomId, others.map((i) => i.user_id))) || "They";
    switch (info.outcome) {
      case "declined": {
        const reason = others.find((i) => i.state === "declined" && i.reason)?.reason;
        return `${who} declined the call${reason ? `: “${reason}”` : "."}`;
      }
      case "missed":
        return `${who} didn't answer.`;
      case "busy":
        return `${who} ${others.length > 1 ? "are" : "is"} on another call.`;
      case "cancelled":
        return info.reason === "cancelled" ? null : "The call was cancelled.";
      case "interrupted":
        return "The call was interrupted. You can call again.";
      case "completed":
        return info.duration_ms != null ? `Call ended · ${clock(info.duration_ms)}` : "The call was ended.";
      default:
        return info.reason === "gone" ? "The call had already ended." : `The call ended (${info.reason}).`;
    }
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
    const inThis = this.app.call && info && this.app.call.id === info.id;
    startBtns.hidden = !!info || !!this.app.call;
    $("#call-start").disabled = this.busy;
    // A call ringing for this user has its card instead.
    if (!info || inThis || this.incoming.ringsForMe(info)) {
      strip.hidden = true;
      return;
    }
    strip.hidden = false;
    strip.dataset.state = info.state ?? "";
    const n = info.participants?.length ?? 0;
    const member = this.app.membersOf(roomId).find((m) => m.user.id === info.initiator?.id);
    const who = info.initiator?.name || member?.user.name || info.initiator?.id || "Someone";
    const kind = info.mode === "p2p" ? "Direct call" : "Call";
    $("#call-strip-text").textContent =
      info.state === "ringing"
        ? `${kind} ringing · started by ${info.initiator?.id === this.app.me.id ? "you" : who}`
        : `${kind} in progress · started by ${who}${n ? ` · ${n} in the call` : ""}`;
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
    const me = this.app.me;
    const calling = call.ringing && call.info.initiator?.id === me.id;
    this.dock.dataset.ringing = String(!!call.ringing);
    if (calling) {
      const rung = (call.info.invitees ?? []).filter((i) => i.state === "ringing").map((i) => i.user_id);
      $("#call-state").textContent = `Calling ${joinNames(this.namesOf(call.roomId, rung)) || "…"}…`;
    } else {
      $("#call-state").textContent = STATE_TEXT[call.state] ?? call.state;
    }
    const oneToOne = (call.info.invitees ?? []).length <= 1;
    $("#call-mode").textContent = oneToOne ? "1:1" : "Group";
    const leave = $("#call-leave");
    leave.replaceChildren(icon("phone-off"), h("span", {}, calling ? "Cancel" : "Leave"));
    this.renderTimer();
    const mute = $("#call-mute");
    mute.replaceChildren(icon(call.muted ? "mic-off" : "mic"), h("span", {}, call.muted ? "Unmute" : "Mute"));
    mute.classList.toggle("on", call.muted);
    mute.setAttribute("aria-pressed", String(call.muted));
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
        class: `person${speaking ? " speaking" : ""}${active ? " active" : ""}${p.muted ? " is-muted" : ""}`,
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
      // The state, or for a moderator the action: never two look-alike microphones.
      moderator && !p.isLocal
        ? this.moderatorMute(call, p, name)
        : p.muted ? h("span", { class: "person-muted", role: "img", "aria-label": "Muted", title: "Muted" }, icon("mic-off")) : null,
      bars,
    );
  }

  /**
   * A moderator's mute button for someone else: an action with its word on
   * it ("Mute", or "Unmute" while they are muted), not a state icon.
   * Unmuting lifts only the moderator's mute: a person who muted themselves
   * stays muted.
   */
  moderatorMute(call, p, name) {
    const unmute = !!p.muted;
    const word = unmute ? "Unmute" : "Mute";
    return h(
      "button",
      {
        type: "button",
        class: `person-mod-mute${unmute ? " on" : ""}`,
        dataset: { action: unmute ? "unmute" : "mute" },
        title: unmute ? `${name} is muted. Allow them to speak (someone who muted themselves stays muted)` : `Mute ${name} for everyone`,
        "aria-label": `${word} ${name}`,
        onclick: () => call.muteParticipant(p.participant_id, !unmute).catch((err) => toast(err.message, { title: "Could not change their microphone", kind: "error" })),
      },
      icon(unmute ? "mic" : "mic-off"),
      h("span", {}, word),
    );
  }
}

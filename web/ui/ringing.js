// The incoming-call card: who is calling, 1:1 or group, Accept / Decline
// (or "Can't talk now", a decline with a reason), a ringtone the user can
// mute, and a browser notification when the tab is hidden. The card shows
// whether or not the call's room is open, and goes as soon as the call
// stops ringing for this user: answered here or on another device,
// declined, cancelled by the caller, missed.

import { h, avatar, icon } from "./dom.js";
import { toast } from "./toasts.js";

const MUTE_KEY = "earshot.ringMuted";

/** A phone-like ring (two tones, 1 s on, 2 s off), made with WebAudio. */
class Ringtone {
  constructor() {
    this.ctx = null;
    this.timer = null;
    this.nodes = [];
  }

  start() {
    if (this.timer) return;
    try {
      this.ctx ??= new AudioContext();
      this.ctx.resume?.().catch(() => {});
    } catch {
      return; // No audio here: the card still shows.
    }
    const burst = () => {
      const t = this.ctx.currentTime;
      const gain = this.ctx.createGain();
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(0.08, t + 0.05);
      gain.gain.setValueAtTime(0.08, t + 0.95);
      gain.gain.linearRampToValueAtTime(0, t + 1);
      gain.connect(this.ctx.destination);
      for (const f of [440, 480]) {
        const osc = this.ctx.createOscillator();
        osc.frequency.value = f;
        osc.connect(gain);
        osc.start(t);
        osc.stop(t + 1);
      }
    };
    burst();
    this.timer = setInterval(burst, 3000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}

export class IncomingCalls {
  /**
   * @param {object} app the demo app
   * @param {{accept: (info: object) => void}} o what Accept does
   */
  constructor(app, o) {
    this.app = app;
    this.onAccept = o.accept;
    /** call id -> {info, el, notification} */
    this.ringing = new Map();
    this.tone = new Ringtone();
    this.muted = localStorage.getItem(MUTE_KEY) === "1";
    this.host = h("div", { id: "incoming-calls", class: "incoming-calls", "aria-live": "assertive" });
    document.body.append(this.host);
  }

  /** Whether `info` rings for this user now. */
  ringsForMe(info) {
    const me = this.app.me?.id;
    if (!me || info.initiator?.id === me) return false;
    const mine = (info.invitees ?? []).find((i) => i.user_id === me);
    return mine?.state === "ringing";
  }

  /** A call's state as this device knows it: show, update or drop its card. */
  update(info) {
    const rings = this.ringsForMe(info) && !(this.app.call && this.app.call.id === info.id);
    const shown = this.ringing.get(info.id);
    if (rings && !shown) this.show(info);
    else if (!rings && shown) this.drop(info.id);
    else if (shown) shown.info = info;
  }

  show(info) {
    const room = this.app.rooms.get(info.room_id);
    const who = info.initiator?.name || info.initiator?.id || "Someone";
    const oneToOne = (info.invitees ?? []).length <= 1;
    const what = oneToOne ? "Voice call" : `Group call · ${room?.room.title ?? "a conversation"}`;
    const muteBtn = h("button", {
      type: "button",
      class: "ring-mute",
      "data-action": "mute",
      "aria-pressed": String(this.muted),
      title: this.muted ? "Unmute the ringtone" : "Mute the ringtone",
      onclick: () => this.toggleMute(),
    }, icon(this.muted ? "bell-off" : "bell"));
    const el = h(
      "section",
      {
        class: "incoming-call",
        role: "alertdialog",
        "aria-label": `Incoming call from ${who}`,
        dataset: { callId: info.id, roomId: info.room_id, kind: oneToOne ? "one-to-one" : "group" },
      },
      h("div", { class: "incoming-head" },
        h("span", { class: "incoming-avatar" }, avatar(info.initiator?.id ?? "?", who, { size: "lg" })),
        h("div", { class: "incoming-text" },
          h("strong", { class: "incoming-name" }, who),
          h("span", { class: "incoming-what" }, `${what} · calling…`),
          room && oneToOne ? h("span", { class: "incoming-room muted" }, room.room.title) : null,
        ),
        muteBtn,
      ),
      h("div", { class: "incoming-actions" },
        h("button", { type: "button", class: "btn btn-decline", "data-action": "decline", onclick: () => this.decline(info.id) }, icon("phone-off"), h("span", {}, "Decline")),
        h("button", { type: "button", class: "btn btn-accept", "data-action": "accept", onclick: () => this.accept(info.id) }, icon("phone"), h("span", {}, "Accept")),
      ),
      h("div", { class: "incoming-more" },
        h("button", { type: "button", class: "link-btn", "data-action": "busy", onclick: () => this.decline(info.id, "Can't talk now, I'll call you back") }, "Can't talk now"),
        this.alertsOffer(),
      ),
    );
    this.host.append(el);
    const entry = { info, el, notification: this.notify(info, who, what) };
    this.ringing.set(info.id, entry);
    document.body.classList.add("ringing");
    if (!this.muted) this.tone.start();
  }

  /** Offer browser notifications for calls, once, when the browser has not been asked. */
  alertsOffer() {
    if (typeof Notification === "undefined" || Notification.permission !== "default") return null;
    return h("button", {
      type: "button",
      class: "link-btn",
      "data-action": "alerts",
      title: "Get a notification for calls while this tab is in the background",
      onclick: (e) => {
        e.currentTarget.remove();
        Notification.requestPermission().catch(() => {});
      },
    }, "Alert me when the tab is hidden");
  }

  notify(info, who, what) {
    if (typeof Notification === "undefined" || Notification.permission !== "granted" || !document.hidden) return null;
    try {
      const n = new Notification(`${who} is calling`, { body: what, tag: `call-${info.id}`, requireInteraction: true });
      n.onclick = () => {
        window.focus();
        n.close();
      };
      return n;
    } catch {
      return null;
    }
  }

  drop(callId) {
    const entry = this.ringing.get(callId);
    if (!entry) return;
    this.ringing.delete(callId);
    entry.el.remove();
    entry.notification?.close();
    if (this.ringing.size === 0) {
      this.tone.stop();
      document.body.classList.remove("ringing");
    }
  }

  dropAll() {
    for (const id of [...this.ringing.keys()]) this.drop(id);
  }

  toggleMute() {
    this.muted = !this.muted;
    localStorage.setItem(MUTE_KEY, this.muted ? "1" : "0");
    if (this.muted) this.tone.stop();
    else if (this.ringing.size) this.tone.start();
    for (const { el } of this.ringing.values()) {
      const b = el.querySelector('[data-action="mute"]');
      b.setAttribute("aria-pressed", String(this.muted));
      b.title = this.muted ? "Unmute the ringtone" : "Mute the ringtone";
      b.replaceChildren(icon(this.muted ? "bell-off" : "bell"));
    }
  }

  accept(callId) {
    const entry = this.ringing.get(callId);
    if (!entry) return;
    this.drop(callId);
    this.onAccept(entry.info);
  }

  async decline(callId, reason) {
    this.drop(callId);
    try {
      await this.app.client.declineCall(callId, reason);
    } catch (err) {
      if (err.code !== "NOT_FOUND") toast(err.message, { title: "Could not decline the call", kind: "error" });
    }
  }
}

// Voice messages in the demo app: the composer's microphone button records
// with MediaRecorder (Opus in WebM or Ogg, whatever the browser makes); a
// second press stops, uploads the recording (`POST /api/uploads`) and sends
// it as a `voice` message with its length in `metadata.duration_ms` (Chrome's
// WebM does not carry one). Escape or the cancel button throws it away.

import { h, $, icon } from "./dom.js";
import { toast } from "./toasts.js";

/** At most this long, like most chat apps (and well under the upload limit). */
const MAX_MS = 5 * 60 * 1000;

/** The container types to try, best first. */
const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];

function clock(ms) {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export class VoiceRecorder {
  /** @param {{client: any, send: (roomId: string, text: string, replyTo: string|undefined, attachments: object[], messageType?: string, metadata?: object) => void}} app */
  constructor(app, roomIdOf) {
    this.app = app;
    this.roomIdOf = roomIdOf;
    this.button = $("#record");
    this.status = $("#record-status");
    this.recorder = null;
    this.cancelled = false;
    this.button.append(icon("mic"));
    this.button.addEventListener("click", () => (this.recorder ? this.stop() : this.start()));
    this.cancelBtn = h("button", { type: "button", class: "record-cancel", "aria-label": "Discard the recording", onclick: () => this.cancel() }, icon("close"));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.recorder) this.cancel();
    });
    this.button.hidden = typeof MediaRecorder === "undefined" || !navigator.mediaDevices?.getUserMedia;
  }

  async start() {
    const roomId = this.roomIdOf();
    if (!roomId || this.recorder) return;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      toast(err?.name === "NotAllowedError" ? "Allow the microphone to record a voice message." : "No microphone is available.", { title: "Cannot record", kind: "error" });
      return;
    }
    const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
    const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
    const chunks = [];
    this.recorder = recorder;
    this.cancelled = false;
    this.roomId = roomId;
    this.startedAt = Date.now();
    // The recording's length: from the recorder's start to its stop.
    let began = performance.now();
    recorder.addEventListener("start", () => (began = performance.now()));
    recorder.addEventListener("dataavailable", (e) => e.data.size && chunks.push(e.data));
    recorder.addEventListener("stop", () => {
      const durationMs = Math.round(performance.now() - began);
      for (const t of stream.getTracks()) t.stop();
      clearInterval(this.ticker);
      clearTimeout(this.limit);
      this.recorder = null;
      this.render();
      if (this.cancelled || chunks.length === 0) return;
      const type = (recorder.mimeType || mimeType || "audio/webm").split(";")[0];
      const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
      const file = new File(chunks, `voice-message-${new Date().toISOString().replace(/[:.]/g, "-")}.${ext}`, { type });
      this.upload(roomId, file, durationMs);
    });
    recorder.start(250);
    this.ticker = setInterval(() => this.render(), 250);
    this.limit = setTimeout(() => this.stop(), MAX_MS);
    this.render();
  }

  stop() {
    if (this.recorder?.state === "recording") this.recorder.stop();
  }

  cancel() {
    this.cancelled = true;
    this.stop();
  }

  async upload(roomId, file, durationMs) {
    this.sending = true;
    this.render();
    try {
      const result = await this.app.client.uploadFile(file);
      this.app.send(roomId, "", undefined, [result], "voice", { duration_ms: durationMs });
    } catch (err) {
      toast(err.message, { title: "Could not send the voice message", kind: "error" });
    } finally {
      this.sending = false;
      this.render();
    }
  }

  render() {
    const on = this.recorder !== null;
    this.button.classList.toggle("recording", on);
    this.button.setAttribute("aria-pressed", String(on));
    this.button.setAttribute("aria-label", on ? "Stop and send the voice message" : "Record a voice message");
    this.button.title = this.button.getAttribute("aria-label");
    this.status.hidden = !on && !this.sending;
    if (on) {
      this.status.replaceChildren(h("span", { class: "record-dot", "aria-hidden": "true" }), h("span", { class: "record-time" }, clock(Date.now() - this.startedAt)), this.cancelBtn);
    } else if (this.sending) {
      this.status.replaceChildren(h("span", { class: "record-time" }, "Sending voice message…"));
    }
    this.status.dataset.state = on ? "recording" : this.sending ? "sending" : "idle";
  }
}

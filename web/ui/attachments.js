// Attachments in the demo app: files picked in the composer are uploaded
// at once (`POST /api/uploads`) and sent with the next message; attachments
// of messages are fetched with the Authorization header and shown through
// blob: URLs (images inline, other files as download chips).

import { h, $, icon } from "./dom.js";
import { toast } from "./toasts.js";

function size(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function isImage(a) {
  return typeof a?.mime_type === "string" && a.mime_type.startsWith("image/");
}

/** Audio, or in a voice message the WebM/MP4 container browsers record audio in. */
export function isAudio(a, messageType) {
  const t = typeof a?.mime_type === "string" ? a.mime_type : "";
  return t.startsWith("audio/") || (messageType === "voice" && (t === "video/webm" || t === "video/mp4"));
}

/** The composer's pending uploads. */
export class Composer {
  constructor(app) {
    this.app = app;
    this.box = $("#compose-files");
    this.input = $("#file-input");
    /** @type {Array<{key: number, file: File, state: "uploading" | "done" | "failed", result?: object, error?: Error}>} */
    this.items = [];
    this.counter = 0;
    $("#attach").append(icon("clip"));
    $("#attach").addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      for (const f of this.input.files ?? []) this.add(f);
      this.input.value = "";
    });
  }

  add(file) {
    const item = { key: ++this.counter, file, state: "uploading" };
    this.items.push(item);
    this.render();
    this.app.client.uploadFile(file).then(
      (result) => {
        item.state = "done";
        item.result = result;
        this.render();
      },
      (err) => {
        item.state = "failed";
        item.error = err;
        this.render();
        const missing = err.code === "NOT_FOUND" || err.status === 404 || err.status === 405;
        toast(missing ? "This server does not take uploads yet." : err.message, { title: `Could not upload ${file.name}`, kind: "error" });
      },
    );
  }

  /** Uploads that are done, for sending; false while some are still uploading. */
  ready() {
    if (this.items.some((i) => i.state === "uploading")) return false;
    return this.items.filter((i) => i.state === "done").map((i) => i.result);
  }

  clear() {
    this.items = [];
    this.render();
  }

  render() {
    this.box.hidden = this.items.length === 0;
    this.box.replaceChildren(
      ...this.items.map((i) =>
        h(
          "span",
          { class: `file-chip ${i.state}`, dataset: { state: i.state } },
          icon("file"),
          h("span", { class: "file-name" }, i.file.name),
          h("span", { class: "file-size" }, i.state === "uploading" ? "uploading…" : i.state === "failed" ? "failed" : size(i.file.size)),
          h("button", {
            type: "button",
            class: "file-remove",
            "aria-label": `Remove ${i.file.name}`,
            onclick: () => {
              this.items = this.items.filter((x) => x !== i);
              this.render();
            },
          }, icon("close")),
        ),
      ),
    );
  }
}

/**
 * MediaRecorder's WebM (Chrome's voice messages) has no duration in its
 * header, so the player would show 0:00 until played through. Seeking far
 * past the end makes the browser find the real end; then rewind.
 */
function findDuration(audio) {
  if (Number.isFinite(audio.duration)) return;
  const rewind = () => {
    if (!Number.isFinite(audio.duration)) return;
    audio.removeEventListener("durationchange", rewind);
    audio.currentTime = 0;
  };
  audio.addEventListener("durationchange", rewind);
  audio.currentTime = 1e101;
}

/**
 * The attachments of a message, for its bubble; `onLoad` runs when an image
 * has loaded. Audio (voice messages) gets a player.
 */
export function renderAttachments(client, attachments, onLoad = () => {}, messageType = undefined) {
  const wrap = h("div", { class: "attachments" });
  for (const a of attachments) {
    if (isAudio(a, messageType) && a.url) {
      const audio = h("audio", { class: "att-audio", controls: true, preload: "metadata" });
      audio.addEventListener("loadedmetadata", onLoad);
      audio.addEventListener("loadedmetadata", () => findDuration(audio), { once: true });
      const box = h("div", { class: "att-voice", title: a.name ?? "voice message" }, h("span", { class: "att-voice-icon", "aria-hidden": "true" }, icon("mic")), audio);
      client.attachmentUrl(a.url).then(
        (u) => (audio.src = u),
        () => box.replaceWith(h("span", { class: "att-broken" }, a.name ?? "voice message")),
      );
      wrap.append(box);
    } else if (isImage(a) && (a.thumbnail_url || a.url)) {
      const img = h("img", { class: "att-img", alt: a.name ?? "image" });
      img.addEventListener("load", onLoad);
      const link = h("a", { class: "att-image", href: "#", title: a.name ?? "" }, img);
      if (a.url) {
        client.attachmentUrl(a.thumbnail_url ?? a.url).then((u) => (img.src = u), () => img.replaceWith(h("span", { class: "att-broken" }, a.name ?? "image")));
        link.addEventListener("click", async (e) => {
          e.preventDefault();
          const u = await client.attachmentUrl(a.url).catch(() => null);
          if (u) window.open(u, "_blank", "noopener");
        });
      }
      wrap.append(link);
    } else {
      const chip = h("a", { class: "att-file", href: "#", download: a.name ?? "file" }, icon("file"), h("span", { class: "file-name" }, a.name ?? "file"), h("span", { class: "file-size" }, size(a.size)));
      if (a.url) {
        chip.addEventListener("click", async (e) => {
          if (chip.dataset.ready) return;
          e.preventDefault();
          const u = await client.attachmentUrl(a.url).catch((err) => {
            toast(err.message, { title: "Could not download", kind: "error" });
            return null;
          });
          if (!u) return;
          chip.href = u;
          chip.dataset.ready = "1";
          chip.click();
        });
      }
      wrap.append(chip);
    }
  }
  return wrap;
}

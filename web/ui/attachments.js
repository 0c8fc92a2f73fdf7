// Attachments of messages in the demo app: fetched with the Authorization
// header and shown through blob: URLs: images inline (a click opens the
// image viewer), audio (voice messages) in a player, other files as
// download chips. (The composer's uploads are in composer.js.)

import { h, icon } from "./dom.js";
import { toast } from "./toasts.js";
import { openImageViewer } from "./viewer.js";
import { voicePlayer, metadataSeconds } from "./voice-player.js";

/** A byte count for people: 512 B, 3.4 KB, 12 MB. */
export function size(n) {
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

/**
 * The attachments of a message, for its bubble; `onLoad` runs when an image
 * or a player has its size. Audio (voice messages) gets a player, showing
 * the length from the message's `metadata.duration_ms` when it has one.
 */
export function renderAttachments(client, attachments, onLoad = () => {}, messageType = undefined, metadata = undefined) {
  const wrap = h("div", { class: "attachments" });
  const audios = attachments.filter((a) => isAudio(a, messageType) && a.url);
  for (const a of attachments) {
    if (isAudio(a, messageType) && a.url) {
      // The message's length is the recording's when it is its only audio.
      const seconds = audios.length === 1 ? metadataSeconds(metadata) : NaN;
      wrap.append(voicePlayer(client, a, { seconds, onLoad, label: messageType === "voice" ? "voice message" : a.name ?? "audio" }));
    } else if (isImage(a) && (a.thumbnail_url || a.url)) {
      const name = a.name ?? "image";
      const img = h("img", { class: "att-img", alt: name });
      img.addEventListener("load", onLoad);
      const open = h("button", { type: "button", class: "att-image", title: `${name} (open)`, "aria-label": `Open ${name}` }, img);
      client.attachmentUrl(a.thumbnail_url ?? a.url).then((u) => (img.src = u), () => img.replaceWith(h("span", { class: "att-broken" }, name)));
      if (a.url) open.addEventListener("click", () => openImageViewer(client, a, { caption: size(a.size), opener: open }));
      else open.disabled = true;
      wrap.append(open);
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

// The image viewer: an image attachment opens in a modal over the page
// (a <dialog>, so focus stays inside and Escape closes it) with its name,
// its size, a download link and a close button; focus goes back to what
// opened it. The full image comes through the SDK's blob: URL (it needs the
// Authorization header), never a new tab.

import { h, icon } from "./dom.js";

/** The viewer on screen, if any (one at a time). */
let current = null;

/**
 * Show `attachment` (an image of a message) in the viewer. `caption` is a
 * short line under the name (its size); `opener` gets the focus back.
 */
export function openImageViewer(client, attachment, { caption = "", opener = document.activeElement } = {}) {
  current?.close();
  const name = attachment.name || "image";
  const img = h("img", { class: "viewer-img", alt: name, draggable: "false" });
  const stage = h("div", { class: "viewer-stage", dataset: { state: "loading" } }, h("span", { class: "viewer-spinner", "aria-hidden": "true" }), img);
  const download = h("a", { class: "btn viewer-btn viewer-download", download: name, "aria-disabled": "true" }, icon("download"), h("span", {}, "Download"));
  const close = h("button", { type: "button", class: "viewer-btn viewer-close icon-btn", "aria-label": "Close", title: "Close (Esc)" }, icon("close"));
  const title = h("strong", { class: "viewer-name", id: "viewer-name" }, name);
  const dialog = h(
    "dialog",
    { class: "viewer", "aria-labelledby": "viewer-name" },
    h(
      "header",
      { class: "viewer-bar" },
      h("div", { class: "viewer-title" }, title, caption ? h("span", { class: "viewer-caption" }, caption) : null),
      download,
      close,
    ),
    stage,
  );

  close.addEventListener("click", () => dialog.close());
  // A click on the dark area around the image closes it, like most viewers.
  stage.addEventListener("click", (e) => {
    if (e.target === stage) dialog.close();
  });
  // Not a drag of the blob: URL out of the page by accident either.
  download.addEventListener("click", (e) => {
    if (!download.href) e.preventDefault();
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (current?.dialog === dialog) current = null;
    if (opener?.isConnected && typeof opener.focus === "function") opener.focus();
  });

  img.addEventListener("load", () => (stage.dataset.state = "ready"));
  img.addEventListener("error", () => (stage.dataset.state = "failed"));
  const src = attachment.url ?? attachment.thumbnail_url;
  client.attachmentUrl(src).then(
    (u) => {
      if (!dialog.isConnected) return;
      img.src = u;
      download.href = u;
      download.removeAttribute("aria-disabled");
    },
    () => {
      stage.dataset.state = "failed";
      stage.append(h("p", { class: "viewer-error" }, "Could not load the image."));
    },
  );

  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  current = { dialog, close: () => dialog.close() };
  return dialog;
}

// The composer's pending uploads: files picked with the paperclip, pasted
// into the message box or dropped anywhere on the conversation are uploaded
// at once (`POST /api/uploads`) and go with the next message. Each shows as
// a chip with its state (uploading, done, failed); an image shows a
// thumbnail of the local file (an object URL, revoked when it goes).

import { h, $, icon } from "./dom.js";
import { toast } from "./toasts.js";
import { size } from "./attachments.js";

/** Whether a drag carries files (not text or a link from the page). */
function hasFiles(e) {
  return [...(e.dataTransfer?.types ?? [])].includes("Files");
}

/** Pasted screenshots are all called "image.png": give them a name worth keeping. */
function pastedName(file, i) {
  if (file.name && file.name !== "image.png" && file.name !== "image.jpeg") return file;
  const ext = (file.type.split("/")[1] || "png").replace("jpeg", "jpg").replace(/[^a-z0-9]/gi, "");
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return new File([file], `pasted-image-${stamp}${i ? `-${i + 1}` : ""}.${ext}`, { type: file.type, lastModified: file.lastModified });
}

export class Composer {
  constructor(app) {
    this.app = app;
    this.box = $("#compose-files");
    this.input = $("#file-input");
    /** @type {Array<{key: number, file: File, state: "uploading" | "done" | "failed", preview?: string, el: HTMLElement, result?: object, error?: Error}>} */
    this.items = [];
    this.counter = 0;
    $("#attach").append(icon("clip"));
    $("#attach").addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      for (const f of this.input.files ?? []) this.add(f);
      this.input.value = "";
    });
    this.bindPaste($("#composer"));
    this.bindDrop($("#chat-pane"), $("#drop-zone"));
  }

  /**
   * Files pasted into the composer (a screenshot, an image copied in a
   * browser, files copied in a file manager) are attached. When the
   * clipboard also holds plain text (a spreadsheet's cells come with a
   * picture of them), the text is pasted as usual instead.
   */
  bindPaste(form) {
    form.addEventListener("paste", (e) => {
      const data = e.clipboardData;
      const files = [...(data?.files ?? [])];
      if (!files.length || data.types.includes("text/plain")) return;
      e.preventDefault();
      files.forEach((f, i) => this.add(pastedName(f, i)));
    });
  }

  /**
   * Files dragged over the conversation show a drop zone over it; dropped,
   * they are attached. Files dropped anywhere else do nothing (rather than
   * the browser leaving the app to show the file).
   */
  bindDrop(pane, zone) {
    zone.querySelector(".drop-zone-icon")?.append(icon("upload"));
    let depth = 0;
    const hide = () => {
      depth = 0;
      zone.hidden = true;
      pane.classList.remove("dragging");
    };
    pane.addEventListener("dragenter", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      zone.hidden = false;
      pane.classList.add("dragging");
    });
    pane.addEventListener("dragleave", (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) hide();
    });
    pane.addEventListener("drop", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      hide();
      for (const f of e.dataTransfer.files) this.add(f);
    });
    window.addEventListener("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = !pane.hidden && pane.contains(e.target) ? "copy" : "none";
    });
    window.addEventListener("drop", (e) => {
      if (hasFiles(e)) e.preventDefault();
      if (!zone.hidden) hide();
    });
    window.addEventListener("dragend", hide);
  }

  add(file) {
    const item = { key: ++this.counter, file, state: "uploading" };
    if (file.type.startsWith("image/")) item.preview = URL.createObjectURL(file);
    item.el = this.chip(item);
    this.items.push(item);
    this.render();
    this.app.client.uploadFile(file).then(
      (result) => {
        item.state = "done";
        item.result = result;
        this.update(item);
      },
      (err) => {
        item.state = "failed";
        item.error = err;
        this.update(item);
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

  remove(item) {
    this.items = this.items.filter((x) => x !== item);
    this.forget(item);
    this.render();
  }

  clear() {
    for (const i of this.items) this.forget(i);
    this.items = [];
    this.render();
  }

  forget(item) {
    if (item.preview) URL.revokeObjectURL(item.preview);
    item.preview = undefined;
  }

  /** A chip for an upload: built once (the thumbnail does not reload), then updated. */
  chip(item) {
    const name = item.file.name;
    const lead = item.preview
      ? h("span", { class: "file-thumb" }, h("img", { src: item.preview, alt: "", onerror: (e) => e.target.parentNode.replaceWith(icon("file")) }), h("span", { class: "file-spinner", "aria-hidden": "true" }))
      : icon("file");
    const el = h(
      "span",
      { class: `file-chip${item.preview ? " has-thumb" : ""}` },
      lead,
      h("span", { class: "file-text" }, h("span", { class: "file-name", title: name }, name), h("span", { class: "file-size" })),
      h("button", { type: "button", class: "file-remove", "aria-label": `Remove ${name}`, title: "Remove", onclick: () => this.remove(item) }, icon("close")),
    );
    this.update(item, el);
    return el;
  }

  update(item, el = item.el) {
    el.className = `file-chip ${item.state}${item.preview ? " has-thumb" : ""}`;
    el.dataset.state = item.state;
    el.setAttribute("aria-busy", String(item.state === "uploading"));
    el.querySelector(".file-size").textContent = item.state === "uploading" ? "uploading…" : item.state === "failed" ? "failed" : size(item.file.size);
  }

  render() {
    this.box.hidden = this.items.length === 0;
    this.box.replaceChildren(...this.items.map((i) => i.el));
  }
}

// Toasts: short messages stacked in a corner (errors, notifications, an
// incoming call with a Join button). Text only through textContent.

import { h, icon } from "./dom.js";

const KIND_ICON = { info: "bell", success: "check", warning: "alert", error: "alert", call: "phone" };

function stack() {
  let el = document.getElementById("toasts");
  if (!el) {
    el = h("div", { id: "toasts", class: "toasts", "aria-live": "polite" });
    document.body.append(el);
  }
  return el;
}

/**
 * Show a toast. `kind`: info, success, warning, error or call. `actions`:
 * buttons `{label, onClick, primary}`; clicking one closes the toast.
 * `timeoutMs` 0 keeps it until closed. Returns a function that closes it.
 * @param {string} text
 * @param {{title?: string, kind?: string, actions?: Array<{label: string, onClick?: () => void, primary?: boolean}>, timeoutMs?: number, link?: string, id?: string}} [o]
 */
export function toast(text, o = {}) {
  const kind = o.kind ?? "info";
  const host = stack();
  if (o.id) host.querySelector(`[data-toast-id="${CSS.escape(o.id)}"]`)?.remove();
  let timer = null;
  const el = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status", dataset: { kind, ...(o.id ? { toastId: o.id } : {}) } });
  const close = () => {
    clearTimeout(timer);
    el.classList.add("leaving");
    setTimeout(() => el.remove(), 180);
  };
  const body = h("div", { class: "toast-body" });
  if (o.title) body.append(h("strong", { class: "toast-title" }, o.title));
  if (text) body.append(h("span", { class: "toast-text" }, text));
  // Only web links (the server allows nothing else; never a javascript: URL).
  if (o.link && /^(https?:\/\/|\/(?!\/))/i.test(o.link)) body.append(h("a", { class: "toast-link", href: o.link, target: "_blank", rel: "noopener" }, "Open"));
  const actions = h("div", { class: "toast-actions" });
  for (const a of o.actions ?? []) {
    actions.append(
      h("button", { type: "button", class: `toast-btn${a.primary ? " primary" : ""}`, onclick: () => { close(); a.onClick?.(); } }, a.label),
    );
  }
  // Native append would print a null as the text "null": leave it out.
  el.append(
    ...[
      h("span", { class: "toast-icon", "aria-hidden": "true" }, icon(KIND_ICON[kind] ?? "bell")),
      body,
      (o.actions ?? []).length ? actions : null,
      h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", onclick: close }, icon("close")),
    ].filter(Boolean),
  );
  host.append(el);
  const timeout = o.timeoutMs ?? (kind === "error" ? 6000 : 5000);
  if (timeout > 0) timer = setTimeout(close, timeout);
  return close;
}

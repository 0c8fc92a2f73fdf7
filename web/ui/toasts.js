// Toasts: short messages stacked in a corner (errors, notifications, an
// incoming call with a Join button). Text only through textContent.

import { h, icon, webLink } from "./dom.js";

export const KIND_ICON = { info: "bell", success: "check", warning: "alert", error: "alert", call: "phone" };

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
  let el = null;
  const close = () => {
    clearTimeout(timer);
    el.classList.add("leaving");
    setTimeout(() => el.remove(), 180);
  };
  const link = webLink(o.link);
  const actions = o.actions ?? [];
  // h() leaves out the parts that are absent (null).
  el = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status", dataset: { kind, ...(o.id ? { toastId: o.id } : {}) } },
    h("span", { class: "toast-icon", "aria-hidden": "true" }, icon(KIND_ICON[kind] ?? "bell")),
    h(
      "div",
      { class: "toast-body" },
      o.title ? h("strong", { class: "toast-title" }, o.title) : null,
      text ? h("span", { class: "toast-text" }, text) : null,
      link ? h("a", { class: "toast-link", href: link, target: "_blank", rel: "noopener" }, "Open") : null,
    ),
    actions.length
      ? h(
          "div",
          { class: "toast-actions" },
          actions.map((a) => h("button", { type: "button", class: `toast-btn${a.primary ? " primary" : ""}`, onclick: () => { close(); a.onClick?.(); } }, a.label)),
        )
      : null,
    h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", onclick: close }, icon("close")),
  );
  host.append(el);
  const timeout = o.timeoutMs ?? (kind === "error" ? 6000 : 5000);
  if (timeout > 0) timer = setTimeout(close, timeout);
  return close;
}

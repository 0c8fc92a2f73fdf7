// Small DOM and formatting helpers for the demo app. Text always goes in
// through textContent: nothing from the network is parsed as HTML.

/**
 * Create an element: h("div", {class: "x", onclick: fn, dataset: {id}}, child, "text", ...)
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** `url` if it is a web link (http(s) or same-origin path), else null: never a javascript: URL. */
export function webLink(url) {
  return typeof url === "string" && /^(https?:\/\/|\/(?!\/))/i.test(url) ? url : null;
}

/** Web addresses in message text: http(s) URLs and www. hosts. */
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'\u00a0]+/gi;
/** Punctuation that ends a sentence rather than a URL. */
const TRAILING = /[.,;:!?)\]}'"\u060c\u061b\u061f]+$/;

/**
 * Message text as DOM nodes: plain text, with web addresses turned into
 * links that open in a new tab without handing it this page
 * (`rel="noopener noreferrer"`). Never parsed as HTML; only http(s) links.
 */
export function richText(text) {
  const out = [];
  let last = 0;
  for (const m of String(text ?? "").matchAll(URL_RE)) {
    let url = m[0];
    const trail = TRAILING.exec(url)?.[0] ?? "";
    // A closing parenthesis belongs to the URL when it opened one inside it.
    if (trail) url = url.slice(0, -trail.length);
    if (!url) continue;
    if (m.index > last) out.push(text.slice(last, m.index));
    const href = /^www\./i.test(url) ? `https://${url}` : url;
    let ok = false;
    try {
      ok = ["http:", "https:"].includes(new URL(href).protocol);
    } catch {
      ok = false;
    }
    out.push(ok ? h("a", { href, target: "_blank", rel: "noopener noreferrer", class: "msg-link" }, url) : url);
    last = m.index + url.length;
  }
  if (last < String(text ?? "").length) out.push(String(text).slice(last));
  return out;
}

/** Up to two initials from a name or id. */
export function initials(name) {
  const parts = String(name || "?").trim().split(/[\s._-]+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] || "?").slice(0, 2);
  return s.toUpperCase();
}

/** A stable, pleasant hue for an id. */
export function hueFor(id) {
  let x = 0;
  for (const ch of String(id)) x = (x * 31 + ch.codePointAt(0)) >>> 0;
  return x % 360;
}

/** A round avatar with initials; `status` adds a presence dot. */
export function avatar(id, name, { size = "md", status } = {}) {
  return h(
    "span",
    { class: `avatar avatar-${size}`, style: `--hue:${hueFor(id)}`, "aria-hidden": "true" },
    initials(name || id),
    status ? h("i", { class: `presence-dot ${status}`, title: status }) : null,
  );
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "short", day: "numeric" });
const shortDayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

export function fmtTime(ms) {
  return timeFmt.format(new Date(ms));
}

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** "Today", "Yesterday" or a date, for day separators. */
export function fmtDay(ms) {
  const diff = Math.round((startOfDay(Date.now()) - startOfDay(ms)) / 86400000);
  if (diff === 0) return "Today";
  if (diff === 1) return "Yesterday";
  return dayFmt.format(new Date(ms));
}

/** Compact time for lists: 14:05 today, else "Mar 3". */
export function fmtShort(ms) {
  return startOfDay(ms) === startOfDay(Date.now()) ? fmtTime(ms) : shortDayFmt.format(new Date(ms));
}

export function sameDay(a, b) {
  return startOfDay(a) === startOfDay(b);
}

/** "A", "A and B", "A, B and C". */
export function joinNames(names) {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** Inline SVG icons (no icon fonts, no network). */
const ICONS = {
  plus: "M12 5v14M5 12h14",
  send: "M4 12l16-8-6 16-2-6-8-2z",
  back: "M15 18l-6-6 6-6",
  forward: "M9 6l6 6-6 6",
  reply: "M9 14L4 9l5-5M4 9h10a6 6 0 016 6v4",
  edit: "M4 20h4L19 9l-4-4L4 16v4z",
  trash: "M5 7h14M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  close: "M6 6l12 12M18 6L6 18",
  check: "M5 12l5 5L20 7",
  checks: "M2 12l5 5L17 7M12 16l1 1L23 7",
  clock: "M12 7v5l3 2M12 21a9 9 0 110-18 9 9 0 010 18z",
  alert: "M12 8v5M12 16.5v.5M12 21a9 9 0 110-18 9 9 0 010 18z",
  search: "M11 18a7 7 0 110-14 7 7 0 010 14zM21 21l-5-5",
  logout: "M15 4h4v16h-4M10 8l-4 4 4 4M6 12h11",
  chat: "M4 5h16v11H8l-4 4V5z",
  phone: "M5 4h4l2 5-2.5 1.5a11 11 0 005 5L15 13l5 2v4a2 2 0 01-2 2A16 16 0 013 6a2 2 0 012-2z",
  "phone-off": "M5 4h4l2 5-2.5 1.5a11 11 0 005 5L15 13l5 2v4a2 2 0 01-2 2A16 16 0 013 6a2 2 0 012-2zM3 3l18 18",
  mic: "M12 3a3 3 0 013 3v6a3 3 0 01-6 0V6a3 3 0 013-3zM5 11a7 7 0 0014 0M12 18v3",
  "mic-off": "M12 3a3 3 0 013 3v6a3 3 0 01-6 0V6a3 3 0 013-3zM5 11a7 7 0 0014 0M12 18v3M3 3l18 18",
  bell: "M6 16v-5a6 6 0 0112 0v5l2 2H4l2-2zM10 20a2 2 0 004 0",
  "bell-off": "M6 16v-5a6 6 0 0112 0v5l2 2H4l2-2zM10 20a2 2 0 004 0M3 3l18 18",
  "phone-missed": "M5 4h4l2 5-2.5 1.5a11 11 0 005 5L15 13l5 2v4a2 2 0 01-2 2A16 16 0 013 6a2 2 0 012-2zM15 3l6 6M21 3l-6 6",
  clip: "M20 12l-8 8a5 5 0 01-7-7l9-9a3.5 3.5 0 015 5l-9 9a2 2 0 01-3-3l8-8",
  file: "M6 3h8l5 5v13H6zM14 3v5h5",
  download: "M12 4v11M7 10l5 5 5-5M5 20h14",
  upload: "M12 16V5M7 10l5-5 5 5M5 20h14",
  play: "M8 5.5v13a.5.5 0 00.76.43l10.4-6.5a.5.5 0 000-.86L8.76 5.07A.5.5 0 008 5.5z",
  pause: "M8 5h2.5v14H8zM13.5 5H16v14h-2.5z",
  chevron: "M6 9l6 6 6-6",
  users: "M9 11a4 4 0 100-8 4 4 0 000 8zM2 21a7 7 0 0114 0M16 3.5a4 4 0 010 7.5M18 14a6 6 0 014 7",
  pulse: "M3 12h4l3-8 4 16 3-8h4",
  sparkle: "M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8zM19 15l.8 2.2L22 18l-2.2.8L19 21l-.8-2.2L16 18l2.2-.8z",
};

export function icon(name, cls = "") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon ${cls}`.trim());
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name] ?? "");
  svg.append(path);
  return svg;
}

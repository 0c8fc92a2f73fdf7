// The notification centre: a bell in the sidebar with the unread count and
// a panel listing the user's notifications (newest first). Loaded over REST
// on every (re)connect, kept current by `notification` and
// `notifications_read` events (marks made on the user's other devices show
// here too). Opening one marks it read; "Mark all read" marks the rest.

import { h, icon, fmtTime, webLink } from "./dom.js";
import { KIND_ICON } from "./toasts.js";

const KINDS = ["info", "success", "warning", "error"];
const MAX_KEPT = 50;

export class NotificationCenter {
  /**
   * @param {import("../earshot.js").EarshotClient} client
   * @param {{button: HTMLElement, count: HTMLElement, panel: HTMLElement, list: HTMLElement, empty: HTMLElement, readAll: HTMLButtonElement}} els
   */
  constructor(client, els) {
    this.client = client;
    this.els = els;
    /** @type {Map<string, import("../earshot.js").Notification>} */
    this.items = new Map();
    els.button.prepend(icon("bell"));
    els.button.addEventListener("click", (e) => {
      e.stopPropagation();
      this.toggle(els.panel.hidden);
    });
    els.readAll.addEventListener("click", () => this.markAllRead());
    document.addEventListener("click", (e) => {
      if (!els.panel.hidden && !els.panel.contains(/** @type {Node} */ (e.target))) this.toggle(false);
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !els.panel.hidden) this.toggle(false);
    });
    client.on("notification", (n) => this.add(n));
    client.on("notifications_read", (r) => this.applyRead(r));
    this.render();
  }

  /** The latest list from the server (on connect: it may have changed meanwhile). */
  async load() {
    try {
      const list = await this.client.listNotifications();
      // Merge: a notification or a read mark may have arrived live while
      // the list was on its way.
      const merged = new Map(list.map((n) => [n.id, n]));
      for (const [id, local] of this.items) {
        const listed = merged.get(id);
        if (!listed) merged.set(id, local);
        else if (listed.read_at === null && local.read_at !== null) listed.read_at = local.read_at;
      }
      this.items = merged;
      this.render();
    } catch (err) {
      console.warn("earshot: notifications not loaded:", err?.code ?? err);
    }
  }

  add(n) {
    this.items.set(n.id, n);
    this.render();
  }

  applyRead({ ids, all, read_at }) {
    for (const n of this.items.values()) {
      if (n.read_at === null && (all || ids.includes(n.id))) n.read_at = read_at;
    }
    this.render();
  }

  unreadCount() {
    let c = 0;
    for (const n of this.items.values()) if (n.read_at === null) c++;
    return c;
  }

  toggle(open) {
    this.els.panel.hidden = !open;
    this.els.button.setAttribute("aria-expanded", String(open));
  }

  async markRead(n) {
    if (n.read_at !== null) return;
    try {
      const { notification } = await this.client.markNotificationRead(n.id);
      this.applyRead({ ids: [n.id], all: false, read_at: notification.read_at });
    } catch (err) {
      console.warn("earshot: could not mark read:", err?.code ?? err);
    }
  }

  async markAllRead() {
    try {
      await this.client.markAllNotificationsRead();
      this.applyRead({ ids: [], all: true, read_at: Date.now() });
    } catch (err) {
      console.warn("earshot: could not mark all read:", err?.code ?? err);
    }
  }

  render() {
    const { count, list, empty, readAll, button } = this.els;
    const unread = this.unreadCount();
    count.hidden = unread === 0;
    count.textContent = unread > 99 ? "99+" : String(unread);
    button.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
    readAll.disabled = unread === 0;
    const sorted = [...this.items.values()].sort((a, b) => b.created_at - a.created_at).slice(0, MAX_KEPT);
    empty.hidden = sorted.length > 0;
    list.replaceChildren(...sorted.map((n) => this.row(n)));
  }

  row(n) {
    const kind = KINDS.includes(n.kind) ? n.kind : "info";
    const link = webLink(n.link);
    const li = h(
      "li",
      { class: `notif notif-${kind}${n.read_at === null ? " unread" : ""}`, dataset: { id: n.id, kind, read: String(n.read_at !== null) } },
      h("span", { class: "notif-icon", "aria-hidden": "true" }, icon(KIND_ICON[kind])),
      h(
        "div",
        { class: "notif-body" },
        h("strong", { class: "notif-title" }, n.title),
        n.body ? h("span", { class: "notif-text" }, n.body) : null,
        h("span", { class: "notif-meta" }, fmtTime(n.created_at), link ? h("a", { class: "notif-link", href: link, target: "_blank", rel: "noopener" }, "Open") : null),
      ),
    );
    li.tabIndex = 0;
    li.addEventListener("click", () => this.markRead(n));
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") this.markRead(n);
    });
    return li;
  }
}

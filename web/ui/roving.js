// Keyboard access to the message list without a tab stop per button: the
// list is one tab stop (a roving tabindex on the newest message, or the one
// last visited), ArrowUp/ArrowDown (Home/End) move between messages, and a
// focused message shows its actions; Tab then reaches its links and buttons,
// Escape goes back to the message. Controls of the other messages stay out
// of the tab order.

const ITEMS = ".msg-row, .call-entry";
const CONTROLS = "a[href], button, input, select, textarea, audio[controls], [tabindex]";

export class RovingFocus {
  /**
   * @param {HTMLElement} list the message list
   * @param {{onStart?: () => void}} [opts] onStart: ArrowUp on the first message (load older ones)
   */
  constructor(list, { onStart } = {}) {
    this.list = list;
    this.onStart = onStart;
    /** The data-key of the message that holds the tab stop (null: the newest). */
    this.currentKey = null;
    list.addEventListener("focusin", (e) => {
      const item = e.target.closest(ITEMS);
      if (!item || !list.contains(item)) return;
      this.currentKey = item.dataset.key ?? null;
      this.sync();
    });
    list.addEventListener("focusout", (e) => {
      if (!e.relatedTarget || !list.contains(e.relatedTarget)) queueMicrotask(() => this.sync());
    });
    list.addEventListener("keydown", (e) => this.onKey(e));
  }

  items() {
    return [...this.list.querySelectorAll(ITEMS)];
  }

  /** The message that holds the tab stop. */
  current(items = this.items()) {
    return (this.currentKey != null && items.find((i) => i.dataset.key === this.currentKey)) || items.at(-1) || null;
  }

  /** Start over at the newest message (another conversation). */
  reset() {
    this.currentKey = null;
  }

  /** Give the tab stop to the current message, and its controls only while focus is in it. */
  sync() {
    const items = this.items();
    const cur = this.current(items);
    const active = document.activeElement;
    for (const item of items) {
      const isCurrent = item === cur;
      item.tabIndex = isCurrent ? 0 : -1;
      const open = isCurrent && item.contains(active);
      for (const c of item.querySelectorAll(CONTROLS)) c.tabIndex = open ? 0 : -1;
    }
  }

  /** Before the list is rebuilt: where focus is, to put it back. */
  save() {
    const active = document.activeElement;
    const item = active && this.list.contains(active) ? active.closest(ITEMS) : null;
    if (!item) return null;
    return { key: item.dataset.key, control: [...item.querySelectorAll(CONTROLS)].indexOf(active) };
  }

  /** After the list was rebuilt: tab stops again, and focus back where it was. */
  restore(saved) {
    this.sync();
    if (!saved) return;
    const item = this.items().find((i) => i.dataset.key === saved.key) ?? this.current();
    if (!item) return;
    const target = (saved.control >= 0 && item.querySelectorAll(CONTROLS)[saved.control]) || item;
    target.focus({ preventScroll: true });
  }

  onKey(e) {
    const item = e.target.closest?.(ITEMS);
    if (!item || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target !== item) {
      if (e.key === "Escape") {
        e.preventDefault();
        item.focus();
      }
      return;
    }
    const items = this.items();
    const i = items.indexOf(item);
    let next;
    if (e.key === "ArrowDown") next = items[i + 1];
    else if (e.key === "ArrowUp") next = items[i - 1];
    else if (e.key === "Home") next = items[0];
    else if (e.key === "End") next = items.at(-1);
    else return;
    e.preventDefault();
    if (next) {
      next.focus();
      next.scrollIntoView({ block: "nearest" });
    } else if (e.key === "ArrowUp") {
      this.onStart?.();
    }
  }
}

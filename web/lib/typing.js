// Debounced typing indicator for one room: call `keystroke()` on every input
// event. The first keystroke sends `is_typing: true`; while typing goes on it
// is refreshed at most every `refreshMs` (the server expires an indicator 5 s
// after the last refresh); after `idleMs` without keystrokes it sends
// `is_typing: false`.

export class TypingDebouncer {
  /**
   * @param {(isTyping: boolean) => void} send
   * @param {{refreshMs?: number, idleMs?: number, now?: () => number,
   *          setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout}} [options]
   */
  constructor(send, options = {}) {
    this.sendFn = send;
    this.refreshMs = options.refreshMs ?? 2000;
    this.idleMs = options.idleMs ?? 3000;
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((t) => clearTimeout(t));
    this.active = false;
    this.lastStart = -Infinity;
    this.idleTimer = null;
  }

  keystroke() {
    const t = this.now();
    if (!this.active || t - this.lastStart >= this.refreshMs) {
      this.active = true;
      this.lastStart = t;
      this.sendFn(true);
    }
    if (this.idleTimer !== null) this.clearTimer(this.idleTimer);
    this.idleTimer = this.setTimer(() => {
      this.idleTimer = null;
      this.stop();
    }, this.idleMs);
  }

  /** Stop now (sends `false` if a `true` is outstanding). */
  stop() {
    this.clear();
    if (this.active) {
      this.active = false;
      this.sendFn(false);
    }
  }

  /** Forget the state without sending (the server already cleared it). */
  reset() {
    this.clear();
    this.active = false;
    this.lastStart = -Infinity;
  }

  clear() {
    if (this.idleTimer !== null) this.clearTimer(this.idleTimer);
    this.idleTimer = null;
  }
}

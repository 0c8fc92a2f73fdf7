// A small event emitter: on / off / once, plus a '*' wildcard that receives
// (eventName, ...args) for every event.

export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
  }

  /**
   * Subscribe; returns a function that unsubscribes.
   * @param {string} event
   * @param {Function} listener
   */
  on(event, listener) {
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** @param {string} event @param {Function} listener */
  off(event, listener) {
    const set = this._listeners.get(event);
    if (!set) return;
    set.delete(listener);
    // `once` wrappers are removed by the original listener too.
    for (const l of set) if (l._original === listener) set.delete(l);
    if (set.size === 0) this._listeners.delete(event);
  }

  /** Subscribe for one call. @param {string} event @param {Function} listener */
  once(event, listener) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      return listener(...args);
    };
    wrapper._original = listener;
    return this.on(event, wrapper);
  }

  /** @param {string} event @param {...any} args */
  emit(event, ...args) {
    const direct = this._listeners.get(event);
    if (direct) for (const l of [...direct]) this._call(l, args);
    if (event !== "*") {
      const wild = this._listeners.get("*");
      if (wild) for (const l of [...wild]) this._call(l, [event, ...args]);
    }
  }

  /** Number of listeners for `event` (all events without one). */
  listenerCount(event) {
    if (event !== undefined) return this._listeners.get(event)?.size ?? 0;
    let n = 0;
    for (const set of this._listeners.values()) n += set.size;
    return n;
  }

  _call(listener, args) {
    try {
      listener(...args);
    } catch (err) {
      // A failing listener must not break the SDK's own bookkeeping.
      (globalThis.reportError ?? console.error)(err);
    }
  }
}

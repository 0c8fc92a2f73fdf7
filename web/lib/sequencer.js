// Per-room message ordering: delivers messages in `seq` order with no gaps and
// no duplicates, whatever order they arrive in (a rejoin's `missed`, pages
// fetched to fill a gap, live events). Pure: no sockets, no timers.

export class Sequencer {
  /** @param {number} lastSeq the highest seq already delivered */
  constructor(lastSeq = 0) {
    this.lastSeq = lastSeq;
    /** Messages ahead of a gap, by seq. @type {Map<number, object>} */
    this.held = new Map();
  }

  /** Forget held messages and start after `lastSeq`. */
  reset(lastSeq) {
    this.lastSeq = lastSeq;
    this.held.clear();
  }

  /** True when messages are held behind a missing seq. */
  get hasGap() {
    return this.held.size > 0;
  }

  /**
   * Take messages in any order; returns the ones to deliver now, ascending
   * and contiguous from the previous `lastSeq`. Already delivered and
   * already held seqs are dropped (duplicates).
   * @param {Array<{seq: number}>} messages
   */
  push(messages) {
    for (const m of messages) {
      if (!m || typeof m.seq !== "number") continue;
      if (m.seq <= this.lastSeq || this.held.has(m.seq)) continue;
      this.held.set(m.seq, m);
    }
    const out = [];
    while (this.held.has(this.lastSeq + 1)) {
      const next = this.held.get(this.lastSeq + 1);
      this.held.delete(this.lastSeq + 1);
      this.lastSeq += 1;
      out.push(next);
    }
    return out;
  }

  /**
   * Give up on the missing seqs: deliver the held messages from the lowest
   * one on (used only when the server has nothing to fill the gap with).
   */
  skipGap() {
    if (this.held.size === 0) return [];
    this.lastSeq = Math.min(...this.held.keys()) - 1;
    return this.push([]);
  }
}

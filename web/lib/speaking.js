// Who is speaking, from audio levels (0..1, as getStats' `audioLevel`)
// sampled a few times a second. Pure: the caller passes the time.
//
// A participant starts speaking when its level reaches `threshold` and stops
// once it has stayed below for `hangoverMs` (speech has short pauses). The
// active speaker (p2p calls; the SFU announces its own) is the loudest
// speaking participant, replaced only by one louder for `switchMs`.

export class SpeakingDetector {
  /**
   * @param {{threshold?: number, hangoverMs?: number, switchMs?: number}} [o]
   */
  constructor(o = {}) {
    this.threshold = o.threshold ?? 0.02;
    this.hangoverMs = o.hangoverMs ?? 900;
    this.switchMs = o.switchMs ?? 500;
    /** id -> {speaking, lastLoud, level} */
    this.state = new Map();
    this.active = null;
    this.challenger = null; // {id, since}
  }

  forget(id) {
    this.state.delete(id);
    if (this.active === id) this.active = null;
  }

  /**
   * One round of levels (`Map` or object: id -> level) at time `now` (ms).
   * Ids missing from the round count as silent.
   * @returns {{changes: Array<{participant_id: string, speaking: boolean, level: number}>, active: string | null, activeChanged: boolean}}
   */
  update(levels, now) {
    const entries = levels instanceof Map ? [...levels] : Object.entries(levels);
    const seen = new Set();
    const changes = [];
    for (const [id, raw] of entries) {
      seen.add(id);
      const level = typeof raw === "number" && Number.isFinite(raw) ? raw : 0;
      let s = this.state.get(id);
      if (!s) this.state.set(id, (s = { speaking: false, lastLoud: -Infinity, level: 0 }));
      s.level = level;
      if (level >= this.threshold) s.lastLoud = now;
      const speaking = now - s.lastLoud <= this.hangoverMs;
      if (speaking !== s.speaking) {
        s.speaking = speaking;
        changes.push({ participant_id: id, speaking, level });
      }
    }
    for (const [id, s] of this.state) {
      if (seen.has(id)) continue;
      s.level = 0;
      if (s.speaking && now - s.lastLoud > this.hangoverMs) {
        s.speaking = false;
        changes.push({ participant_id: id, speaking: false, level: 0 });
      }
    }
    const before = this.active;
    this._pickActive(now);
    return { changes, active: this.active, activeChanged: before !== this.active };
  }

  _pickActive(now) {
    let loudest = null;
    for (const [id, s] of this.state) {
      if (s.speaking && (loudest === null || s.level > this.state.get(loudest).level)) loudest = id;
    }
    const cur = this.active !== null ? this.state.get(this.active) : undefined;
    if (!cur || !cur.speaking) {
      this.active = loudest;
      this.challenger = null;
      return;
    }
    if (loudest === null || loudest === this.active || this.state.get(loudest).level <= cur.level) {
      this.challenger = null;
      return;
    }
    if (this.challenger?.id !== loudest) this.challenger = { id: loudest, since: now };
    else if (now - this.challenger.since >= this.switchMs) {
      this.active = loudest;
      this.challenger = null;
    }
  }
}

// Talking while muted: while the call is muted, the local microphone is
// listened to (on a clone of the capture track: the sent track is disabled
// and carries only silence) and the server is told when the user has been
// talking for about a second (`report_call_issue`, issue
// `talking_while_muted`), and again when they stop or unmute.
//
// `MutedTalkDetector` is the decision, a plain class fed levels and times
// (unit-tested in Node); `frameLevel` turns a buffer of samples into a level;
// `MicLevelMeter` is the browser part (an AudioContext and an AnalyserNode).

/** Defaults: the level (RMS, 0..1) that counts as voice, and the timings. */
export const MUTED_TALK_DEFAULTS = Object.freeze({
  /** RMS of a 10 ms frame at or above which the microphone hears voice (about −34 dBFS). */
  threshold: 0.02,
  /** Voice for this long while muted raises the issue. */
  onsetMs: 1000,
  /** Pauses shorter than this do not interrupt a stretch of voice (between words, syllables). */
  gapMs: 600,
  /** Quiet for this long ends the issue. */
  quietMs: 3000,
});

/**
 * The loudness of a buffer of samples (-1..1): the highest RMS over its
 * frames of `frameSize` samples (a short word in a long buffer still counts).
 * @param {ArrayLike<number>} samples
 * @param {number} [frameSize]
 */
export function frameLevel(samples, frameSize = 480) {
  const n = samples?.length ?? 0;
  if (!n) return 0;
  const size = Math.max(1, Math.min(frameSize, n));
  let best = 0;
  for (let start = 0; start < n; start += size) {
    const end = Math.min(n, start + size);
    let sum = 0;
    for (let i = start; i < end; i++) {
      const v = samples[i];
      if (Number.isFinite(v)) sum += v * v;
    }
    best = Math.max(best, Math.sqrt(sum / (end - start)));
  }
  return best;
}

/**
 * Decides when the user talks while muted. Feed it `update(muted, level,
 * now)` every 100 ms or so; it returns `true` or `false` when the verdict
 * changes (report it), `null` otherwise.
 *
 * - Raised once voice (level >= threshold) has gone on for `onsetMs`, with
 *   no pause longer than `gapMs` in it, while muted.
 * - Cleared when unmuted, or after `quietMs` without voice.
 */
export class MutedTalkDetector {
  constructor(o = {}) {
    this.threshold = o.threshold ?? MUTED_TALK_DEFAULTS.threshold;
    this.onsetMs = o.onsetMs ?? MUTED_TALK_DEFAULTS.onsetMs;
    this.gapMs = o.gapMs ?? MUTED_TALK_DEFAULTS.gapMs;
    this.quietMs = o.quietMs ?? MUTED_TALK_DEFAULTS.quietMs;
    this.active = false;
    /** when the current stretch of voice began (null: none) */
    this.voiceSince = null;
    /** the last time voice was heard (null: never, or since the last reset) */
    this.lastVoice = null;
  }

  /**
   * @param {boolean} muted
   * @param {number} level
   * @param {number} now ms
   * @returns {boolean | null} the new verdict when it changed
   */
  update(muted, level, now) {
    if (!muted) return this._set(false, true);
    const voice = typeof level === "number" && level >= this.threshold;
    if (voice) {
      if (this.voiceSince === null || this.lastVoice === null || now - this.lastVoice > this.gapMs) this.voiceSince = now;
      this.lastVoice = now;
      if (!this.active && now - this.voiceSince >= this.onsetMs) return this._set(true);
      return null;
    }
    if (this.lastVoice !== null && now - this.lastVoice > this.gapMs) this.voiceSince = null;
    if (this.active && (this.lastVoice === null || now - this.lastVoice >= this.quietMs)) return this._set(false);
    return null;
  }

  /** Forget everything (a new participant after a rejoin, a new microphone). */
  reset() {
    this.active = false;
    this.voiceSince = null;
    this.lastVoice = null;
  }

  _set(active, forget = false) {
    if (forget) {
      this.voiceSince = null;
      this.lastVoice = null;
    }
    if (this.active === active) return null;
    this.active = active;
    return active;
  }
}

/**
 * The level of a microphone track, measured on a clone of it (enabled even
 * when the original is not) through an AnalyserNode. `read()` returns the
 * loudness of the last ~190 ms (`frameLevel`). `close()` stops the clone and
 * closes the AudioContext.
 */
export class MicLevelMeter {
  /** @param {MediaStreamTrack} track */
  constructor(track) {
    const AC = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    if (!AC || !track) throw new Error("no WebAudio");
    this.clone = track.clone();
    // A clone starts with the original's `enabled`: false while muted.
    this.clone.enabled = true;
    this.ctx = new AC();
    this.source = this.ctx.createMediaStreamSource(new MediaStream([this.clone]));
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 8192;
    this.source.connect(this.analyser);
    this.buffer = new Float32Array(this.analyser.fftSize);
    // Created outside a user gesture, a context may start suspended.
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
  }

  read() {
    if (!this.ctx || this.ctx.state !== "running") return 0;
    this.analyser.getFloatTimeDomainData(this.buffer);
    return frameLevel(this.buffer, Math.round(this.ctx.sampleRate / 100));
  }

  close() {
    try {
      this.source?.disconnect();
    } catch {
      /* already */
    }
    this.clone?.stop();
    this.ctx?.close().catch(() => {});
    this.clone = null;
    this.ctx = null;
    this.source = null;
    this.analyser = null;
  }
}

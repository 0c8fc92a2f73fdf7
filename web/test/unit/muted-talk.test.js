// Talking while muted: the decision (MutedTalkDetector) fed levels and
// times, and the level of a buffer of samples (frameLevel).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MutedTalkDetector, frameLevel, MUTED_TALK_DEFAULTS } from "../../lib/calls/muted-talk.js";

/** Feed `det` one level every `step` ms from `t0` to `t1` (exclusive); the verdicts that changed, with their times. */
function run(det, { muted = true, level, t0, t1, step = 100 }) {
  const out = [];
  for (let t = t0; t < t1; t += step) {
    const v = det.update(muted, typeof level === "function" ? level(t) : level, t);
    if (v !== null) out.push([t, v]);
  }
  return out;
}

test("a second of voice while muted raises it; three seconds of quiet end it", () => {
  const det = new MutedTalkDetector();
  assert.deepEqual(run(det, { level: 0.2, t0: 0, t1: 900 }), [], "not before a second");
  assert.deepEqual(run(det, { level: 0.2, t0: 900, t1: 1100 }), [[1000, true]]);
  assert.equal(det.active, true);
  assert.deepEqual(run(det, { level: 0.2, t0: 1100, t1: 5000 }), [], "still talking: no news");
  // Quiet from 5000: the last voice was at 4900, so it ends at 7900.
  assert.deepEqual(run(det, { level: 0.001, t0: 5000, t1: 9000 }), [[7900, false]]);
  assert.equal(det.active, false);
});

test("pauses between words do not break a stretch of voice; a long pause does", () => {
  // A beep of 100 ms every 500 ms (Chromium's fake microphone): voice.
  const beeps = (t) => (t % 500 < 100 ? 0.3 : 0);
  assert.deepEqual(run(new MutedTalkDetector(), { level: beeps, t0: 0, t1: 1600 }), [[1000, true]]);
  // Voice, a pause longer than gapMs, voice again: the second stretch counts from its start.
  const det = new MutedTalkDetector();
  const level = (t) => (t < 700 || t >= 1500 ? 0.3 : 0);
  assert.deepEqual(run(det, { level, t0: 0, t1: 3000 }), [[2500, true]]);
});

test("unmuting ends it at once, and a short burst while muted raises nothing", () => {
  const det = new MutedTalkDetector();
  run(det, { level: 0.5, t0: 0, t1: 1500 });
  assert.equal(det.active, true);
  assert.equal(det.update(false, 0.5, 1500), false);
  assert.equal(det.update(false, 0.5, 1600), null, "said once");
  // Muted again, a cough of 300 ms: nothing.
  assert.deepEqual(run(det, { level: (t) => (t < 2300 ? 0.5 : 0), t0: 2000, t1: 6000 }), []);
  // Muted again, talking: counted afresh from when the voice began (not from before the unmute).
  assert.deepEqual(run(det, { level: 0.5, t0: 6000, t1: 7200 }), [[7000, true]]);
});

test("quiet below the threshold is not voice; the options tune it; reset forgets", () => {
  const det = new MutedTalkDetector();
  assert.deepEqual(run(det, { level: MUTED_TALK_DEFAULTS.threshold / 2, t0: 0, t1: 5000 }), []);
  assert.deepEqual(run(det, { level: NaN, t0: 5000, t1: 8000 }), []);
  const quick = new MutedTalkDetector({ threshold: 0.1, onsetMs: 300, quietMs: 500 });
  assert.deepEqual(run(quick, { level: 0.05, t0: 0, t1: 1000 }), []);
  assert.deepEqual(run(quick, { level: 0.2, t0: 1000, t1: 1400 }), [[1300, true]]);
  assert.deepEqual(run(quick, { level: 0, t0: 1400, t1: 2000 }), [[1800, false]]);
  run(quick, { level: 0.2, t0: 2000, t1: 2500 });
  assert.equal(quick.active, true);
  quick.reset();
  assert.equal(quick.active, false);
  assert.equal(quick.update(true, 0, 2600), null);
});

test("frameLevel: the loudest 10 ms frame's RMS", () => {
  assert.equal(frameLevel([]), 0);
  assert.equal(frameLevel(new Float32Array(4800)), 0);
  // A full-scale square wave: RMS 1; a sine of amplitude 0.5: RMS ~0.354.
  assert.equal(frameLevel(Float32Array.from({ length: 960 }, (_, i) => (i % 2 ? 1 : -1))), 1);
  const sine = Float32Array.from({ length: 4800 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 48000));
  assert.ok(Math.abs(frameLevel(sine) - 0.5 / Math.SQRT2) < 0.01);
  // A 10 ms blip in 100 ms of silence still shows in full.
  const blip = new Float32Array(4800);
  for (let i = 2400; i < 2880; i++) blip[i] = i % 2 ? 0.4 : -0.4;
  assert.ok(Math.abs(frameLevel(blip, 480) - 0.4) < 1e-6);
  assert.ok(frameLevel(blip, 4800) < 0.15, "diluted over the whole buffer");
  assert.equal(frameLevel([NaN, 0, 0, 0], 2), 0);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { SpeakingDetector } from "../../lib/speaking.js";

test("speaking starts at the threshold and stops after the hangover", () => {
  const d = new SpeakingDetector({ threshold: 0.05, hangoverMs: 500, switchMs: 300 });
  let r = d.update({ a: 0.2, b: 0.01 }, 0);
  assert.deepEqual(r.changes, [{ participant_id: "a", speaking: true, level: 0.2 }]);
  assert.equal(r.active, "a");
  r = d.update({ a: 0.01, b: 0.01 }, 300);
  assert.deepEqual(r.changes, [], "a short pause is still speech");
  r = d.update({ a: 0.01 }, 600);
  assert.deepEqual(r.changes, [{ participant_id: "a", speaking: false, level: 0.01 }]);
  assert.equal(r.active, null);
  assert.equal(r.activeChanged, true);
});

test("a louder speaker takes over only after switchMs", () => {
  const d = new SpeakingDetector({ threshold: 0.05, hangoverMs: 1000, switchMs: 300 });
  d.update({ a: 0.2 }, 0);
  let r = d.update({ a: 0.2, b: 0.6 }, 100);
  assert.equal(r.active, "a");
  r = d.update({ a: 0.2, b: 0.6 }, 300);
  assert.equal(r.active, "a");
  r = d.update({ a: 0.2, b: 0.6 }, 450);
  assert.equal(r.active, "b");
  assert.equal(r.activeChanged, true);
  d.forget("b");
  r = d.update({ a: 0.2 }, 500);
  assert.equal(r.active, "a", "a forgotten participant stops counting");
});

test("missing ids count as silent; garbage levels as zero", () => {
  const d = new SpeakingDetector({ threshold: 0.05, hangoverMs: 100 });
  d.update(new Map([["a", 0.5]]), 0);
  let r = d.update(new Map(), 50);
  assert.deepEqual(r.changes, []);
  r = d.update(new Map([["a", NaN]]), 200);
  assert.deepEqual(r.changes, [{ participant_id: "a", speaking: false, level: 0 }]);
});

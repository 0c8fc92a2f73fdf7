import { test } from "node:test";
import assert from "node:assert/strict";
import { TypingDebouncer } from "../../lib/typing.js";

// A fake clock with timers.
function fakeTime() {
  const t = { now: 0, timers: new Map(), next: 1 };
  t.set = (fn, ms) => {
    const id = t.next++;
    t.timers.set(id, { fn, at: t.now + ms });
    return id;
  };
  t.clear = (id) => t.timers.delete(id);
  t.advance = (ms) => {
    const end = t.now + ms;
    for (;;) {
      const due = [...t.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      t.timers.delete(due[0]);
      t.now = due[1].at;
      due[1].fn();
    }
    t.now = end;
  };
  return t;
}

function setup() {
  const t = fakeTime();
  const sent = [];
  const d = new TypingDebouncer((v) => sent.push([t.now, v]), {
    refreshMs: 2000,
    idleMs: 3000,
    now: () => t.now,
    setTimer: t.set,
    clearTimer: t.clear,
  });
  return { t, sent, d };
}

test("first keystroke sends start; more within 2 s send nothing", () => {
  const { t, sent, d } = setup();
  d.keystroke();
  for (let i = 0; i < 10; i++) {
    t.advance(150);
    d.keystroke();
  }
  assert.deepEqual(sent, [[0, true]]);
});

test("continuous typing refreshes start at most every 2 s", () => {
  const { t, sent, d } = setup();
  for (let i = 0; i <= 50; i++) {
    d.keystroke();
    t.advance(100); // 5 s of typing
  }
  const starts = sent.filter(([, v]) => v).map(([at]) => at);
  assert.deepEqual(starts, [0, 2000, 4000]);
});

test("stop is sent after the idle time", () => {
  const { t, sent, d } = setup();
  d.keystroke();
  t.advance(1000);
  d.keystroke();
  t.advance(2999);
  assert.deepEqual(sent, [[0, true]]);
  t.advance(1);
  assert.deepEqual(sent, [[0, true], [4000, false]]);
  t.advance(10000);
  assert.equal(sent.length, 2);
});

test("stop() sends false once; reset() forgets without sending", () => {
  const { t, sent, d } = setup();
  d.keystroke();
  d.stop();
  d.stop();
  assert.deepEqual(sent, [[0, true], [0, false]]);
  d.keystroke();
  d.reset();
  t.advance(5000);
  assert.deepEqual(sent, [[0, true], [0, false], [0, true]]);
  d.keystroke(); // after a reset the next keystroke announces again at once
  assert.deepEqual(sent.at(-1), [5000, true]);
});

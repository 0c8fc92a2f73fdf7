import { test } from "node:test";
import assert from "node:assert/strict";
import { Sequencer } from "../../lib/sequencer.js";

const m = (seq) => ({ seq, id: `m${seq}` });
const seqs = (list) => list.map((x) => x.seq);

test("delivers contiguous messages in order", () => {
  const s = new Sequencer(0);
  assert.deepEqual(seqs(s.push([m(1), m(2)])), [1, 2]);
  assert.deepEqual(seqs(s.push([m(3)])), [3]);
  assert.equal(s.lastSeq, 3);
});

test("drops duplicates (already delivered or already held)", () => {
  const s = new Sequencer(5);
  assert.deepEqual(seqs(s.push([m(4), m(5), m(6), m(6)])), [6]);
  assert.deepEqual(seqs(s.push([m(6)])), []);
  s.push([m(9)]);
  assert.deepEqual(seqs(s.push([m(9)])), []);
});

test("holds messages behind a gap until it is filled, then releases in order", () => {
  const s = new Sequencer(10);
  assert.deepEqual(seqs(s.push([m(13)])), []);
  assert.equal(s.hasGap, true);
  assert.deepEqual(seqs(s.push([m(12), m(11)])), [11, 12, 13]);
  assert.equal(s.hasGap, false);
});

test("a rejoin's missed list overlapping live events gives no duplicates", () => {
  const s = new Sequencer(0);
  s.push([m(1), m(2)]);
  // Live event 4 arrives during a catch-up page that covers 3..4.
  assert.deepEqual(seqs(s.push([m(4)])), []);
  assert.deepEqual(seqs(s.push([m(3), m(4)])), [3, 4]);
});

test("skipGap delivers what is held when the gap can't be filled", () => {
  const s = new Sequencer(1);
  s.push([m(4), m(5)]);
  assert.deepEqual(seqs(s.skipGap()), [4, 5]);
  assert.equal(s.lastSeq, 5);
  assert.deepEqual(s.skipGap(), []);
});

test("reset starts after a new seq and forgets held messages", () => {
  const s = new Sequencer(0);
  s.push([m(3)]);
  s.reset(10);
  assert.equal(s.hasGap, false);
  assert.deepEqual(seqs(s.push([m(11)])), [11]);
});

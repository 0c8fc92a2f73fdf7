import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, backoffDelay, DEFAULT_BACKOFF } from "../../lib/backoff.js";

const noJitter = { jitter: 0 };

test("delay grows by the factor from the initial delay", () => {
  const o = { initialDelayMs: 100, factor: 2, maxDelayMs: 1e9, ...noJitter };
  assert.deepEqual([0, 1, 2, 3, 4].map((a) => backoffDelay(a, o)), [100, 200, 400, 800, 1600]);
  assert.equal(backoffDelay(2, { initialDelayMs: 100, factor: 3, maxDelayMs: 1e9, jitter: 0 }), 900);
});

test("delay is capped at maxDelayMs, even for huge attempt numbers", () => {
  const o = { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, ...noJitter };
  assert.equal(backoffDelay(3, o), 800);
  assert.equal(backoffDelay(4, o), 1000);
  assert.equal(backoffDelay(50, o), 1000);
  assert.equal(backoffDelay(5000, o), 1000); // 2^5000 is Infinity
});

test("jitter stays within [capped * (1 - jitter), capped]", () => {
  const o = { initialDelayMs: 1000, factor: 2, maxDelayMs: 8000, jitter: 0.5 };
  assert.equal(backoffDelay(0, o, () => 0), 1000); // no reduction
  assert.equal(backoffDelay(0, o, () => 0.999999), 500); // nearly the full reduction
  assert.equal(backoffDelay(0, o, () => 0.5), 750);
  for (let attempt = 0; attempt < 12; attempt++) {
    const capped = Math.min(8000, 1000 * 2 ** attempt);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(attempt, o);
      assert.ok(d >= capped * 0.5 && d <= capped, `attempt ${attempt}: ${d} outside [${capped / 2}, ${capped}]`);
    }
  }
});

test("full jitter may go down to zero; out-of-range jitter is clamped", () => {
  assert.equal(backoffDelay(0, { initialDelayMs: 1000, jitter: 1 }, () => 0.999999), 0);
  assert.equal(backoffDelay(0, { initialDelayMs: 1000, jitter: 5 }, () => 0.5), 500);
  assert.equal(backoffDelay(0, { initialDelayMs: 1000, jitter: -1 }, () => 0.5), 1000);
});

test("jitter spreads clients: many draws are not all equal", () => {
  const draws = new Set(Array.from({ length: 50 }, () => backoffDelay(3, { initialDelayMs: 1000 })));
  assert.ok(draws.size > 10);
});

test("defaults: 500 ms initial, 30 s cap, factor 2, half jitter, unlimited attempts", () => {
  assert.equal(DEFAULT_BACKOFF.initialDelayMs, 500);
  assert.equal(DEFAULT_BACKOFF.maxDelayMs, 30000);
  assert.equal(DEFAULT_BACKOFF.maxAttempts, Infinity);
  assert.equal(backoffDelay(0, {}, () => 0), 500);
  assert.equal(backoffDelay(20, {}, () => 0), 30000);
});

test("Backoff hands out growing delays and stops after maxAttempts", () => {
  const b = new Backoff({ initialDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: 0, maxAttempts: 3 });
  assert.equal(b.exhausted, false);
  assert.equal(b.next(), 10);
  assert.equal(b.next(), 20);
  assert.equal(b.next(), 40);
  assert.equal(b.attempt, 3);
  assert.equal(b.exhausted, true);
  assert.equal(b.next(), null);
  assert.equal(b.next(), null);
});

test("Backoff.reset starts over from the initial delay", () => {
  const b = new Backoff({ initialDelayMs: 10, jitter: 0, maxAttempts: 2 });
  b.next();
  b.next();
  assert.equal(b.next(), null);
  b.reset();
  assert.equal(b.attempt, 0);
  assert.equal(b.next(), 10);
});

test("maxAttempts 0 gives no attempt at all", () => {
  assert.equal(new Backoff({ maxAttempts: 0 }).next(), null);
});

test("Backoff uses the injected random source", () => {
  const b = new Backoff({ initialDelayMs: 1000, jitter: 0.5 }, () => 0.5);
  assert.equal(b.next(), 750);
  assert.equal(b.next(), 1500);
});

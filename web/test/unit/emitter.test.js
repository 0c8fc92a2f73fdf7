import { test } from "node:test";
import assert from "node:assert/strict";
import { Emitter } from "../../lib/emitter.js";
import { EarshotError } from "../../lib/errors.js";
import { PendingRequests } from "../../lib/requests.js";

test("on / off / once / wildcard", () => {
  const e = new Emitter();
  const got = [];
  const a = (x) => got.push(["a", x]);
  const off = e.on("x", a);
  e.once("x", (x) => got.push(["once", x]));
  e.on("*", (name, x) => got.push(["*", name, x]));
  e.emit("x", 1);
  e.emit("x", 2);
  off();
  e.emit("x", 3);
  e.emit("y", 4);
  assert.deepEqual(got, [
    ["a", 1], ["once", 1], ["*", "x", 1],
    ["a", 2], ["*", "x", 2],
    ["*", "x", 3],
    ["*", "y", 4],
  ]);
});

test("off removes a once listener by the original function", () => {
  const e = new Emitter();
  let n = 0;
  const f = () => n++;
  e.once("x", f);
  e.off("x", f);
  e.emit("x");
  assert.equal(n, 0);
  assert.equal(e.listenerCount(), 0);
});

test("a throwing listener does not stop the others", () => {
  const e = new Emitter();
  const saved = globalThis.reportError;
  const reported = [];
  globalThis.reportError = (err) => reported.push(err);
  try {
    let n = 0;
    e.on("x", () => {
      throw new Error("boom");
    });
    e.on("x", () => n++);
    e.emit("x");
    assert.equal(n, 1);
    assert.equal(reported.length, 1);
  } finally {
    globalThis.reportError = saved;
  }
});

test("EarshotError from a server error frame", () => {
  const err = EarshotError.fromFrame({ type: "error", code: "RATE_LIMITED", message: "slow down", request_id: "4", retry_after_ms: 180 });
  assert.ok(err instanceof Error);
  assert.ok(err instanceof EarshotError);
  assert.equal(err.code, "RATE_LIMITED");
  assert.equal(err.message, "slow down");
  assert.equal(err.requestId, "4");
  assert.equal(err.retryAfterMs, 180);
  assert.equal(err.retryable, true);
  assert.equal(new EarshotError("ACCESS_DENIED").retryable, false);
});

test("PendingRequests correlates replies by request_id and times out", async () => {
  const p = new PendingRequests({ timeoutMs: 20 });
  const a = p.create("list_rooms");
  const b = p.create("get_messages");
  assert.notEqual(a.requestId, b.requestId);
  assert.equal(p.resolve(b.requestId, { type: "messages" }), true);
  assert.equal(p.resolve(b.requestId, { type: "messages" }), false);
  assert.deepEqual(await b.promise, { type: "messages" });
  await assert.rejects(a.promise, (err) => err instanceof EarshotError && err.code === "TIMEOUT");
  const c = p.create("mark_read");
  p.rejectAll(() => new EarshotError("DISCONNECTED"));
  await assert.rejects(c.promise, { code: "DISCONNECTED" });
  assert.equal(p.size, 0);
});

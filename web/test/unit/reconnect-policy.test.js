// How fast the SDK comes back and how it names what went wrong: while the
// page is visible the wait between attempts stays short whatever the number
// of failures (a hidden tab backs off further), and a token that cannot be
// fetched because the network failed is a NETWORK error, not UNAUTHENTICATED.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EarshotClient, EarshotError } from "../../earshot.js";
import { tokenError } from "../../lib/socket.js";
import { FakeServer } from "../helpers/fake-server.js";

/** A window whose document is visible or hidden, with listeners recorded. */
function fakeWindow(visibilityState) {
  const listeners = {};
  const add = (name, fn) => ((listeners[name] ??= []).push(fn));
  const remove = (name, fn) => (listeners[name] = (listeners[name] ?? []).filter((f) => f !== fn));
  return {
    addEventListener: add,
    removeEventListener: remove,
    document: { visibilityState, addEventListener: add, removeEventListener: remove },
    fire: (name) => (listeners[name] ?? []).forEach((f) => f()),
  };
}

async function delaysWhileDown(visibilityState) {
  const server = new FakeServer();
  server.up = false;
  const client = new EarshotClient({
    url: "ws://fake/ws",
    WebSocket: server.WebSocket,
    window: fakeWindow(visibilityState),
    // Real growth (x2 from 20 ms), a low visible cap to keep the test short.
    backoff: { initialDelayMs: 20, maxDelayMs: 5000, jitter: 0.5, visibleMaxDelayMs: 60 },
    requestTimeoutMs: 500,
  });
  const delays = [];
  client.on("reconnecting", ({ delay }) => delays.push(delay));
  client.connect("t:1").catch(() => {});
  const deadline = Date.now() + 3000;
  while (delays.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  client.disconnect();
  return delays;
}

test("while the page is visible the wait between attempts stays under visibleMaxDelayMs", async () => {
  const delays = await delaysWhileDown("visible");
  assert.ok(delays.length >= 6, `${delays}`);
  assert.ok(delays.every((d) => d <= 60), `capped: ${delays}`);
  // Past the first few attempts the cap, jittered by at most half, is the wait.
  assert.ok(delays.slice(3).every((d) => d >= 30), `jittered at most by half: ${delays}`);
});

test("a hidden tab backs off exponentially", async () => {
  const delays = await delaysWhileDown("hidden");
  assert.ok(delays.length >= 4, `${delays}`);
  assert.ok(delays.at(-1) > 60, `grows past the visible cap: ${delays}`);
});

test("a token the network could not fetch is a NETWORK error; a refusal keeps its code", () => {
  assert.equal(tokenError(new TypeError("Failed to fetch")).code, "NETWORK");
  assert.equal(tokenError(new EarshotError("NETWORK", "POST /api/dev/token failed")).code, "NETWORK");
  assert.equal(tokenError(new EarshotError("UNAUTHENTICATED", "dev mode is off")).code, "UNAUTHENTICATED");
  assert.equal(tokenError(new EarshotError("RATE_LIMITED", "slow down")).code, "RATE_LIMITED");
  assert.equal(tokenError(new Error("the token provider returned no token")).code, "UNAUTHENTICATED");
  assert.match(tokenError(new TypeError("Failed to fetch")).message, /cannot reach the server/);
});

test("a provider failing on the network is reported as NETWORK and retried", async (t) => {
  const server = new FakeServer();
  const client = new EarshotClient({ url: "ws://fake/ws", WebSocket: server.WebSocket, window: null, backoff: { initialDelayMs: 10, maxDelayMs: 20 } });
  t.after(() => client.disconnect());
  const errors = [];
  client.on("error", (e) => errors.push(e.code));
  let calls = 0;
  await client.connect(async () => {
    calls += 1;
    if (calls === 1) throw new TypeError("Failed to fetch");
    return "t:1";
  });
  assert.equal(client.state, "connected");
  assert.deepEqual(errors, ["NETWORK"]);
});

// Token refresh on the open socket: before the token expires the SDK asks its
// token provider again and sends `authenticate` on the same socket, so the
// server never closes it with 4001 and the app sees no reconnect.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EarshotClient } from "../../earshot.js";
import { FakeServer } from "../helpers/fake-server.js";

async function waitFor(pred, what = "condition", timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function makeClient(server) {
  const client = new EarshotClient({
    url: "ws://fake/ws",
    WebSocket: server.WebSocket,
    window: null,
    backoff: { initialDelayMs: 10, maxDelayMs: 40, jitter: 0.5 },
    heartbeatIntervalMs: 10000,
    heartbeatTimeoutMs: 5000,
    requestTimeoutMs: 2000,
  });
  const log = { states: [], errors: [] };
  client.on("state", (s) => log.states.push(s));
  client.on("error", (e) => log.errors.push(e));
  return { client, log };
}

test("a token provider is asked again before expiry and the socket stays open", async (t) => {
  const server = new FakeServer({ tokenLifetimeMs: 300 });
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  let calls = 0;
  const refreshed = [];
  client.on("token_refreshed", (f) => refreshed.push(f.token_expires_at));
  await client.connect(async () => `amira:t${++calls}`);
  // Three token lifetimes: without refreshes the socket would have been closed twice.
  await waitFor(() => server.framesOfType("authenticate").length >= 4, "three refreshes");
  // The third refresh's answer may still be on its way when its request is seen.
  await waitFor(() => refreshed.length >= 3, "three token_refreshed events");
  const auths = server.framesOfType("authenticate");
  assert.deepEqual(auths.slice(0, 4).map((f) => f.token), ["amira:t1", "amira:t2", "amira:t3", "amira:t4"]);
  assert.ok(auths.slice(1).every((f) => typeof f.request_id === "string"), "refreshes carry a request_id");
  assert.equal(server.connections, 1, "no reconnect");
  assert.equal(client.state, "connected");
  assert.deepEqual(log.states, ["connecting", "connected"]);
  assert.deepEqual(log.errors, []);
  assert.ok(refreshed.length >= 3 && refreshed.every((t) => typeof t === "number"), "token_refreshed events");
  await client.joinRoom("visa-1");
});

test("a refused refresh is reported, and the 4001 close at expiry leads to a reconnect with a fresh token", async (t) => {
  const server = new FakeServer({ tokenLifetimeMs: 300 });
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  let calls = 0;
  // The second token is for someone else: the server refuses the refresh.
  await client.connect(async () => (++calls === 2 ? "omar:t" : `amira:t${calls}`));
  await waitFor(() => log.errors.length === 1, "the refused refresh");
  assert.equal(log.errors[0].code, "UNAUTHENTICATED");
  assert.match(log.errors[0].message, /refresh refused/);
  await waitFor(() => server.connections === 2 && client.state === "connected", "reconnected after 4001");
  assert.ok(log.states.includes("reconnecting"));
  assert.equal(server.framesOfType("authenticate")[2].token, "amira:t3", "the reconnect asked the provider again");
});

test("a fixed token is not refreshed (nothing fresh to send)", async (t) => {
  const server = new FakeServer({ tokenLifetimeMs: 200 });
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect("amira:fixed");
  await waitFor(() => server.connections === 2, "closed at expiry and reconnected");
  assert.ok(server.framesOfType("authenticate").every((f) => f.request_id === undefined), "only first-message authentication");
});

test("no token_expires_at in welcome: no refresh", async (t) => {
  const server = new FakeServer();
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect(async () => "amira:t");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.framesOfType("authenticate").length, 1);
});

test("a provider that hands back the same token is not asked again and again", async (t) => {
  const server = new FakeServer({ tokenLifetimeMs: 1000 });
  // The fake server gives every refresh a new expiry; pin it to the first one.
  const first = Date.now() + 1000;
  const handle = server.handle.bind(server);
  server.handle = (sock, f) => {
    if (sock.user && f.type === "authenticate") {
      server.received.push(f);
      return sock.push({ type: "token_refreshed", request_id: f.request_id, token_expires_at: first });
    }
    return handle(sock, f);
  };
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect(async () => "amira:same");
  await waitFor(() => server.connections === 2, "closed at expiry and reconnected");
  const refreshes = server.framesOfType("authenticate").filter((f) => f.request_id !== undefined);
  assert.equal(refreshes.length, 1, "one refresh: the same expiry came back, so no more");
});

test("a token valid for longer than a timer can wait does not refresh at once", async (t) => {
  const server = new FakeServer();
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  const realPush = server.WebSocket.prototype.push;
  server.WebSocket.prototype.push = function (frame) {
    // 30 days, beyond setTimeout's 24.8-day limit.
    if (frame.type === "welcome") frame = { ...frame, token_expires_at: Date.now() + 30 * 86400 * 1000 };
    return realPush.call(this, frame);
  };
  t.after(() => (server.WebSocket.prototype.push = realPush));
  await client.connect(async () => "amira:t");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.framesOfType("authenticate").length, 1, "no refresh yet");
});

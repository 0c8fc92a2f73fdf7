// EarshotClient against an in-memory fake server (test/helpers/fake-server.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EarshotClient, EarshotError } from "../../earshot.js";
import { FakeServer } from "../helpers/fake-server.js";

async function waitFor(pred, what = "condition", timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function makeClient(server, options = {}) {
  const client = new EarshotClient({
    url: "ws://fake/ws",
    WebSocket: server.WebSocket,
    window: null,
    backoff: { initialDelayMs: 10, maxDelayMs: 40, jitter: 0.5 },
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 500,
    requestTimeoutMs: 2000,
    ...options,
  });
  const log = { states: [], messages: [], statuses: [], events: [] };
  client.on("state", (s) => log.states.push(s));
  client.on("message", (m, meta) => log.messages.push({ seq: m.seq, text: m.text, source: meta.source }));
  client.on("message_status", (m) => log.statuses.push([m.client_msg_id, m.status]));
  client.on("*", (name) => log.events.push(name));
  return { client, log };
}

test("connect: state goes connecting -> connected and welcome gives the user", async (t) => {
  const server = new FakeServer();
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  assert.equal(client.state, "disconnected");
  const welcome = await client.connect("amira:token");
  assert.equal(welcome.user.id, "amira");
  assert.equal(client.user.id, "amira");
  assert.equal(client.state, "connected");
  assert.deepEqual(log.states, ["connecting", "connected"]);
  assert.equal(server.framesOfType("authenticate")[0].token, "amira:token");
});

test("reconnect: provider called again, rooms re-joined with since_seq, missed messages once each", async (t) => {
  const server = new FakeServer();
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  let calls = 0;
  await client.connect(async () => `amira:t${++calls}`);
  await client.joinRoom("visa-1");
  server.inject("visa-1", "one");
  server.inject("visa-1", "two");
  await waitFor(() => log.messages.length === 2, "two live messages");

  server.crash();
  await waitFor(() => client.state === "reconnecting", "reconnecting");
  // Sent while the client is away.
  server.inject("visa-1", "three");
  server.inject("visa-1", "four");
  await waitFor(() => client.state === "connected", "reconnected");
  await waitFor(() => log.messages.length === 4, "missed messages");
  server.inject("visa-1", "five");
  await waitFor(() => log.messages.length === 5, "live after reconnect");

  assert.ok(calls >= 2, "the token provider is called on every reconnect");
  const joins = server.framesOfType("join_room");
  assert.equal(joins.length, 2);
  assert.equal(joins[0].since_seq, undefined);
  assert.equal(joins[1].since_seq, 2, "re-join passes the last seq seen");
  assert.deepEqual(log.messages.map((m) => m.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(log.messages.map((m) => m.source), ["live", "live", "missed", "missed", "live"]);
  assert.deepEqual(log.states, ["connecting", "connected", "reconnecting", "connected"]);
  assert.ok(log.events.includes("reconnecting"));
  assert.ok(log.events.includes("disconnected"));
});

test("offline queue: sent after reconnect in order, statuses sending -> sent", async (t) => {
  const server = new FakeServer();
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect("amira:t");
  await client.joinRoom("r");
  server.up = false;
  server.crash();
  await waitFor(() => client.state === "reconnecting", "reconnecting");
  const a = client.sendMessage("r", "first while offline");
  const b = client.sendMessage("r", { text: "second while offline", replyTo: "m-x" });
  assert.equal(a.status, "sending");
  assert.equal(b.status, "sending");
  assert.equal(a.local, true);
  assert.notEqual(a.client_msg_id, b.client_msg_id);
  assert.match(a.client_msg_id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(client.pendingMessages("r").map((m) => m.text), ["first while offline", "second while offline"]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.framesOfType("send_message").length, 0);
  server.up = true;
  await waitFor(() => a.status === "sent" && b.status === "sent", "both sent");
  assert.equal(a.seq, 1);
  assert.equal(b.seq, 2);
  assert.equal(a.id, "m-r-1");
  const stored = server.room("r").messages;
  assert.deepEqual(stored.map((m) => m.text), ["first while offline", "second while offline"]);
  assert.equal(stored[1].reply_to, "m-x");
  assert.deepEqual(log.statuses, [[a.client_msg_id, "sent"], [b.client_msg_id, "sent"]]);
  // The echo of our own messages arrives as ordinary messages, once each.
  await waitFor(() => log.messages.length === 2, "echoes");
  assert.equal(client.pendingMessages().length, 0);
});

test("a message stored but not acked before the drop is resent with the same id, stored once", async (t) => {
  const server = new FakeServer();
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect("amira:t");
  await client.joinRoom("r");
  server.swallowNextAck = true;
  const m = client.sendMessage("r", "only once");
  await waitFor(() => client.state === "reconnecting", "drop");
  await waitFor(() => m.status === "sent", "sent after reconnect");
  assert.equal(server.room("r").messages.length, 1, "stored exactly once");
  assert.equal(m.seq, 1);
  // The re-join's `missed` already carried it: no resend was needed.
  const sends = server.framesOfType("send_message");
  assert.ok(sends.every((f) => f.client_msg_id === m.client_msg_id));
  await waitFor(() => log.messages.length === 1, "delivered");
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(log.messages.map((x) => x.seq), [1], "no duplicate delivery");
});

test("rate limited sends are retried after retry_after_ms", async (t) => {
  const server = new FakeServer();
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect("amira:t");
  await client.joinRoom("r");
  server.rateLimitNext = 1;
  const a = client.sendMessage("r", "a");
  const b = client.sendMessage("r", "b");
  await waitFor(() => a.status === "sent" && b.status === "sent", "sent");
  assert.deepEqual(server.room("r").messages.map((m) => m.text), ["a", "b"], "order kept");
  assert.equal(server.framesOfType("send_message").filter((f) => f.client_msg_id === a.client_msg_id).length, 2);
});

test("sending to a room that is not joined fails with NOT_JOINED; retryMessage resends", async (t) => {
  const server = new FakeServer();
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect("amira:t");
  const m = client.sendMessage("nowhere", "hi");
  assert.equal(m.status, "failed");
  assert.ok(m.error instanceof EarshotError);
  assert.equal(m.error.code, "NOT_JOINED");
  await waitFor(() => log.statuses.length === 1, "status event");
  await client.joinRoom("nowhere");
  client.retryMessage(m.client_msg_id);
  await waitFor(() => m.status === "sent", "sent on retry");
});

test("heartbeat: a missing pong is a dead connection and triggers a reconnect", async (t) => {
  const server = new FakeServer();
  const { client, log } = makeClient(server, { heartbeatIntervalMs: 40, heartbeatTimeoutMs: 40 });
  t.after(() => client.disconnect());
  await client.connect("amira:t");
  await waitFor(() => server.framesOfType("ping").length >= 1, "a ping");
  server.answerPings = false;
  await waitFor(() => log.states.includes("reconnecting"), "dead connection detected", 2000);
  server.answerPings = true;
  await waitFor(() => client.state === "connected", "reconnected");
  assert.ok(server.connections >= 2);
});

test("maxAttempts: reconnect_failed, state disconnected, queued messages failed", async (t) => {
  const server = new FakeServer();
  const { client, log } = makeClient(server, { maxAttempts: 3 });
  t.after(() => client.disconnect());
  let failed = null;
  client.on("reconnect_failed", (err) => (failed = err));
  await client.connect("amira:t");
  await client.joinRoom("r");
  server.up = false;
  server.crash();
  const m = client.sendMessage("r", "doomed");
  await waitFor(() => failed !== null, "reconnect_failed");
  assert.equal(client.state, "disconnected");
  assert.equal(failed.code, "DISCONNECTED");
  assert.equal(m.status, "failed");
  assert.equal(log.events.filter((e) => e === "reconnecting").length, 3);
});

test("a bad fixed token stops reconnecting (close 1008)", async (t) => {
  const server = new FakeServer();
  server.validTokens = new Set(["good:1"]);
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  const errors = [];
  client.on("error", (e) => errors.push(e.code));
  await assert.rejects(client.connect("bad:1"), { code: "UNAUTHENTICATED" });
  assert.equal(client.state, "disconnected");
  assert.deepEqual(errors, ["UNAUTHENTICATED"]);
});

test("a token provider is asked again after an auth failure", async (t) => {
  const server = new FakeServer();
  server.validTokens = new Set(["good:2"]);
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  const tokens = ["bad:1", "good:2"];
  const welcome = await client.connect(() => tokens.shift() ?? "good:2");
  assert.equal(welcome.user.id, "good");
});

test("requests reject with EarshotError carrying the server's code; timeouts too", async (t) => {
  const server = new FakeServer();
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect("amira:t");
  await assert.rejects(client.joinRoom("missing-room"), (err) => err instanceof EarshotError && err.code === "NOT_FOUND");
  await assert.rejects(client.request("no_such_type"), { code: "BAD_REQUEST" });
  await assert.rejects(client.request("never_answered", {}, { timeoutMs: 30 }), { code: "TIMEOUT" });
  const rooms = await client.listRooms();
  assert.deepEqual(rooms, []);
});

test("join with has_more pages the rest with get_messages, in order", async (t) => {
  const server = new FakeServer({ maxRecovery: 3 });
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  for (let i = 1; i <= 10; i++) server.inject("big", `m${i}`);
  await client.connect("amira:t");
  await client.joinRoom("big", { sinceSeq: 2 });
  await waitFor(() => log.messages.length === 8, "all missed messages");
  assert.deepEqual(log.messages.map((m) => m.seq), [3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(server.framesOfType("get_messages")[0].after, 5);
});

test("typing is debounced; markRead sends forward-only; readBy follows receipts", async (t) => {
  const server = new FakeServer();
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  await client.connect("amira:t");
  await client.joinRoom("r");
  for (let i = 0; i < 5; i++) client.typing("r");
  client.stopTyping("r");
  await waitFor(() => server.framesOfType("typing").length === 2, "typing frames");
  assert.deepEqual(server.framesOfType("typing").map((f) => f.is_typing), [true, false]);
  server.inject("r", "hello");
  await waitFor(() => client.roomState("r").deliveredSeq === 1, "delivered");
  assert.equal(await client.markRead("r"), true);
  assert.equal(await client.markRead("r"), false, "not sent again for the same seq");
  assert.equal(server.framesOfType("mark_read").length, 1);
  assert.equal(server.framesOfType("mark_read")[0].seq, 1);
  assert.deepEqual(client.readBy("r", 1), [], "only others count");
});

test("a wildcard listener sees every event; once fires once", async (t) => {
  const server = new FakeServer();
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  const seen = [];
  let welcomes = 0;
  client.on("*", (name) => seen.push(name));
  client.once("welcome", () => welcomes++);
  await client.connect("amira:t");
  server.crash();
  await waitFor(() => seen.filter((n) => n === "welcome").length === 2, "second welcome");
  assert.equal(welcomes, 1);
  assert.ok(seen.includes("state") && seen.includes("connected"));
});

test("ai_response is a timeline message: in seq order with the others, once", async (t) => {
  const server = new FakeServer();
  const { client, log } = makeClient(server);
  t.after(() => client.disconnect());
  const ai = [];
  client.on("ai_response", (m) => ai.push(m.text));
  await client.connect("amira:t");
  await client.joinRoom("visa");
  server.inject("visa", "How long does a visa take?");
  server.injectAi("visa", "Usually 5 to 10 working days.");
  server.inject("visa", "Thanks");
  await waitFor(() => log.messages.length === 3, "three messages");
  assert.deepEqual(log.messages.map((m) => [m.seq, m.text]), [[1, "How long does a visa take?"], [2, "Usually 5 to 10 working days."], [3, "Thanks"]]);
  assert.deepEqual(ai, ["Usually 5 to 10 working days."]);
  // After a reconnect the assistant's message is part of what was missed, not repeated.
  server.crash();
  await waitFor(() => client.state === "reconnecting", "reconnecting");
  server.injectAi("visa", "Anything else?");
  await waitFor(() => log.messages.length === 4, "recovered");
  assert.deepEqual(log.messages.map((m) => m.seq), [1, 2, 3, 4]);
  assert.equal(log.messages[3].source, "missed");
});

test("notifications and custom events become events", async (t) => {
  const server = new FakeServer();
  const { client } = makeClient(server);
  t.after(() => client.disconnect());
  const notes = [];
  const events = [];
  const named = [];
  client.on("notification", (n) => notes.push(n));
  client.on("event", (e) => events.push(e));
  client.on("event:customer_updated", (payload, e) => named.push([payload, e.room_id]));
  await client.connect("amira:t");
  const notification = { id: "n1", kind: "info", title: "Documents received", body: "We received your passport scan.", room_id: "visa-123", created_at: 1, read_at: null };
  server.pushAll({ type: "notification", notification });
  server.pushAll({ type: "event", name: "customer_updated", payload: { customer: "c-7" }, room_id: "visa-123" });
  server.pushAll({ type: "event", name: "app_ping", payload: 1 });
  await waitFor(() => events.length === 2, "events");
  assert.deepEqual(notes, [notification]);
  assert.deepEqual(events, [
    { name: "customer_updated", payload: { customer: "c-7" }, room_id: "visa-123" },
    { name: "app_ping", payload: 1 },
  ]);
  assert.deepEqual(named, [[{ customer: "c-7" }, "visa-123"]]);
  const reads = [];
  client.on("notifications_read", (r) => reads.push(r));
  server.pushAll({ type: "notifications_read", ids: ["n1"], read_at: 5 });
  server.pushAll({ type: "notifications_read", all: true, read_at: 6 });
  await waitFor(() => reads.length === 2, "notifications_read");
  assert.deepEqual(reads, [
    { ids: ["n1"], all: false, read_at: 5 },
    { ids: [], all: true, read_at: 6 },
  ]);
});

test("monitoring: the snapshot resolves, a reconnect subscribes again; a refused subscription is not retried", async (t) => {
  const server = new FakeServer();
  server.monitorCalls = [{ id: "c1", room_id: "visa-1", mode: "sfu", started_at: 1, participants: [] }];
  const { client: admin } = makeClient(server);
  const { client: amira } = makeClient(server);
  t.after(() => {
    admin.disconnect();
    amira.disconnect();
  });
  await admin.connect("admin-lina:t");
  assert.deepEqual((await admin.subscribeMonitor()).map((c) => c.id), ["c1"]);
  const snapshots = [];
  admin.on("monitor_snapshot", (f) => snapshots.push(f.calls.map((c) => c.id)));

  await amira.connect("amira:t");
  await assert.rejects(amira.subscribeMonitor(), (err) => err instanceof EarshotError && err.code === "ACCESS_DENIED");
  const errors = [];
  amira.on("error", (e) => errors.push(e.code));

  const before = server.framesOfType("monitor_subscribe").length;
  server.crash();
  await waitFor(() => admin.state === "connected" && amira.state === "connected" && server.connections === 4, "both back");
  await waitFor(() => snapshots.length === 1, "the admin's fresh snapshot");
  assert.deepEqual(snapshots, [["c1"]]);
  await new Promise((r) => setTimeout(r, 30));
  // Only the admin asked again; Amira's refused subscription stayed refused.
  assert.equal(server.framesOfType("monitor_subscribe").length - before, 1);
  assert.deepEqual(errors, []);
});

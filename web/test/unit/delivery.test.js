// Delivery acknowledgements: a device tells the server which of others'
// messages reached it with `mark_delivered`, one at once and then at most
// one per half second for whatever arrived meanwhile (a batch, not one per
// message); `deliveredToAll` follows the members' delivered and read marks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EarshotClient } from "../../earshot.js";
import { FakeServer } from "../helpers/fake-server.js";

async function waitFor(cond, what, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("others' messages are acknowledged in batches; own messages and old ones are not", async (t) => {
  const server = new FakeServer();
  const client = new EarshotClient({ url: "ws://fake/ws", WebSocket: server.WebSocket, window: null, requestTimeoutMs: 2000 });
  t.after(() => client.disconnect());
  await client.connect("amira:token");
  await client.joinRoom("r");
  const got = [];
  client.on("message", (m) => got.push(m.seq));
  for (let i = 1; i <= 20; i++) server.inject("r", `m${i}`);
  await waitFor(() => got.length === 20, "20 messages");
  await waitFor(() => server.framesOfType("mark_delivered").some((f) => f.seq === 20), "the batch's ack", 2000);
  const acks = server.framesOfType("mark_delivered").map((f) => f.seq);
  assert.ok(acks.length <= 3, `batched, not one per message: ${acks}`);
  assert.deepEqual([...acks].sort((a, b) => a - b), acks, "moving forward");
  // Her own message is not acknowledged as delivered to her.
  server.inject("r", "mine", { id: "amira", name: "Amira" });
  await waitFor(() => got.length === 21, "her message");
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(server.framesOfType("mark_delivered").at(-1).seq, 20);
});

test("delivered to all: every other member has it on a device, or has read it", async (t) => {
  const server = new FakeServer();
  const client = new EarshotClient({ url: "ws://fake/ws", WebSocket: server.WebSocket, window: null });
  t.after(() => client.disconnect());
  await client.connect("amira:token");
  await client.joinRoom("r");
  const book = client.book;
  const r = book.rooms.get("r");
  r.members.set("amira", { user: { id: "amira" }, last_read_seq: 0, delivered_seq: 0 });
  r.members.set("omar", { user: { id: "omar" }, last_read_seq: 0, delivered_seq: 0 });
  r.members.set("lina", { user: { id: "lina" }, last_read_seq: 0, delivered_seq: 0 });
  assert.equal(client.deliveredToAll("r", 3), false);
  book.onDeliveryReceipt({ room_id: "r", user_id: "omar", seq: 5 });
  assert.equal(client.deliveredToAll("r", 3), false, "Lina has not got it");
  book.onReadReceipt({ room_id: "r", user_id: "lina", seq: 3 });
  assert.equal(client.deliveredToAll("r", 3), true, "read counts as delivered");
  assert.equal(client.deliveredToAll("r", 4), false);
});

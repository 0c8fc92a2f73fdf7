import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbox } from "../../lib/outbox.js";

function clock(t = 1000) {
  const c = () => c.t;
  c.t = t;
  return c;
}

function add(box, roomId, id, text = id) {
  const message = { client_msg_id: id, room_id: roomId, text, status: undefined };
  const frame = { type: "send_message", room_id: roomId, client_msg_id: id, text };
  return box.enqueue(roomId, frame, message);
}

const all = () => true;

test("enqueue marks the local message sending and keeps queue order", () => {
  const box = new Outbox();
  const a = add(box, "r1", "a");
  add(box, "r2", "b");
  add(box, "r1", "c");
  assert.equal(a.message.status, "sending");
  assert.equal(a.state, "queued");
  assert.deepEqual(box.pending().map((e) => e.clientMsgId), ["a", "b", "c"]);
  assert.deepEqual(box.pending("r1").map((e) => e.clientMsgId), ["a", "c"]);
  assert.equal(box.size, 3);
});

test("take sends one message per room at a time, oldest first", () => {
  const box = new Outbox();
  add(box, "r1", "a");
  add(box, "r1", "b");
  add(box, "r2", "c");
  assert.deepEqual(box.take(all).map((e) => e.clientMsgId), ["a", "c"]);
  assert.deepEqual(box.take(all), []); // both rooms have one in flight
  box.ack("a", { message_id: "m-a", seq: 1 });
  assert.deepEqual(box.take(all).map((e) => e.clientMsgId), ["b"]);
});

test("maxInFlightPerRoom allows pipelining", () => {
  const box = new Outbox({ maxInFlightPerRoom: 3 });
  for (const id of ["a", "b", "c", "d"]) add(box, "r", id);
  assert.deepEqual(box.take(all).map((e) => e.clientMsgId), ["a", "b", "c"]);
});

test("rooms that are not ready hold their messages; others go", () => {
  const box = new Outbox();
  add(box, "offline-room", "a");
  add(box, "r2", "b");
  assert.deepEqual(box.take((room) => room !== "offline-room").map((e) => e.clientMsgId), ["b"]);
  assert.equal(box.get("a").state, "queued");
  assert.equal(box.get("a").message.status, "sending");
});

test("ack: status sending -> sent with the server's id, seq and time", () => {
  const box = new Outbox();
  const e = add(box, "r", "a");
  box.take(all);
  assert.equal(e.state, "inflight");
  assert.equal(e.message.status, "sending");
  const acked = box.ack("a", { message_id: "m1", seq: 7, created_at: 123, client_msg_id: "a" });
  assert.equal(acked, e);
  assert.equal(e.state, "sent");
  assert.equal(e.message.status, "sent");
  assert.equal(e.message.id, "m1");
  assert.equal(e.message.seq, 7);
  assert.equal(e.message.created_at, 123);
  assert.equal(box.size, 0);
  assert.equal(box.ack("a", { seq: 7 }), undefined, "a second ack (the echo) changes nothing");
});

test("fail: status sending -> failed with the error; retry keeps the client id", () => {
  const box = new Outbox();
  const e = add(box, "r", "a");
  box.take(all);
  const err = new Error("too large");
  box.fail("a", err);
  assert.equal(e.message.status, "failed");
  assert.equal(e.message.error, err);
  assert.equal(box.size, 0);
  assert.equal(box.get("a"), e, "failed entries stay available for retry");
  const again = box.retry("a");
  assert.equal(again, e);
  assert.equal(again.clientMsgId, "a");
  assert.equal(again.frame.client_msg_id, "a", "the resend uses the same idempotency key");
  assert.equal(e.message.status, "sending");
  assert.equal(e.message.error, undefined);
  assert.deepEqual(box.take(all).map((x) => x.clientMsgId), ["a"]);
});

test("a failed message can still be acked (it was stored after all)", () => {
  const box = new Outbox();
  const e = add(box, "r", "a");
  box.take(all);
  box.fail("a", new Error("gave up"));
  box.ack("a", { message_id: "m1", seq: 3 });
  assert.equal(e.message.status, "sent");
  assert.equal(box.get("a"), undefined);
});

test("enqueue is idempotent per client message id", () => {
  const box = new Outbox();
  const a1 = add(box, "r", "a");
  const a2 = add(box, "r", "a");
  assert.equal(a1, a2);
  assert.equal(box.size, 1);
});

test("disconnect: in-flight entries go back to the queue, resent after reconnect in order", () => {
  const box = new Outbox();
  add(box, "r", "a");
  add(box, "r", "b");
  const first = box.take(all);
  assert.deepEqual(first.map((e) => e.clientMsgId), ["a"]);
  // The connection drops before the ack.
  const moved = box.requeueInFlight();
  assert.deepEqual(moved.map((e) => e.clientMsgId), ["a"]);
  assert.equal(box.get("a").message.status, "sending");
  assert.deepEqual(box.take(() => false), [], "nothing goes out while offline");
  // Reconnected and joined: the same entry (same client id) goes out again, first.
  const resend = box.take(all);
  assert.deepEqual(resend.map((e) => e.clientMsgId), ["a"]);
  assert.equal(resend[0].attempts, 2);
  box.ack("a", { message_id: "m1", seq: 1, duplicate: true });
  assert.deepEqual(box.take(all).map((e) => e.clientMsgId), ["b"]);
});

test("defer (rate limited) waits, and blocks later messages of the room", () => {
  const now = clock();
  const box = new Outbox({ now });
  add(box, "r", "a");
  add(box, "r", "b");
  add(box, "other", "c");
  box.take(all); // a and c
  box.ack("c", { seq: 1 });
  box.defer("a", 500);
  assert.equal(box.nextDueAt(), 1500);
  assert.deepEqual(box.take(all), [], "b may not overtake a");
  now.t = 1499;
  assert.deepEqual(box.take(all), []);
  now.t = 1500;
  assert.deepEqual(box.take(all).map((e) => e.clientMsgId), ["a"]);
  assert.equal(box.nextDueAt(), null);
});

test("defer fails the entry once maxAttempts are used", () => {
  const box = new Outbox({ maxAttempts: 2 });
  const e = add(box, "r", "a");
  box.take(all);
  box.defer("a", 0);
  box.take(all);
  const err = new Error("still unavailable");
  box.defer("a", 0, err);
  assert.equal(e.message.status, "failed");
  assert.equal(e.message.error, err);
});

test("failAll fails everything, or one room's messages", () => {
  const box = new Outbox();
  add(box, "r1", "a");
  add(box, "r2", "b");
  add(box, "r1", "c");
  box.take(all);
  const err = new Error("removed from room");
  assert.deepEqual(box.failAll(err, "r1").map((e) => e.clientMsgId), ["a", "c"]);
  assert.deepEqual(box.pending().map((e) => e.clientMsgId), ["b"]);
  assert.deepEqual(box.failAll(err).map((e) => e.clientMsgId), ["b"]);
  assert.equal(box.size, 0);
});

test("enqueue requires a client message id", () => {
  const box = new Outbox();
  assert.throws(() => box.enqueue("r", { type: "send_message" }, {}), TypeError);
});

test("an entry that falls due between take and nextDueAt still gets its timer", () => {
  const now = clock();
  const box = new Outbox({ now });
  add(box, "r", "a");
  box.take(all);
  box.defer("a", 30); // due at 1030
  now.t = 1029; // a timer fired a millisecond early
  const at = now();
  assert.deepEqual(box.take(all, at), [], "not due yet");
  now.t = 1030; // the clock ticks before the next timer is set
  assert.equal(box.nextDueAt(at), 1030, "still waiting for a timer");
  assert.equal(box.nextDueAt(), null, "judged by the new time it is due, not deferred");
});

// The SDK's live room list: a listing, then the server's pushes (a room
// added, renamed, removed, a message in a room not joined) and the joined
// rooms' messages keep it current and ordered, with unread counts that
// grow only for other people's messages and clear when read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveRoomList } from "../../lib/roomlist.js";

const room = (id, title, created_at = 1) => ({ id, title, type: "support", created_by: "x", created_at });
const summary = (id, title, extra = {}) => ({ room: room(id, title), unread: 0, last_seq: 0, online: [], ...extra });

test("pushes and messages keep the list current and ordered", () => {
  const l = new LiveRoomList();
  l.load([summary("a", "Visa A", { last_message: { seq: 1, sender_id: "omar", text: "hi", created_at: 10 }, last_seq: 1 }), summary("b", "Visa B")]);
  assert.deepEqual(l.list().map((s) => s.room.id), ["a", "b"]);

  assert.ok(l.apply({ type: "room_added", room: summary("c", "New case", { last_seq: 2, unread: 2 }) }, "amira"));
  assert.ok(l.apply({ type: "room_activity", room_id: "b", last_seq: 4, message: { seq: 4, sender_id: "omar", text: "docs?", created_at: 20 } }, "amira"));
  assert.deepEqual(l.list().map((s) => s.room.id), ["b", "a", "c"], "the newest activity first");
  assert.equal(l.rooms.get("b").unread, 1);
  assert.equal(l.rooms.get("b").last_message.text, "docs?");
  // Her own message moves the room but adds nothing unread; an old one changes nothing.
  assert.ok(l.noteMessage({ room_id: "a", seq: 2, sender: { id: "amira" }, text: "thanks", created_at: 30 }, "amira"));
  assert.equal(l.rooms.get("a").unread, 0);
  assert.equal(l.noteMessage({ room_id: "a", seq: 1, sender: { id: "omar" }, text: "hi", created_at: 10 }, "amira"), false);
  assert.deepEqual(l.list().map((s) => s.room.id), ["a", "b", "c"]);

  assert.ok(l.apply({ type: "room_updated", room: room("c", "New case · renamed") }, "amira"));
  assert.equal(l.rooms.get("c").room.title, "New case · renamed");
  assert.ok(l.read("b"));
  assert.equal(l.rooms.get("b").unread, 0);
  assert.equal(l.read("b"), false, "nothing left to clear");
  assert.ok(l.apply({ type: "room_removed", room_id: "c" }, "amira"));
  assert.deepEqual(l.list().map((s) => s.room.id), ["a", "b"]);
  assert.equal(l.apply({ type: "room_activity", room_id: "zz", last_seq: 1, message: { seq: 1, sender_id: "x" } }, "amira"), false, "unknown rooms are ignored");
});

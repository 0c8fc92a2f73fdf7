// How a Call reacts to being removed by the server: a `call_left` it did not
// ask for, saying its media failed, makes it join again; a reply to its own
// leave_call, or one while it is already rejoining, does not; `replaced`
// (another connection took its place) ends it here. A rejoin names the
// participant it replaces. A moderator's mute and unmute are announced to
// the participant when they change what the others hear.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Call } from "../../lib/calls/call.js";
import { CallManager } from "../../lib/calls/manager.js";

function call(state = "connected") {
  const c = new Call({}, { id: "c1", room_id: "r", mode: "sfu", participants: [] });
  c.state = state;
  c.rejoins = [];
  c._rejoin = (reason) => c.rejoins.push(reason);
  return c;
}

test("an unprompted media_failed call_left makes the call join again", () => {
  const c = call();
  c._onFrame({ type: "call_left", call_id: "c1", reason: "media_failed" });
  assert.deepEqual(c.rejoins, ["media failed"]);
});

test("our own leave's reply, other reasons, or a rejoin under way change nothing", () => {
  const c = call();
  c._onFrame({ type: "call_left", call_id: "c1", request_id: "r1" });
  c._onFrame({ type: "call_left", call_id: "c1", reason: "something_else" });
  assert.deepEqual(c.rejoins, []);
  const busy = call("reconnecting");
  busy._onFrame({ type: "call_left", call_id: "c1", reason: "media_failed" });
  assert.deepEqual(busy.rejoins, []);
});

test("replaced: the call is left on this connection, with that reason", () => {
  const c = call();
  const left = [];
  c.on("left", (info) => left.push(info.reason));
  c._onFrame({ type: "call_left", call_id: "c1", reason: "replaced" });
  assert.equal(c.state, "left");
  assert.deepEqual(left, ["replaced"]);
  assert.deepEqual(c.rejoins, []);
});

test("a rejoin after a reconnect sends the old participant id as `replaces`", async () => {
  const sent = [];
  const client = {
    request: async (type, body) => {
      sent.push({ type, ...body });
      return { type: "call_joined", participant_id: "77", call: { id: "c1", room_id: "r", mode: "p2p", participants: [] }, ice_servers: [] };
    },
  };
  const c = new Call(client, { id: "c1", room_id: "r", mode: "p2p", participants: [] });
  c.state = "connected";
  c.participantId = "42";
  // Media set-up is not what this test is about.
  c._joined = async (f) => {
    c.participantId = String(f.participant_id);
  };
  const rejoined = new Promise((resolve) => c.on("rejoined", resolve));
  c._rejoin("reconnected");
  assert.deepEqual(await rejoined, { participant_id: "77", reason: "reconnected" });
  assert.deepEqual(sent, [{ type: "join_call", call_id: "c1", replaces: "42" }]);
});

test("the call manager routes call_left to its call", () => {
  const m = new CallManager({ emit() {} });
  assert.ok(m.handles("call_left"));
  const c = call();
  m.calls.set("c1", c);
  m.onFrame({ type: "call_left", call_id: "c1", reason: "media_failed" });
  assert.deepEqual(c.rejoins, ["media failed"]);
});

test("a moderator's mute and unmute are announced; frames that change nothing are not", () => {
  const c = call();
  c.participantId = "7";
  const heard = [];
  c.on("muted_by_moderator", (e) => heard.push(`${e.by}:${e.muted}`));
  const muted = (muted, by) => c._onFrame({ type: "participant_muted", call_id: "c1", participant_id: "7", muted, ...(by ? { by } : {}) });
  muted(true, "omar");
  // Self-unmute under the moderator's mute: still muted, no news.
  muted(true);
  muted(false, "omar");
  // Our own mute, then a moderator's mute on top of it: nothing changes for the others.
  muted(true);
  muted(true, "lina");
  // Someone else's mute is not about us.
  c._onFrame({ type: "participant_muted", call_id: "c1", participant_id: "8", muted: true, by: "omar" });
  assert.deepEqual(heard, ["omar:true", "omar:false"]);
});


test("active_calls after a reconnect ends the calls that are gone and keeps the rest", () => {
  const events = [];
  const client = { emit: (name, payload) => events.push([name, payload]) };
  const m = new CallManager(client);
  m.onFrame({ type: "call_started", call: { id: "old", room_id: "r1", state: "ringing", invitees: [] } });
  m.onFrame({ type: "call_started", call: { id: "live", room_id: "r2", state: "ringing", invitees: [] } });
  const inOld = call();
  inOld.id = "old";
  m.calls.set("old", inOld);
  events.length = 0;
  const live = { id: "live", room_id: "r2", state: "active", invitees: [] };
  m.onFrame({ type: "active_calls", calls: [live] });
  assert.equal(m.active.has("r1"), false, "the ghost call is gone");
  assert.deepEqual(m.active.get("r2"), live);
  assert.equal(inOld.state, "ended");
  const ended = events.filter(([n]) => n === "call_ended").map(([, f]) => [f.call_id, f.reason]);
  assert.deepEqual(ended, [["old", "gone"]]);
  assert.deepEqual(events.at(-1), ["active_calls", [live]]);
});

test("call_updated replaces what the manager knows of the room's call", () => {
  const events = [];
  const m = new CallManager({ emit: (name, payload) => events.push([name, payload]) });
  const info = { id: "c", room_id: "r", state: "active", answered_at: 5, invitees: [{ user_id: "omar", state: "accepted", at: 5 }] };
  m.onFrame({ type: "call_updated", call: info });
  assert.deepEqual(m.active.get("r"), info);
  assert.deepEqual(events, [["call_updated", info]]);
});

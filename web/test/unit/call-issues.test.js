// Live call issues: the set a Call keeps (keyed by issue, participant and
// sender; a cleared frame ends only its own issue), their order of
// importance, what the dock says for each (ui/issue-text.js) and how the
// monitor words them (monitor/format.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { IssueSet, issueKey, sortIssues, ISSUE_KINDS } from "../../lib/calls/issues.js";
import { Call } from "../../lib/calls/call.js";
import { issueText } from "../../ui/issue-text.js";
import { issueSentence, issueTag, ISSUE_FILTERS } from "../../monitor/format.js";

const raise = (issue, pid, extra = {}) => ({ type: "call_issue", call_id: "c1", participant_id: pid, user_id: `u${pid}`, issue, since: 1000, ...extra });
const clear = (f) => ({ ...f, type: "call_issue_cleared", duration_ms: 5000 });

test("issues are keyed by kind, participant and sender; a cleared frame ends only its own", () => {
  const set = new IssueSet();
  const fromA = raise("one_way_audio", "1", { from_participant_id: "2", from_user_id: "amira" });
  const fromB = raise("one_way_audio", "1", { from_participant_id: "3", from_user_id: "bo" });
  const silent = raise("no_audio_received", "1");
  assert.equal(issueKey(fromA), "one_way_audio|1|2");
  assert.equal(issueKey(silent), "no_audio_received|1|");
  assert.deepEqual(set.apply(fromA), { raised: true, key: "one_way_audio|1|2", issue: { call_id: "c1", participant_id: "1", user_id: "u1", issue: "one_way_audio", since: 1000, from_participant_id: "2", from_user_id: "amira" } });
  assert.equal(set.apply(fromB).raised, true);
  assert.equal(set.apply(silent).raised, true);
  assert.equal(set.apply(fromA), null, "raised again: no change");
  assert.equal(set.size, 3);
  const cleared = set.apply(clear(fromA));
  assert.equal(cleared.raised, false);
  assert.equal(cleared.issue.duration_ms, 5000);
  assert.deepEqual(set.list("1").map(issueKey), ["no_audio_received|1|", "one_way_audio|1|3"]);
  assert.equal(set.apply(clear(fromA)), null, "cleared twice: no change");
  assert.equal(set.apply({ type: "call_issue" }), null);
  // Someone leaving takes the issues about them along.
  assert.deepEqual(set.forget("3").map(issueKey), ["one_way_audio|1|3"]);
  assert.deepEqual(set.clear().map(issueKey), ["no_audio_received|1|"]);
  assert.equal(set.size, 0);
});

test("the most important issue comes first: audio lost, reconnecting, muted, microphone, hearing, being heard", () => {
  const list = [
    raise("one_way_audio", "9", { from_participant_id: "1", since: 1 }),
    raise("one_way_audio", "1", { from_participant_id: "9", since: 2 }),
    raise("no_audio_received", "1"),
    raise("no_audio_sent", "1"),
    raise("talking_while_muted", "1"),
    raise("reconnecting", "1"),
    raise("media_failed", "1"),
    raise("something_new", "1"),
  ];
  const order = sortIssues(list.reverse(), "1").map((i) => `${i.issue}${i.issue === "one_way_audio" ? `<-${i.from_participant_id}` : ""}`);
  assert.deepEqual(order, ["media_failed", "reconnecting", "talking_while_muted", "no_audio_sent", "no_audio_received", "one_way_audio<-9", "one_way_audio<-1", "something_new"]);
  assert.deepEqual([...ISSUE_KINDS].sort(), ["media_failed", "no_audio_received", "no_audio_sent", "one_way_audio", "reconnecting", "talking_while_muted"]);
  // Same kind: the oldest first.
  assert.deepEqual(sortIssues([raise("one_way_audio", "1", { from_participant_id: "3", since: 9 }), raise("one_way_audio", "1", { from_participant_id: "2", since: 5 })], "1").map((i) => i.from_participant_id), ["2", "3"]);
});

test("a Call keeps its issues from the frames, and forgets them when it rejoins, ends, or the sender leaves", () => {
  const c = new Call({ calls: { _forget() {} } }, { id: "c1", room_id: "r", mode: "sfu", participants: [] }, { mutedTalk: false });
  c.participantId = "1";
  c.state = "connected";
  const events = [];
  c.on("issue", (i) => events.push(["issue", issueKey(i)]));
  c.on("issue_cleared", (i) => events.push(["cleared", issueKey(i)]));
  const fromA = raise("one_way_audio", "1", { from_participant_id: "2" });
  c._onFrame(fromA);
  c._onFrame(raise("talking_while_muted", "1"));
  c._onFrame(fromA);
  assert.deepEqual(c.issues.map((i) => i.issue), ["talking_while_muted", "one_way_audio"]);
  c._onFrame(clear(raise("talking_while_muted", "1")));
  c._onFrame({ type: "call_participant_left", call_id: "c1", participant_id: "2", user_id: "u2" });
  assert.deepEqual(c.issues, []);
  c._onFrame(raise("no_audio_sent", "1"));
  c._finish("left", { reason: "left" });
  assert.deepEqual(events, [
    ["issue", "one_way_audio|1|2"],
    ["issue", "talking_while_muted|1|"],
    ["cleared", "talking_while_muted|1|"],
    ["cleared", "one_way_audio|1|2"],
    ["issue", "no_audio_sent|1|"],
    ["cleared", "no_audio_sent|1|"],
  ]);
});

test("the dock's words: every kind, people by their names, only issues about this device", () => {
  const names = { 1: "Amira Haddad", 2: "Omar Said" };
  const nameOf = (pid, uid) => names[pid] ?? uid;
  const say = (f, selfId = "1") => issueText(f, { selfId, nameOf });
  assert.equal(say(raise("no_audio_sent", "1")).title, "Your microphone isn't sending sound");
  assert.match(say(raise("no_audio_sent", "1")).hint, /can't hear you/);
  assert.equal(say(raise("no_audio_received", "1")).title, "You can't hear the others");
  assert.equal(say(raise("talking_while_muted", "1")).title, "You're muted");
  assert.match(say(raise("talking_while_muted", "1")).hint, /Unmute to be heard/);
  assert.equal(say(raise("reconnecting", "1")).title, "Reconnecting audio…");
  assert.equal(say(raise("media_failed", "1")).title, "Call audio was lost");
  // One-way audio: Omar (2) cannot hear Amira (1).
  const oneWay = raise("one_way_audio", "2", { user_id: "omar", from_participant_id: "1", from_user_id: "amira" });
  assert.deepEqual([say(oneWay, "1").title, say(oneWay, "1").side], ["Omar Said can't hear you", "sender"]);
  assert.deepEqual([say(oneWay, "2").title, say(oneWay, "2").side], ["You can't hear Amira Haddad", "receiver"]);
  assert.equal(say(oneWay, "3"), null, "a third person is not told");
  // Names fall back to user ids.
  assert.equal(issueText(oneWay, { selfId: "2" }).title, "You can't hear amira");
  assert.equal(say(raise("no_audio_sent", "2")), null, "someone else's issue");
  assert.equal(say(raise("brand_new", "1")), null);
  assert.equal(say(raise("no_audio_sent", "1"), null), null, "not in the call");
});

test("the monitor's words: a sentence per issue, a tag on each person's row, a filter per kind", () => {
  const nameOf = (pid, uid) => ({ 1: "Amira", 2: "Omar" })[pid] ?? uid;
  const oneWay = raise("one_way_audio", "2", { user_id: "omar", from_participant_id: "1", from_user_id: "amira" });
  assert.equal(issueSentence(oneWay, nameOf), "Omar can't hear Amira");
  assert.equal(issueSentence(raise("no_audio_sent", "1"), nameOf), "Amira's microphone isn't sending sound");
  assert.equal(issueSentence(raise("talking_while_muted", "1"), nameOf), "Amira is talking while muted");
  assert.equal(issueSentence(raise("media_failed", "7"), nameOf), "u7's call audio was lost");
  assert.equal(issueSentence(raise("new_kind", "1"), nameOf), "Amira: new kind");
  assert.equal(issueTag(oneWay, "2", nameOf), "Can't hear Amira");
  assert.equal(issueTag(oneWay, "1", nameOf), "Not heard by Omar");
  assert.equal(issueTag(oneWay, "3", nameOf), null);
  assert.equal(issueTag(raise("no_audio_sent", "1"), "1", nameOf), "Mic sends no sound");
  assert.equal(issueTag(raise("no_audio_sent", "1"), "2", nameOf), null);
  assert.deepEqual(ISSUE_FILTERS.map(([k]) => k).sort(), [...ISSUE_KINDS].sort());
  for (const kind of ISSUE_KINDS) {
    assert.ok(issueSentence(raise(kind, "1", { from_participant_id: "2" }), nameOf).length > 0);
    assert.ok(issueText(raise(kind, "1", { from_participant_id: "2" }), { selfId: "1", nameOf }).title.length > 0);
  }
});

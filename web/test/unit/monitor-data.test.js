// The call monitor's data side: how figures are written (monitor/format.js),
// a report turned into named, coloured series (monitor/report-data.js), and
// the live book of ongoing calls kept from the monitoring messages
// (monitor/book.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  fmtMos, fmtPct, fmtMs, fmtKbps, fmtDbov, fmtShare, fmtClock, fmtUpDown, fmtSource, levelMeter, worseLevel, dayStart, dayEnd, dateValue, NONE,
} from "../../monitor/format.js";
import { reportPeople, metricSeries, reportSpan, mosFloor, METRICS, PALETTE } from "../../monitor/report-data.js";
import { MonitorBook } from "../../monitor/book.js";

test("figures: fixed decimals, units, and a dash for what is missing", () => {
  assert.equal(fmtMos(4.2134), "4.21");
  assert.equal(fmtMos(null), NONE);
  assert.equal(fmtPct(0.44), "0.4%");
  assert.equal(fmtPct(12.6), "13%");
  assert.equal(fmtPct(undefined), NONE);
  assert.equal(fmtMs(3.14), "3.1 ms");
  assert.equal(fmtMs(38.4), "38 ms");
  assert.equal(fmtMs(Number.NaN), NONE);
  assert.equal(fmtKbps(31.62), "31.6 kb/s");
  assert.equal(fmtKbps(128.4), "128 kb/s");
  assert.equal(fmtDbov(42.5), "−43 dBov");
  assert.equal(fmtDbov(0), "0 dBov");
  assert.equal(fmtDbov(127), "silent");
  assert.equal(fmtShare(0.613), "61%");
  assert.equal(fmtUpDown(0.4, 0), "0.4% ↑ · 0.0% ↓");
  assert.equal(fmtUpDown(null, 2), `${NONE} ↑ · 2.0% ↓`);
  assert.equal(fmtSource("sfu+client"), "SFU + client");
  assert.equal(fmtSource("client"), "client");
  assert.equal(fmtSource(undefined), NONE);
});

test("durations as clocks; the audio meter; level order", () => {
  assert.equal(fmtClock(0), "0:00");
  assert.equal(fmtClock(7_900), "0:07");
  assert.equal(fmtClock(245_000), "4:05");
  assert.equal(fmtClock(3_723_000), "1:02:03");
  assert.equal(fmtClock(-5), "0:00");
  assert.equal(fmtClock(null), NONE);
  assert.equal(levelMeter(0), 1);
  assert.equal(levelMeter(45), 0.5);
  assert.equal(levelMeter(127), 0, "silence is empty");
  assert.equal(levelMeter(100), 0);
  assert.equal(levelMeter(null), 0);
  assert.ok(worseLevel("poor", "fair"));
  assert.ok(!worseLevel("good", "fair"));
  assert.ok(!worseLevel("good", "good"));
});

test("date inputs: local midnights, the end is the next midnight", () => {
  const start = dayStart("2024-03-09");
  const d = new Date(start);
  assert.deepEqual([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()], [2024, 2, 9, 0, 0]);
  const end = new Date(dayEnd("2024-03-09"));
  assert.deepEqual([end.getMonth(), end.getDate(), end.getHours()], [2, 10, 0]);
  assert.equal(dayEnd("2024-12-31") > dayStart("2024-12-31"), true);
  assert.equal(new Date(dayEnd("2024-12-31")).getFullYear(), 2025);
  assert.equal(dayStart(""), null);
  assert.equal(dayStart("yesterday"), null);
  assert.equal(dayEnd(undefined), null);
  assert.equal(dateValue(start), "2024-03-09");
});

/** A report as GET /api/calls/{id}/report gives it, for two people (Lina joined twice). */
function report() {
  const t0 = 1_732_435_200_000;
  const sample = (pid, s, o) => ({ participant_id: pid, at: t0 + s * 1000, mos: 4.4, level: "excellent", loss_pct: 0, jitter_ms: 1, rtt_ms: 2, source: "sfu", ...o });
  return {
    call: { id: "c1", room_id: "visa-1", started_at: t0, ended_at: t0 + 30_000 },
    summary: { id: "c1", samples: 6 },
    participants: [
      { participant_id: "42", user_id: "amira", joined_at: t0 + 1000, left_at: t0 + 30_000 },
      { participant_id: "43", user_id: "lina", joined_at: t0 + 2000, left_at: t0 + 12_000 },
      { participant_id: "47", user_id: "lina", joined_at: t0 + 14_000, left_at: t0 + 30_000 },
    ],
    samples: [
      sample("42", 5, { mos: 4.41 }),
      sample("43", 5, { rtt_ms: null }),
      sample("42", 10, { mos: 3.2, loss_pct: 4.5 }),
      sample("43", 10),
      sample("99", 15),
      sample("47", 20, { mos: 4.3 }),
    ],
    active: false,
  };
}

test("reportPeople: names from the room, one entry per device however many stays, #2 for the same person's second device, a colour each", () => {
  const people = reportPeople(report(), new Map([["amira", "Amira Haddad"], ["lina", "Lina Park"]]));
  assert.deepEqual(
    people.map((p) => [p.participant_id, p.label]),
    [["42", "Amira Haddad"], ["43", "Lina Park"], ["47", "Lina Park #2"], ["99", "Participant 99"]],
  );
  assert.deepEqual(people.map((p) => p.color), PALETTE.slice(0, 4));
  assert.equal(new Set(people.map((p) => p.color)).size, 4);
  // A device that left and came back has two stays but is one person with one line.
  const back = report();
  back.participants.push({ participant_id: "42", user_id: "amira", joined_at: back.call.started_at + 20_000, left_at: back.call.ended_at });
  assert.deepEqual(reportPeople(back).map((p) => p.participant_id), ["42", "43", "47", "99"]);
  assert.equal(metricSeries(back, reportPeople(back), "mos")[0].points.length, 2);
  // Without names: user ids.
  assert.deepEqual(reportPeople(report()).map((p) => p.label).slice(0, 3), ["amira", "lina", "lina #2"]);
});

test("metricSeries: one series per device in time order; a sample without the figure gives null", () => {
  const r = report();
  const people = reportPeople(r);
  const mos = metricSeries(r, people, "mos");
  assert.deepEqual(mos.map((s) => s.id), ["42", "43", "47", "99"]);
  assert.deepEqual(mos[0].points.map((p) => p.v), [4.41, 3.2]);
  assert.deepEqual(mos[0].points.map((p) => p.t - r.call.started_at), [5000, 10000]);
  const rtt = metricSeries(r, people, "rtt_ms");
  assert.deepEqual(rtt[1].points.map((p) => p.v), [null, 2], "a sample without RTT");
  assert.equal(mos[0].color, people[0].color);
  // Every chart's metric is a field of the samples.
  for (const m of METRICS) assert.ok(m.key in r.samples[0], m.key);
});

test("reportSpan: start to end, or to now while the call goes on; samples outside stretch it", () => {
  const r = report();
  assert.deepEqual(reportSpan(r), { t0: r.call.started_at, t1: r.call.ended_at });
  const live = { ...r, call: { ...r.call, ended_at: null }, active: true };
  assert.deepEqual(reportSpan(live, r.call.started_at + 90_000), { t0: r.call.started_at, t1: r.call.started_at + 90_000 });
  const late = { ...r, samples: [...r.samples, { participant_id: "42", at: r.call.ended_at + 4000, mos: 4 }] };
  assert.equal(reportSpan(late).t1, r.call.ended_at + 4000);
  const none = reportSpan({ call: {}, samples: [] }, 5000);
  assert.deepEqual(none, { t0: 5000, t1: 6000 });
});

test("mosFloor: the MOS axis starts at 3.5, lower in half points when the data goes lower", () => {
  assert.equal(mosFloor([4.4, 4.41]), 3.5);
  assert.equal(mosFloor([]), 3.5);
  assert.equal(mosFloor([3.55]), 3);
  assert.equal(mosFloor([3.12, 4.4]), 3);
  assert.equal(mosFloor([1.05]), 1);
  assert.equal(mosFloor([null, 2.55]), 2);
  assert.equal(mosFloor([2.6]), 2.5);
});

/** A call as monitor_snapshot / monitor_call carry it. */
function monitorCall(id, participants, startedAt = 1000) {
  return {
    id,
    room_id: `room-${id}`,
    mode: "sfu",
    started_at: startedAt,
    initiator: { id: "amira", name: "Amira" },
    participants: participants.map(([pid, level]) => ({
      participant_id: pid,
      user: { id: `u${pid}`, name: `User ${pid}` },
      muted: false,
      joined_at: startedAt,
      quality: level ? { level, mos: 4.4, loss_pct: 0, jitter_ms: 1, rtt_ms: 2, source: "sfu", at: startedAt + 5000 } : null,
    })),
  };
}

const pick = (book, id) => {
  const q = book.calls.get(id).participants[0].quality;
  return { rtt_ms: q.rtt_ms, rtt_at: q.rtt_at, rtt_stale: q.rtt_stale };
};

test("MonitorBook: a snapshot, pushes, a level change, the end; oldest call first", () => {
  const book = new MonitorBook();
  book.replace([monitorCall("b", [["1", "good"]], 2000), monitorCall("a", [["2", null]], 1000)], { now: 10 });
  assert.deepEqual(book.list().map((c) => c.id), ["a", "b"]);
  assert.equal(book.via, "socket");
  assert.equal(book.updatedAt, 10);
  // A new call, then a round of samples for an existing one.
  assert.equal(book.upsert(monitorCall("c", [["3", null]], 3000)), true);
  assert.equal(book.upsert(monitorCall("a", [["2", "excellent"], ["4", null]], 1000)), false);
  assert.deepEqual(book.calls.get("a").participants.map((p) => [p.participant_id, p.quality?.level ?? null]), [["2", "excellent"], ["4", null]]);
  // connection_quality changes a level at once, keeping the other figures.
  const p = book.quality({ type: "connection_quality", call_id: "b", participant_id: "1", user_id: "u1", level: "fair", previous: "good", mos: 3.8, loss_pct: 1.9, jitter_ms: 12, rtt_ms: 40 }, { now: 20 });
  assert.equal(p.quality.level, "fair");
  assert.equal(p.quality.mos, 3.8);
  assert.equal(p.quality.source, "sfu", "figures the message does not carry stay");
  assert.equal(p.changedAt, 20);
  // ... and the next push keeps when it changed.
  book.upsert(monitorCall("b", [["1", "fair"]], 2000));
  assert.equal(book.calls.get("b").participants[0].changedAt, 20);
  // Unknown calls and participants are ignored.
  assert.equal(book.quality({ call_id: "zz", participant_id: "1", level: "poor" }), null);
  assert.equal(book.quality({ call_id: "a", participant_id: "zz", level: "poor" }), null);
  // A quality for someone without a sample yet starts their quality.
  assert.equal(book.quality({ call_id: "c", participant_id: "3", level: "good", mos: 4.1 }).quality.level, "good");
  // The end removes the call, and a late push does not bring it back.
  assert.equal(book.end("a"), true);
  assert.equal(book.upsert(monitorCall("a", [["2", "good"]])), false);
  assert.deepEqual(book.list().map((c) => c.id), ["b", "c"]);
  // The book never shares objects with the frames it was given.
  const frame = monitorCall("d", [["5", "good"]]);
  book.upsert(frame);
  book.quality({ call_id: "d", participant_id: "5", level: "poor" });
  assert.equal(frame.participants[0].quality.level, "good");
  // A sample without RTT keeps the last measured one, marked stale.
  const rtt = (v, at) => ({ ...monitorCall("r", [["9", "good"]]), participants: [{ ...monitorCall("r", [["9", "good"]]).participants[0], quality: { level: "good", mos: 4.2, rtt_ms: v, at } }] });
  book.upsert(rtt(12, 100));
  assert.deepEqual(pick(book, "r"), { rtt_ms: 12, rtt_at: 100, rtt_stale: undefined });
  book.upsert(rtt(null, 200));
  assert.deepEqual(pick(book, "r"), { rtt_ms: 12, rtt_at: 100, rtt_stale: true });
  book.upsert(rtt(undefined, 300));
  assert.deepEqual(pick(book, "r"), { rtt_ms: 12, rtt_at: 100, rtt_stale: true });
  book.replace([rtt(null, 400)]);
  assert.deepEqual(pick(book, "r"), { rtt_ms: 12, rtt_at: 100, rtt_stale: true }, "across a snapshot too");
  book.upsert(rtt(30, 500));
  assert.deepEqual(pick(book, "r"), { rtt_ms: 30, rtt_at: 500, rtt_stale: undefined });
  // A REST reload replaces everything and says so.
  book.replace([monitorCall("e", [])], { via: "rest", now: 99 });
  assert.deepEqual(book.list().map((c) => c.id), ["e"]);
  assert.equal(book.via, "rest");
});

test("diagnosis: the server's sentences with display names for whole user ids, in joining order, with their figures", async () => {
  const { withNames, diagnosisRows, reportPeople } = await import("../../monitor/report-data.js");
  const names = new Map([["omar", "Omar Said"], ["amira", "Amira Haddad"], ["om", "Om"]]);
  assert.equal(
    withNames("omar heard 8 % loss: 7 % from amira's uplink, 1 % on omar's downlink", ["omar", "amira"], names),
    "Omar Said heard 8 % loss: 7 % from Amira Haddad's uplink, 1 % on Omar Said's downlink",
  );
  assert.equal(withNames("omaria heard no loss; so did omar.", ["omar"], names), "omaria heard no loss; so did Omar Said.");
  assert.equal(withNames("x.omar heard no loss", ["omar"], names), "x.omar heard no loss", "part of another id");
  assert.equal(withNames("lina heard no loss", ["lina"], names), "lina heard no loss", "no name known");
  assert.equal(withNames(undefined, [], names), "");
  const report = {
    participants: [
      { participant_id: "1", user_id: "amira" },
      { participant_id: "2", user_id: "omar" },
    ],
    diagnosis: [
      { participant_id: "2", user_id: "omar", heard_loss_pct: 8, uplinks: [{ participant_id: "1", user_id: "amira", loss_pct: 7 }], sfu_loss_pct: 0, downlink_loss_pct: 1, jitter_ms: 4, sentence: "omar heard 8 % loss: 7 % from amira's uplink, 1 % on omar's downlink" },
      { participant_id: "1", user_id: "amira", heard_loss_pct: 0, uplinks: [], sfu_loss_pct: null, downlink_loss_pct: null, jitter_ms: null, sentence: "amira heard no loss" },
    ],
  };
  const rows = diagnosisRows(report, reportPeople(report, names), names);
  assert.deepEqual(rows.map((r) => [r.label, r.sentence]), [
    ["Amira Haddad", "Amira Haddad heard no loss"],
    ["Omar Said", "Omar Said heard 8 % loss: 7 % from Amira Haddad's uplink, 1 % on Omar Said's downlink"],
  ]);
  assert.deepEqual(rows[1].uplinks, [{ participant_id: "1", label: "Amira Haddad", loss_pct: 7 }]);
  assert.equal(rows[0].sfu_loss_pct, null);
  assert.deepEqual(diagnosisRows({}, []), [], "a server without a diagnosis");
});

test("issueSpans: a report's issues on the charts' span, ongoing ones to its end, short ones still visible", async () => {
  const { issueSpans } = await import("../../monitor/report-data.js");
  const report = {
    issues: [
      { participant_id: "2", issue: "one_way_audio", from_participant_id: "1", started_at: 60000, ended_at: null },
      { participant_id: "1", issue: "no_audio_sent", started_at: 10000, ended_at: 30000 },
      { participant_id: "1", issue: "talking_while_muted", started_at: 99990, ended_at: 100000 },
    ],
  };
  const spans = issueSpans(report, { t0: 0, t1: 100000 });
  assert.deepEqual(spans.map((s) => [s.issue, s.left, Math.round(s.width * 100) / 100, s.ongoing, s.duration_ms]), [
    ["no_audio_sent", 10, 20, false, 20000],
    ["one_way_audio", 60, 40, true, 40000],
    ["talking_while_muted", 99.2, 0.8, false, 10],
  ]);
  assert.deepEqual(issueSpans({}, { t0: 0, t1: 1 }), []);
});

// getStats readings, the call_stats report (CONTRACT shape), MOS and levels.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  readPeerStats,
  callStatsReport,
  worstConnectionState,
  estimateMos,
  levelFromMos,
  QualityClassifier,
  QualityTracker,
  MAX_INBOUND,
} from "../../lib/stats.js";

/** A report shaped like Chrome's for an sfu call with two remote participants. */
function chromeReport({ lost43 = 10, received43 = 1490, lost44 = 0, received44 = 700, negativeLoss = false } = {}) {
  return new Map(
    [
      { id: "T01", type: "transport", selectedCandidatePairId: "CP1" },
      { id: "CP1", type: "candidate-pair", state: "succeeded", nominated: true, currentRoundTripTime: 0.0415 },
      { id: "CP2", type: "candidate-pair", state: "failed", currentRoundTripTime: 9 },
      { id: "COT01", type: "codec", mimeType: "audio/opus", clockRate: 48000 },
      { id: "OT01", type: "outbound-rtp", kind: "audio", packetsSent: 1500, bytesSent: 96000, codecId: "COT01", remoteId: "RI01" },
      { id: "RI01", type: "remote-inbound-rtp", kind: "audio", localId: "OT01", packetsLost: negativeLoss ? -2 : 3, fractionLost: 0.01, jitter: 0.0025, roundTripTime: 0.0402 },
      { id: "SA1", type: "media-source", kind: "audio", audioLevel: 0.3 },
      {
        id: "IT43", type: "inbound-rtp", kind: "audio", trackIdentifier: "audio-43", mid: "1",
        packetsReceived: received43, packetsLost: lost43, jitter: 0.0042, bytesReceived: 89000,
        concealedSamples: 960, totalSamplesReceived: 480000, jitterBufferDelay: 90.75, jitterBufferEmittedCount: 1500, audioLevel: 0.12,
      },
      { id: "IT44", type: "inbound-rtp", kind: "audio", trackIdentifier: "audio-44", mid: "2", packetsReceived: received44, packetsLost: lost44, jitter: 0.001, bytesReceived: 40000 },
      { id: "IV1", type: "inbound-rtp", kind: "video", trackIdentifier: "v", packetsReceived: 5 },
      { id: "IT-unknown", type: "inbound-rtp", kind: "audio", trackIdentifier: "probe", packetsReceived: 1 },
    ].map((s) => [s.id, s]),
  );
}

const sfuOwner = (s) => (s.trackIdentifier?.startsWith("audio-") ? s.trackIdentifier.slice(6) : undefined);

test("call_stats from a Chrome-like report has exactly the agreed shape", () => {
  const r = readPeerStats(chromeReport(), sfuOwner);
  const msg = callStatsReport("0193a7c4", [r]);
  assert.deepEqual(msg, {
    type: "call_stats",
    call_id: "0193a7c4",
    rtt_ms: 41.5,
    codec: "opus",
    outbound: { packets_sent: 1500, bytes_sent: 96000, remote_packets_lost: 3, remote_fraction_lost: 0.01, remote_jitter_ms: 2.5, rtt_ms: 40.2, audio_level: 0.3 },
    inbound: [
      {
        participant_id: "43", packets_received: 1490, packets_lost: 10, jitter_ms: 4.2, bytes_received: 89000,
        concealed_samples: 960, total_samples_received: 480000, jitter_buffer_delay_ms: 60.5, audio_level: 0.12,
      },
      { participant_id: "44", packets_received: 700, packets_lost: 0, jitter_ms: 1, bytes_received: 40000 },
    ],
  });
  assert.equal(r.sourceLevel, 0.3);
});

test("call_stats: the microphone's level (media-source audioLevel) and the worst connection state", () => {
  const source = (level) => readPeerStats([{ id: "S", type: "media-source", kind: "audio", audioLevel: level }, { id: "O", type: "outbound-rtp", kind: "audio", packetsSent: 10 }], () => undefined);
  // p2p: the loudest source over the connections (the same microphone feeds each).
  const msg = callStatsReport("c", [source(0.1), source(0.25)], { connectionStates: ["connected", "disconnected", "connecting"] });
  assert.deepEqual(msg.outbound, { packets_sent: 20, audio_level: 0.25 });
  assert.equal(msg.connection_state, "disconnected");
  // A level without an outbound stream yet still goes out; no states, no field.
  const early = callStatsReport("c", [readPeerStats([{ id: "S", type: "media-source", kind: "audio", audioLevel: 0 }], () => undefined)]);
  assert.deepEqual(early.outbound, { audio_level: 0 });
  assert.equal("connection_state" in early, false);
  assert.equal(worstConnectionState(["connected", "new"]), "new");
  assert.equal(worstConnectionState(["connected", "failed", "closed"]), "failed");
  assert.equal(worstConnectionState(["closed", "disconnected"]), "closed");
  assert.equal(worstConnectionState(["connected"]), "connected");
  assert.equal(worstConnectionState(["bogus"]), undefined);
  assert.equal(worstConnectionState([]), undefined);
  // A video source, or a level out of range, is not the microphone's level.
  const video = callStatsReport("c", [readPeerStats([{ id: "S", type: "media-source", kind: "video", audioLevel: 0.5 }, { id: "S2", type: "media-source", kind: "audio", audioLevel: -1 }], () => undefined)]);
  assert.equal(video.outbound, undefined);
});

test("numbers the server would refuse are left out or clamped", () => {
  const report = new Map([
    ["O", { id: "O", type: "outbound-rtp", kind: "audio", packetsSent: NaN, bytesSent: -5, remoteId: "R" }],
    ["R", { id: "R", type: "remote-inbound-rtp", packetsLost: -2, fractionLost: Infinity, jitter: -1 }],
    ["I", { id: "I", type: "inbound-rtp", kind: "audio", trackIdentifier: "audio-9", packetsLost: -4, packetsReceived: 10, jitterBufferDelay: 1, jitterBufferEmittedCount: 0 }],
  ]);
  const msg = callStatsReport("c", [readPeerStats(report, sfuOwner)]);
  assert.deepEqual(msg.outbound, { remote_packets_lost: 0 });
  assert.deepEqual(msg.inbound, [{ participant_id: "9", packets_received: 10, packets_lost: 0 }]);
  assert.equal("rtt_ms" in msg, false, "no candidate pair: no rtt");
  for (const v of JSON.stringify(msg).match(/-?\d+(\.\d+)?/g) ?? []) assert.ok(Number(v) >= 0);
});

test("at most 32 inbound entries", () => {
  const entries = Array.from({ length: 40 }, (_, i) => [`I${i}`, { id: `I${i}`, type: "inbound-rtp", kind: "audio", trackIdentifier: `audio-${i}`, packetsReceived: i }]);
  const msg = callStatsReport("c", [readPeerStats(new Map(entries), sfuOwner)]);
  assert.equal(msg.inbound.length, MAX_INBOUND);
});

test("p2p: one reading per peer connection; outbound legs summed, rtt averaged", () => {
  const leg = (pid, rtt, sent) =>
    readPeerStats(
      [
        { id: "T", type: "transport", selectedCandidatePairId: "P" },
        { id: "P", type: "candidate-pair", currentRoundTripTime: rtt },
        { id: "O", type: "outbound-rtp", kind: "audio", packetsSent: sent, bytesSent: sent * 60, remoteId: "R" },
        { id: "R", type: "remote-inbound-rtp", packetsLost: 1, fractionLost: sent > 100 ? 0.02 : 0, jitter: 0.001, roundTripTime: rtt },
        { id: "I", type: "inbound-rtp", kind: "audio", packetsReceived: 50, packetsLost: 0 },
      ],
      () => pid,
    );
  const msg = callStatsReport("c", [leg("42", 0.02, 100), leg("43", 0.04, 200)]);
  assert.equal(msg.rtt_ms, 30);
  assert.deepEqual(msg.outbound, { packets_sent: 300, bytes_sent: 18000, remote_packets_lost: 2, remote_fraction_lost: 0.02, remote_jitter_ms: 1, rtt_ms: 30 });
  assert.deepEqual(msg.inbound.map((i) => i.participant_id), ["42", "43"]);
});

test("MOS matches the server's E-model", () => {
  for (const [jitter, rtt] of [[0, 0], [2, 20], [5, 40], [10, 100]]) {
    const mos = estimateMos(0, jitter, rtt);
    assert.ok(mos >= 4.3 && mos <= 4.42, `${jitter}/${rtt}: ${mos}`);
    assert.equal(levelFromMos(mos), "excellent");
  }
  assert.equal(levelFromMos(estimateMos(1, 5, 40)), "good");
  assert.ok(estimateMos(20, 5, 40) < 2);
  assert.equal(levelFromMos(estimateMos(20, 5, 40)), "poor");
  assert.ok(estimateMos(0, 5, 600) < 3.6, "long delay hurts");
  assert.equal(estimateMos(NaN, NaN, NaN), estimateMos(0, 0, 0));
  assert.equal(estimateMos(-3, -1, -9), estimateMos(0, 0, 0));
  let last = 5;
  for (let loss = 0; loss <= 100; loss++) {
    const m = estimateMos(loss, 5, 40);
    assert.ok(m <= last && m >= 1, `monotonic at ${loss}`);
    last = m;
  }
});

test("classifier changes level only after the new one persists", () => {
  const c = new QualityClassifier(2);
  assert.equal(c.observe(4.4), "excellent");
  assert.equal(c.observe(2.0), "excellent");
  assert.equal(c.observe(4.4), "excellent", "streak broken");
  assert.equal(c.observe(2.0), "excellent");
  assert.equal(c.observe(3.8), "excellent", "a different level restarts the count");
  assert.equal(c.observe(2.0), "excellent");
  assert.equal(c.observe(2.0), "poor");
});

test("tracker: loss over the interval per participant, self from the far end's report", () => {
  const t = new QualityTracker({ required: 1 });
  const first = t.sample([readPeerStats(chromeReport(), sfuOwner)], "42");
  // No interval yet for inbound streams; our own leg is scored at once.
  assert.deepEqual(first.samples.map((s) => s.participant_id), ["42"]);
  assert.equal(first.samples[0].loss_pct, 1);
  // Next sample: 43 received 100 more and lost 25 more (20 % loss); 44 received 50, lost none.
  const second = t.sample([readPeerStats(chromeReport({ received43: 1590, lost43: 35, received44: 750 }), sfuOwner)], "42");
  const by = Object.fromEntries(second.samples.map((s) => [s.participant_id, s]));
  assert.equal(by["43"].loss_pct, 20);
  assert.equal(by["43"].level, "poor");
  assert.equal(by["43"].rtt_ms, 41.5);
  assert.equal(by["44"].loss_pct, 0);
  assert.equal(by["44"].level, "excellent");
  assert.deepEqual(second.changes.map((c) => [c.participant_id, c.previous, c.level]).sort(), [["43", null, "poor"], ["44", null, "excellent"]]);
  // An interval without packets (muted) gives no sample for 44.
  const third = t.sample([readPeerStats(chromeReport({ received43: 1690, lost43: 35, received44: 750 }), sfuOwner)], "42");
  assert.equal(third.samples.some((s) => s.participant_id === "44"), false);
  assert.equal(third.samples.find((s) => s.participant_id === "43").level, "excellent");
});

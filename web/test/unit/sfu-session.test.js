// The sfu negotiation rules of docs/PROTOCOL.md, with a fake
// RTCPeerConnection: offer first, candidates after the offer, server
// candidates held until a remote description, server offers answered, and
// glare (CONFLICT: roll back, answer the server's offer).
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { Emitter } from "../../lib/emitter.js";
import { EarshotError } from "../../lib/errors.js";
import { SfuSession, participantOfSfuTrack, candidateInit } from "../../lib/calls/sfu.js";
import { isPolite } from "../../lib/calls/p2p.js";

class FakePC {
  constructor(config) {
    this.config = config;
    this.signalingState = "stable";
    this.connectionState = "new";
    this.localDescription = null;
    this.remoteDescription = null;
    this.log = [];
    this.senders = [];
    this.offers = 0;
    FakePC.last = this;
  }
  addTrack(track) {
    const sender = { track, replaceTrack: async (t) => (sender.track = t) };
    this.senders.push(sender);
    return sender;
  }
  async createOffer() {
    return { type: "offer", sdp: `client-offer-${++this.offers}` };
  }
  async createAnswer() {
    return { type: "answer", sdp: `client-answer-to-${this.remoteDescription.sdp}` };
  }
  async setLocalDescription(d) {
    this.log.push(`local:${d.type}`);
    if (d.type === "rollback") {
      assert.equal(this.signalingState, "have-local-offer", "rollback only from have-local-offer");
      this.signalingState = "stable";
      this.localDescription = null;
      return;
    }
    if (d.type === "offer") this.signalingState = "have-local-offer";
    else {
      assert.equal(this.signalingState, "have-remote-offer");
      this.signalingState = "stable";
    }
    this.localDescription = d;
  }
  async setRemoteDescription(d) {
    this.log.push(`remote:${d.type}:${d.sdp}`);
    if (d.type === "offer") {
      assert.equal(this.signalingState, "stable", "a remote offer needs a stable state (the SDK rolls back first)");
      this.signalingState = "have-remote-offer";
    } else {
      assert.equal(this.signalingState, "have-local-offer");
      this.signalingState = "stable";
    }
    this.remoteDescription = d;
  }
  async addIceCandidate(c) {
    assert.ok(this.remoteDescription, "candidates only after a remote description");
    this.log.push(`candidate:${c.candidate}`);
  }
  restartIce() {}
  getSenders() {
    return this.senders;
  }
  close() {
    this.signalingState = "closed";
  }
}

/** A client that records frames and answers requests through `respond`. */
function fakeClient() {
  const sent = [];
  const pending = [];
  return {
    sent,
    pending,
    state: "connected",
    send(f) {
      sent.push(f);
      return true;
    },
    request(type, payload) {
      const frame = { type, ...payload };
      sent.push(frame);
      return new Promise((resolve, reject) => pending.push({ frame, resolve, reject }));
    },
  };
}

function fakeCall(client) {
  const call = new Emitter();
  Object.assign(call, {
    id: "call-1",
    client,
    iceServers: [],
    localStream: { id: "local" },
    localTrack: { kind: "audio", id: "mic" },
    states: [],
    tracks: [],
    errors: [],
    _mediaState: (s) => call.states.push(s),
    _remoteTrack: (pid, track) => call.tracks.push([pid, track.id]),
    _remoteTrackGone: () => {},
    _mediaError: (e) => call.errors.push(e),
  });
  return call;
}

const tick = () => new Promise((r) => setTimeout(r, 0));
async function until(pred, what) {
  for (let i = 0; i < 200 && !pred(); i++) await tick();
  assert.ok(pred(), `timed out: ${what}`);
}

beforeEach(() => {
  globalThis.RTCPeerConnection = FakePC;
});

test("first exchange: offer, then our candidates; server candidates wait for the answer", async () => {
  const client = fakeClient();
  const call = fakeCall(client);
  const s = new SfuSession(call);
  const started = s.start();
  await until(() => FakePC.last, "pc");
  const pc = FakePC.last;
  // A candidate gathered before the offer went out waits for it.
  pc.onicecandidate({ candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", toJSON() { return { candidate: this.candidate, sdpMid: "0" }; } } });
  await until(() => client.pending.length === 1, "sfu_offer");
  assert.deepEqual(client.sent.map((f) => f.type), ["sfu_offer", "ice_candidate"], "the offer goes out before any candidate");
  assert.equal(client.sent[0].sdp, "client-offer-1");
  // The server's candidate arrives before its answer: held.
  s.onFrame({ type: "ice_candidate", call_id: "call-1", candidate: { candidate: "candidate:9 1 udp 1 127.0.0.1 40000 typ host", sdpMid: "", sdpMLineIndex: 0 } });
  await tick();
  assert.equal(pc.log.some((l) => l.startsWith("candidate")), false);
  client.pending[0].resolve({ type: "sfu_answer", sdp: "server-answer-1" });
  await started;
  assert.deepEqual(pc.log, ["local:offer", "remote:answer:server-answer-1", "candidate:candidate:9 1 udp 1 127.0.0.1 40000 typ host"]);
  // Trickled candidates after the offer go straight out; end-of-candidates is not sent.
  pc.onicecandidate({ candidate: { candidate: "candidate:2 1 udp 1 127.0.0.1 5001 typ host", toJSON() { return { candidate: this.candidate }; } } });
  pc.onicecandidate({ candidate: null });
  assert.deepEqual(client.sent.filter((f) => f.type === "ice_candidate").length, 2);
});

test("server offers are answered with sfu_answer; tracks are named by stream id", async () => {
  const client = fakeClient();
  const call = fakeCall(client);
  const s = new SfuSession(call);
  const started = s.start();
  await until(() => client.pending.length === 1, "offer");
  client.pending[0].resolve({ type: "sfu_answer", sdp: "a1" });
  await started;
  s.onFrame({ type: "sfu_offer", call_id: "call-1", sdp: "server-offer-1" });
  await until(() => client.sent.some((f) => f.type === "sfu_answer"), "answer");
  const ans = client.sent.find((f) => f.type === "sfu_answer");
  assert.deepEqual(ans, { type: "sfu_answer", call_id: "call-1", sdp: "client-answer-to-server-offer-1" });
  FakePC.last.ontrack({ track: { id: "audio-43" }, streams: [{ id: "p-43", getTracks: () => [1] }], transceiver: { mid: "1" } });
  assert.deepEqual(call.tracks, [["43", "audio-43"]]);
  assert.equal(s.participantForInbound({ trackIdentifier: "audio-43" }), "43");
  assert.equal(s.participantForInbound({ trackIdentifier: "x", mid: "1" }), "43");
});

test("glare: our offer gets CONFLICT; we roll back and answer the server's offer", async () => {
  const client = fakeClient();
  const call = fakeCall(client);
  const glares = [];
  call.on("glare", (g) => glares.push(g));
  const s = new SfuSession(call);
  const started = s.start();
  await until(() => client.pending.length === 1, "offer");
  client.pending[0].resolve({ type: "sfu_answer", sdp: "a1" });
  await started;
  const pc = FakePC.last;
  // We offer again (an ICE restart) ...
  const renegotiated = s.renegotiate("ice restart");
  await until(() => client.pending.length === 2, "second offer");
  assert.equal(pc.signalingState, "have-local-offer");
  // ... while the server's own offer is out: it arrives, then the CONFLICT.
  s.onFrame({ type: "sfu_offer", call_id: "call-1", sdp: "server-offer-2" });
  await tick();
  client.pending[1].reject(new EarshotError("CONFLICT", "offer collision: answer the server's offer"));
  await renegotiated;
  await until(() => client.sent.some((f) => f.type === "sfu_answer"), "answer to the server's offer");
  assert.deepEqual(pc.log, [
    "local:offer",
    "remote:answer:a1",
    "local:offer",
    "local:rollback",
    "remote:offer:server-offer-2",
    "local:answer",
  ]);
  assert.equal(pc.signalingState, "stable");
  assert.equal(glares.length, 1);
  assert.equal(glares[0].error.code, "CONFLICT");
  assert.deepEqual(call.errors, []);
});

test("a server offer that overtakes our offer's reply is answered after a rollback", async () => {
  const client = fakeClient();
  const call = fakeCall(client);
  const s = new SfuSession(call);
  const started = s.start();
  await until(() => client.pending.length === 1, "offer");
  client.pending[0].resolve({ type: "sfu_answer", sdp: "a1" });
  await started;
  const pc = FakePC.last;
  s.renegotiate();
  await until(() => client.pending.length === 2, "second offer");
  s.onFrame({ type: "sfu_offer", call_id: "call-1", sdp: "server-offer-2" });
  // The server answers our offer after all (it had no offer out by then).
  client.pending[1].resolve({ type: "sfu_answer", sdp: "a2" });
  await until(() => client.sent.some((f) => f.type === "sfu_answer"), "answer");
  assert.deepEqual(pc.log.slice(2), ["local:offer", "remote:answer:a2", "remote:offer:server-offer-2", "local:answer"]);
});

test("helpers: participant ids of sfu tracks, server candidates, politeness", () => {
  assert.equal(participantOfSfuTrack("p-42", "x"), "42");
  assert.equal(participantOfSfuTrack("other", "audio-7"), "7");
  assert.equal(participantOfSfuTrack("other", "audio-7-2"), "7", "a second stay's track");
  assert.equal(participantOfSfuTrack("other", "x"), undefined);
  assert.deepEqual(candidateInit({ candidate: "c", sdpMid: "", sdpMLineIndex: 0, usernameFragment: null }), { candidate: "c", sdpMid: null, sdpMLineIndex: 0, usernameFragment: null });
  assert.deepEqual(candidateInit({ candidate: "c", sdpMid: "0" }), { candidate: "c", sdpMid: "0", usernameFragment: null });
  assert.equal(isPolite("9", "10"), true, "numeric, not string, order");
  assert.equal(isPolite("10", "9"), false);
  assert.equal(isPolite("a", "b"), true);
});

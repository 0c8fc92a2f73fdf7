// Call statistics as plain functions over `RTCStatsReport` entries, so they
// are unit-testable in Node without a browser:
// - `callStatsReport` builds the `call_stats` message the server takes every
//   5 s (docs/PROTOCOL.md, "call_stats"): cumulative counters as getStats
//   gives them, only finite non-negative numbers;
// - `estimateMos` / `levelFromMos` / `QualityClassifier` score a participant's
//   audio with the same simplified E-model (ITU-T G.107) and bands as the
//   server, so both sides call the same conditions `good` or `poor`;
// - `QualityTracker` turns successive reports into per-participant quality
//   samples (loss over the interval, jitter, RTT) and level changes.

/** Quality levels, worst first. */
export const QUALITY_LEVELS = Object.freeze(["poor", "fair", "good", "excellent"]);

/** At most this many inbound entries per report (the server refuses more). */
export const MAX_INBOUND = 32;

/** A finite, non-negative number, or undefined. */
function num(x) {
  return typeof x === "number" && Number.isFinite(x) && x >= 0 ? x : undefined;
}

/** Seconds to milliseconds, rounded to 0.1 ms. */
function ms(seconds) {
  const s = num(seconds);
  return s === undefined ? undefined : Math.round(s * 10000) / 10;
}

/** `packetsLost` can be negative in RTP (duplicates); the server wants >= 0. */
function lost(x) {
  return typeof x === "number" && Number.isFinite(x) ? Math.max(0, x) : undefined;
}

/** Copy the defined values of `o` (drops undefined). */
function defined(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/** Index a report (an RTCStatsReport, a Map, or an array of entries) by id. */
export function indexStats(report) {
  const byId = new Map();
  const list = [];
  const add = (s) => {
    if (!s || typeof s !== "object") return;
    list.push(s);
    if (s.id !== undefined) byId.set(s.id, s);
  };
  if (Array.isArray(report)) report.forEach(add);
  else if (report && typeof report.forEach === "function") report.forEach((s) => add(s));
  return { byId, list };
}

function isAudio(s) {
  return s.kind === "audio" || s.mediaType === "audio";
}

/** The selected candidate pair of a report, or undefined. */
export function selectedPair({ byId, list }) {
  for (const t of list) {
    if (t.type === "transport" && t.selectedCandidatePairId && byId.has(t.selectedCandidatePairId)) {
      return byId.get(t.selectedCandidatePairId);
    }
  }
  // Browsers without transport stats: the nominated, succeeded pair.
  return list.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded")
    ?? list.find((s) => s.type === "candidate-pair" && s.selected);
}

/**
 * The parts of one peer connection's report the SDK uses.
 * `participantFor(inboundRtp)` names whose audio an inbound stream is
 * (undefined: skip it).
 * @returns {{rttMs?: number, codec?: string, outbound: object[], inbound: object[], sourceLevel?: number}}
 */
export function readPeerStats(report, participantFor) {
  const idx = indexStats(report);
  const pair = selectedPair(idx);
  const out = { rttMs: ms(pair?.currentRoundTripTime), outbound: [], inbound: [] };
  for (const s of idx.list) {
    if (s.type === "outbound-rtp" && isAudio(s)) {
      const remote = s.remoteId ? idx.byId.get(s.remoteId) : idx.list.find((r) => r.type === "remote-inbound-rtp" && r.localId === s.id);
      const codec = s.codecId ? idx.byId.get(s.codecId) : undefined;
      if (!out.codec && codec?.mimeType) out.codec = String(codec.mimeType).replace(/^audio\//i, "").toLowerCase();
      out.outbound.push(
        defined({
          packets_sent: num(s.packetsSent),
          bytes_sent: num(s.bytesSent),
          remote_packets_lost: lost(remote?.packetsLost),
          remote_fraction_lost: num(remote?.fractionLost),
          remote_jitter_ms: ms(remote?.jitter),
          rtt_ms: ms(remote?.roundTripTime),
        }),
      );
    } else if (s.type === "inbound-rtp" && isAudio(s)) {
      const participant = participantFor(s);
      if (participant === undefined || participant === null) continue;
      const emitted = num(s.jitterBufferEmittedCount);
      const delay = num(s.jitterBufferDelay);
      out.inbound.push(
        defined({
          participant_id: String(participant),
          packets_received: num(s.packetsReceived),
          packets_lost: lost(s.packetsLost),
          jitter_ms: ms(s.jitter),
          bytes_received: num(s.bytesReceived),
          concealed_samples: num(s.concealedSamples),
          total_samples_received: num(s.totalSamplesReceived),
          jitter_buffer_delay_ms: emitted && delay !== undefined ? Math.round((delay / emitted) * 10000) / 10 : undefined,
          audio_level: num(s.audioLevel),
        }),
      );
    } else if (s.type === "media-source" && isAudio(s)) {
      const level = num(s.audioLevel);
      if (level !== undefined) out.sourceLevel = Math.max(out.sourceLevel ?? 0, level);
    }
  }
  return out;
}

/** RTCPeerConnection states, best first: the report names the worst of a call's connections. */
export const CONNECTION_STATES = Object.freeze(["connected", "new", "connecting", "disconnected", "closed", "failed"]);

/** The worst of some `RTCPeerConnection.connectionState`s (undefined for none, or none known). */
export function worstConnectionState(states) {
  let worst;
  for (const s of states ?? []) {
    const i = CONNECTION_STATES.indexOf(s);
    if (i >= 0 && (worst === undefined || i > CONNECTION_STATES.indexOf(worst))) worst = s;
  }
  return worst;
}

/**
 * The `call_stats` message for a call, from one or more peer connections'
 * readings (`readPeerStats`): one in sfu calls, one per remote participant in
 * p2p calls (their outbound legs are summed, RTTs averaged). The outbound
 * part carries the microphone's level (`audio_level`, the media source's
 * `audioLevel`); `connectionStates` (the call's connections' states) give
 * `connection_state`, the worst of them.
 */
export function callStatsReport(callId, readings, { connectionStates } = {}) {
  const msg = { type: "call_stats", call_id: callId };
  const state = worstConnectionState(connectionStates);
  if (state) msg.connection_state = state;
  const rtts = readings.map((r) => r.rttMs).filter((x) => x !== undefined);
  if (rtts.length) msg.rtt_ms = round1(rtts.reduce((a, b) => a + b, 0) / rtts.length);
  const codec = readings.find((r) => r.codec)?.codec;
  if (codec) msg.codec = codec;
  const outs = readings.flatMap((r) => r.outbound);
  const levels = readings.map((r) => r.sourceLevel).filter((x) => x !== undefined);
  if (outs.length) msg.outbound = mergeOutbound(outs);
  if (levels.length) msg.outbound = { ...msg.outbound, audio_level: Math.min(1, Math.max(...levels)) };
  const inbound = readings.flatMap((r) => r.inbound).slice(0, MAX_INBOUND);
  if (inbound.length) msg.inbound = inbound;
  return msg;
}

function round1(x) {
  return Math.round(x * 10) / 10;
}

function mergeOutbound(outs) {
  if (outs.length === 1) return outs[0];
  const sum = (k) => (outs.some((o) => o[k] !== undefined) ? outs.reduce((a, o) => a + (o[k] ?? 0), 0) : undefined);
  const max = (k) => (outs.some((o) => o[k] !== undefined) ? Math.max(...outs.map((o) => o[k] ?? 0)) : undefined);
  const avg = (k) => {
    const v = outs.map((o) => o[k]).filter((x) => x !== undefined);
    return v.length ? round1(v.reduce((a, b) => a + b, 0) / v.length) : undefined;
  };
  return defined({
    packets_sent: sum("packets_sent"),
    bytes_sent: sum("bytes_sent"),
    remote_packets_lost: sum("remote_packets_lost"),
    remote_fraction_lost: max("remote_fraction_lost"),
    remote_jitter_ms: max("remote_jitter_ms"),
    rtt_ms: avg("rtt_ms"),
  });
}

// ---- MOS and levels -----------------------------------------------------------

function sane(x) {
  return Number.isNaN(x) || typeof x !== "number" ? 0 : Math.max(0, x);
}

/** G.107 Annex B: MOS (1..4.5) for a rating R. */
export function mosFromR(r) {
  if (Number.isNaN(r) || r <= 0) return 1;
  if (r >= 100) return 4.5;
  return Math.max(1, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6);
}

/**
 * MOS of an Opus call: the server's simplified E-model (sfu/src/quality.rs):
 * one-way delay = RTT/2 + 2 x jitter + 26.5 ms, Ie = 0, Bpl = 10, random loss.
 * @param {number} lossPct packet loss in percent
 * @param {number} jitterMs
 * @param {number} rttMs
 */
export function estimateMos(lossPct, jitterMs, rttMs) {
  const loss = Math.min(100, sane(lossPct));
  const d = sane(rttMs) / 2 + 2 * sane(jitterMs) + 26.5;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ieEff = (95 * loss) / (loss + 10);
  return mosFromR(93.2 - id - ieEff);
}

/** The G.107 satisfaction band of a MOS (the server's bands). */
export function levelFromMos(mos) {
  if (mos >= 4.34) return "excellent";
  if (mos >= 4.03) return "good";
  if (mos >= 3.6) return "fair";
  return "poor";
}

/**
 * A level that changes only once a different level has persisted for
 * `required` consecutive samples; the first sample sets it directly.
 */
export class QualityClassifier {
  constructor(required = 2) {
    this.required = Math.max(1, required);
    this.level = null;
    this.candidate = null;
    this.count = 0;
  }

  /** Add a MOS sample; returns the (possibly unchanged) level. */
  observe(mos) {
    const sample = levelFromMos(mos);
    if (this.level === null) {
      this.level = sample;
      return sample;
    }
    if (sample === this.level) {
      this.candidate = null;
      this.count = 0;
      return this.level;
    }
    this.count = this.candidate === sample ? this.count + 1 : 1;
    this.candidate = sample;
    if (this.count >= this.required) {
      this.level = sample;
      this.candidate = null;
      this.count = 0;
    }
    return this.level;
  }
}

/**
 * Per-participant quality from successive readings. Feed it each sample's
 * readings with `sample(readings, selfId)`; it returns the quality of every
 * participant it could score this time and which of them changed level.
 *
 * - Remote participants: loss over the interval from their inbound stream
 *   (`packets_lost` delta over received + lost deltas), its jitter, and the
 *   RTT of the connection carrying it. An interval without packets (muted,
 *   silent) gives no sample: the level stays.
 * - This device (`selfId`): the far end's view of our audio, from the
 *   outbound leg's remote report (fraction lost, jitter, RTT).
 */
export class QualityTracker {
  constructor({ required = 2 } = {}) {
    this.required = required;
    /** participant id -> {classifier, prev: {received, lost}} */
    this.peers = new Map();
  }

  _peer(id) {
    let p = this.peers.get(id);
    if (!p) this.peers.set(id, (p = { classifier: new QualityClassifier(this.required), prev: null, level: null }));
    return p;
  }

  forget(id) {
    this.peers.delete(String(id));
  }

  /**
   * @param {Array<ReturnType<typeof readPeerStats>>} readings
   * @param {string} [selfId]
   * @returns {{samples: object[], changes: object[]}}
   */
  sample(readings, selfId) {
    const samples = [];
    const changes = [];
    const push = (id, lossPct, jitterMs, rttMs) => {
      const p = this._peer(id);
      const mos = Math.round(estimateMos(lossPct, jitterMs, rttMs) * 100) / 100;
      const previous = p.level;
      const level = p.classifier.observe(mos);
      p.level = level;
      const s = {
        participant_id: id,
        level,
        previous,
        mos,
        loss_pct: round1(lossPct),
        jitter_ms: round1(jitterMs),
        rtt_ms: round1(rttMs),
      };
      samples.push(s);
      if (level !== previous) changes.push(s);
    };
    for (const r of readings) {
      for (const i of r.inbound) {
        const p = this._peer(i.participant_id);
        const received = i.packets_received ?? 0;
        const lostNow = i.packets_lost ?? 0;
        const prev = p.prev;
        p.prev = { received, lost: lostNow };
        if (!prev) continue;
        const dr = received - prev.received;
        const dl = Math.max(0, lostNow - prev.lost);
        if (dr < 0 || dr + dl === 0) continue; // a new stream, or no packets this interval
        push(i.participant_id, (100 * dl) / (dr + dl), i.jitter_ms ?? 0, r.rttMs ?? 0);
      }
    }
    if (selfId !== undefined && selfId !== null) {
      const outs = readings.flatMap((r) => r.outbound.map((o) => ({ o, rtt: r.rttMs })));
      const reported = outs.filter(({ o }) => o.remote_fraction_lost !== undefined || o.remote_jitter_ms !== undefined);
      if (reported.length) {
        const loss = Math.max(...reported.map(({ o }) => (o.remote_fraction_lost ?? 0) * 100));
        const jitter = Math.max(...reported.map(({ o }) => o.remote_jitter_ms ?? 0));
        const rtts = reported.map(({ o, rtt }) => o.rtt_ms ?? rtt).filter((x) => x !== undefined);
        const rtt = rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : 0;
        push(String(selfId), loss, jitter, rtt);
      }
    }
    return { samples, changes };
  }
}

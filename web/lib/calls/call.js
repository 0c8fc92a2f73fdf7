// One call this device takes part in: participants, the microphone, mute,
// the media session (sfu or p2p), remote audio elements, speaking and
// quality from getStats, the `call_stats` report every 5 s, live call issues
// (`call_issue`), and telling the server when the user talks while muted.
//
// State: `joining` -> `connecting` (media being set up) -> `connected`;
// `reconnecting` while the socket is re-established or the media is rebuilt;
// `left` or `ended` at the end (final).

import { Emitter } from "../emitter.js";
import { EarshotError } from "../errors.js";
import { SfuSession } from "./sfu.js";
import { P2pSession } from "./p2p.js";
import { RemoteAudio, openMicrophone } from "./media.js";
import { readPeerStats, callStatsReport, QualityTracker } from "../stats.js";
import { SpeakingDetector } from "../speaking.js";
import { MutedTalkDetector, MicLevelMeter } from "./muted-talk.js";
import { IssueSet } from "./issues.js";

const FINAL = new Set(["left", "ended"]);

export class Call extends Emitter {
  /**
   * @param {any} client the EarshotClient
   * @param {object} info the call view (`call_started` / `call_joined`)
   * @param {object} o options (see CallOptions in earshot.d.ts)
   */
  constructor(client, info, o = {}) {
    super();
    this.client = client;
    this.id = info.id;
    this.info = info;
    this.options = o;
    this.state = "joining";
    this.mediaState = "new";
    this.participantId = null;
    /** participant id -> participant view plus {speaking, level, quality, serverQuality} */
    this.participants = new Map();
    /** Levels of participants not known yet (at most a call's worth). */
    this._earlyLevels = new Map();
    this.iceServers = [];
    this.localStream = null;
    this.muted = !!o.muted;
    this.deviceId = o.deviceId;
    this.session = null;
    this.activeSpeaker = null;
    this.audio = new RemoteAudio({
      container: o.audioContainer,
      onBlocked: (pid, err) => this.emit("autoplay_blocked", { participant_id: pid, error: err }),
    });
    this.quality = new QualityTracker({ required: o.qualityRequiredSamples ?? 2 });
    this.speaking = new SpeakingDetector(o.speaking);
    this.timers = { level: null, quality: null, report: null };
    this.lastReport = null;
    this.endReason = null;
    /** Live issues the server raised for this device (`call_issue`), by key. */
    this.issueSet = new IssueSet();
    /** Talking while muted: the decision, the level meter (while muted) and its poll. */
    this.mutedTalk = o.mutedTalk === false ? null : new MutedTalkDetector(o.mutedTalk ?? {});
    this.mutedTalkMeter = null;
    this.mutedTalkTimer = null;
  }

  /** The live issues of this device in the call, most important first. */
  get issues() {
    return this.issueSet.list(this.participantId);
  }

  get roomId() {
    return this.info.room_id;
  }

  /** True until someone other than the caller answers (`call.info.state`). */
  get ringing() {
    return this.info.state === "ringing";
  }

  /** When the first callee answered (ms since the epoch, server clock), or null. */
  get answeredAt() {
    return this.info.answered_at ?? null;
  }

  /** The call's state changed on the server (`call_updated`). */
  _onUpdated(info) {
    const participants = this.info.participants;
    this.info = { ...info, participants: participants ?? info.participants };
    this.emit("updated", this.info);
  }

  get mode() {
    return this.info.mode;
  }

  get localTrack() {
    return this.localStream?.getAudioTracks()[0] ?? null;
  }

  /** The RTCPeerConnections of this call: `[{pc, participantId}]` (participantId null in sfu calls). */
  get peerConnections() {
    return this.session?.peerConnections ?? [];
  }

  /** This participant's `<audio>` element, if their audio has arrived. */
  audioElement(participantId) {
    return this.audio.get(String(participantId));
  }

  _setState(state, extra = {}) {
    if (this.state === state || FINAL.has(this.state)) return;
    const previous = this.state;
    this.state = state;
    this.emit("state", state, { previous, ...extra });
  }

  // ---- joining ------------------------------------------------------------

  /** Open the microphone (unless given a stream) and join. Used by the call manager. */
  async _join() {
    if (!this.localStream) {
      this.localStream = this.options.stream ?? (await openMicrophone(this.deviceId));
      this.ownsStream = !this.options.stream;
    }
    this._applyMute();
    const joined = await this.client.request("join_call", { call_id: this.id });
    await this._joined(joined);
    return this;
  }

  async _joined(f) {
    this.info = f.call;
    this.participantId = String(f.participant_id);
    this.iceServers = this.options.iceServers ?? f.ice_servers ?? [];
    this.participants.clear();
    for (const p of f.call.participants ?? []) this._addParticipant(p);
    // A new participant: the old one's issues ended with it.
    for (const issue of this.issueSet.clear()) this.emit("issue_cleared", issue);
    this.mutedTalk?.reset();
    this._setState("connecting");
    this.session = this.mode === "p2p" ? new P2pSession(this, this.options.p2p) : new SfuSession(this);
    if (this.muted) this.client.send({ type: "set_mute", call_id: this.id, muted: true });
    this._startTimers();
    this._watchMutedTalk();
    this.emit("joined", { participant_id: this.participantId, call: this.info });
    await this.session.start();
    if (this.mode === "p2p" && this.participants.size <= 1) this._mediaState("waiting");
  }

  _addParticipant(p) {
    const id = String(p.participant_id);
    const prev = this.participants.get(id);
    const view = { ...prev, ...p, participant_id: id, speaking: prev?.speaking ?? false, level: prev?.level ?? 0 };
    view.isLocal = id === this.participantId;
    const early = this._earlyLevels.get(id);
    if (early) {
      view.serverQuality ??= early;
      this._earlyLevels.delete(id);
    }
    this.participants.set(id, view);
    return view;
  }

  /** After a reconnect of the socket: the server dropped us from the call; join again. */
  async _rejoin(reason = "reconnected") {
    if (FINAL.has(this.state)) return;
    this._teardownMedia();
    this._setState("reconnecting", { reason });
    try {
      // `replaces`: our participant from before, which the server may still
      // hold (a half-open socket); it leaves as we join.
      const replaces = this.participantId ? { replaces: this.participantId } : {};
      const joined = await this.client.request("join_call", { call_id: this.id, ...replaces });
      await this._joined(joined);
      this.emit("rejoined", { participant_id: this.participantId, reason });
    } catch (err) {
      if (err.code === "NOT_FOUND") this._finish("ended", { reason: "gone" });
      else if (err.code !== "DISCONNECTED") {
        this.emit("error", err);
        this._finish("left", { reason: "rejoin failed", error: err });
      }
    }
  }

  // ---- frames ---------------------------------------------------------------

  /** A frame for this call (routed by the call manager). */
  _onFrame(f) {
    switch (f.type) {
      case "call_participant_joined": {
        const p = this._addParticipant(f.participant);
        this.session?.participantJoined(p.participant_id);
        this.emit("participant_joined", p);
        this.emit("participants", this.participantList());
        if (this.mode === "p2p" && this.mediaState === "waiting") this._mediaState("connecting");
        break;
      }
      case "call_participant_left": {
        const id = String(f.participant_id);
        const p = this.participants.get(id);
        this.participants.delete(id);
        this.session?.participantLeft(id);
        this.audio.detach(id);
        this.quality.forget(id);
        this.speaking.forget(id);
        for (const issue of this.issueSet.forget(id)) this.emit("issue_cleared", issue);
        if (this.activeSpeaker === id) this._setActiveSpeaker(null);
        this.emit("participant_left", { participant_id: id, user_id: f.user_id, participant: p });
        this.emit("participants", this.participantList());
        if (this.mode === "p2p" && this.participants.size <= 1) this._mediaState("waiting");
        break;
      }
      case "participant_muted": {
        const p = this.participants.get(String(f.participant_id));
        if (p) p.muted = f.muted;
        if (String(f.participant_id) === this.participantId) {
          // The server reports the effective state (muted while our own or a
          // moderator's mute is on): a moderator's frame that changes what
          // others hear of us is news; one that changes nothing is not.
          const before = this._heardMuted ?? this.muted;
          this._heardMuted = f.muted;
          if (f.by && f.muted !== before) this.emit("muted_by_moderator", { muted: f.muted, by: f.by });
        }
        this.emit("muted", { participant_id: String(f.participant_id), muted: f.muted, by: f.by });
        this.emit("participants", this.participantList());
        break;
      }
      case "active_speaker":
        this._setActiveSpeaker(f.participant_id === undefined || f.participant_id === null ? null : String(f.participant_id));
        break;
      case "connection_quality": {
        const id = String(f.participant_id);
        const level = { level: f.level, mos: f.mos, loss_pct: f.loss_pct, jitter_ms: f.jitter_ms, rtt_ms: f.rtt_ms };
        const p = this.participants.get(id);
        if (p) p.serverQuality = level;
        // A level can arrive before the participant it is about (frames
        // race the join's reply): kept until they show up.
        else if (this._earlyLevels.size < 64) this._earlyLevels.set(id, level);
        this.emit("connection_quality", f);
        break;
      }
      case "call_issue":
      case "call_issue_cleared": {
        const change = this.issueSet.apply(f);
        if (change) this.emit(change.raised ? "issue" : "issue_cleared", change.issue);
        break;
      }
      case "call_ended":
        this._finish("ended", { reason: f.reason, outcome: f.outcome, duration_ms: f.duration_ms, ended_by: f.ended_by });
        break;
      case "call_left":
        // Unprompted: the server removed this device because its media
        // connection failed. Join again with a fresh one (unless already).
        if (f.request_id === undefined && f.reason === "media_failed" && this.state !== "reconnecting") {
          this._rejoin("media failed");
        } else if (f.request_id === undefined && f.reason === "replaced") {
          // Another connection of ours joined in this one's place.
          this._finish("left", { reason: "replaced" });
        } else if (f.request_id === undefined && f.reason === "removed") {
          // We were removed from the call's room: the call is over for us.
          this._finish("left", { reason: "removed" });
        }
        break;
      default:
        this.session?.onFrame(f);
    }
  }

  _setActiveSpeaker(id) {
    if (id === this.activeSpeaker) return;
    this.activeSpeaker = id;
    this.emit("active_speaker", { participant_id: id, participant: id ? this.participants.get(id) : undefined });
  }

  participantList() {
    return [...this.participants.values()];
  }

  // ---- media callbacks from the session ------------------------------------------

  _remoteTrack(pid, track, stream) {
    const el = this.audio.attach(pid, stream);
    this.emit("track", { participant_id: pid, track, stream, element: el });
  }

  _remoteTrackGone(pid) {
    this.audio.detach(pid);
  }

  _mediaState(s) {
    if (this.mediaState === s) return;
    this.mediaState = s;
    this.emit("media_state", s);
    if (FINAL.has(this.state)) return;
    if (s === "connected") this._setState("connected");
    else if (s === "failed") {
      // The SFU drops a participant whose connection failed; join again.
      if (this.mode === "sfu") this._rejoin("media failed");
    } else if (s === "waiting" && this.state !== "reconnecting") this._setState("connected");
  }

  _mediaError(err) {
    const e = err instanceof EarshotError ? err : new EarshotError("MEDIA", String(err?.message ?? err), { cause: err });
    if (FINAL.has(this.state) || e.code === "DISCONNECTED") return;
    this.emit("error", e);
  }

  // ---- controls ---------------------------------------------------------------

  _applyMute() {
    const t = this.localTrack;
    if (t) t.enabled = !this.muted;
    this._watchMutedTalk();
  }

  // ---- talking while muted -------------------------------------------------

  /** Listen to the microphone while muted (and in the call); stop otherwise. */
  _watchMutedTalk() {
    if (!this.mutedTalk) return;
    const listen = this.muted && !!this.localTrack && this.participantId !== null && this.session !== null && !FINAL.has(this.state);
    if (!listen) {
      this._stopMutedTalkMeter();
      const verdict = this.mutedTalk.update(false, 0, Date.now());
      if (verdict !== null) this._reportMutedTalk(verdict);
      return;
    }
    if (this.mutedTalkMeter?.track === this.localTrack) return;
    this._stopMutedTalkMeter();
    try {
      this.mutedTalkMeter = new MicLevelMeter(this.localTrack);
      this.mutedTalkMeter.track = this.localTrack;
    } catch {
      return; // no WebAudio here: nothing to listen with
    }
    this.mutedTalkTimer = setInterval(() => {
      const verdict = this.mutedTalk.update(this.muted, this.mutedTalkMeter?.read() ?? 0, Date.now());
      if (verdict !== null) this._reportMutedTalk(verdict);
    }, this.options.mutedTalkIntervalMs ?? 100);
  }

  _stopMutedTalkMeter() {
    clearInterval(this.mutedTalkTimer);
    this.mutedTalkTimer = null;
    this.mutedTalkMeter?.close();
    this.mutedTalkMeter = null;
  }

  /** Tell the app and the server (which raises or clears `talking_while_muted` for this device). */
  _reportMutedTalk(active) {
    this.emit("talking_while_muted", { active });
    if (this.participantId === null || this.client.state !== "connected") return;
    this.client.calls._reportIssue({ call_id: this.id, issue: "talking_while_muted", active });
  }

  /** Mute or unmute this device (the SFU stops forwarding while muted). */
  setMuted(muted) {
    this.muted = !!muted;
    this._applyMute();
    if (this.participantId && !FINAL.has(this.state)) this.client.send({ type: "set_mute", call_id: this.id, muted: this.muted });
    const me = this.participants.get(this.participantId);
    if (me) me.muted = this.muted;
    this.emit("local_muted", { muted: this.muted });
    return this.muted;
  }

  toggleMute() {
    return this.setMuted(!this.muted);
  }

  /** Switch microphones without leaving the call. */
  async setMicrophone(deviceId) {
    const stream = await openMicrophone(deviceId);
    const track = stream.getAudioTracks()[0];
    const old = this.localStream;
    this.localStream = stream;
    this.deviceId = deviceId;
    this._applyMute();
    await this.session?.replaceTrack(track);
    if (this.ownsStream !== false) for (const t of old?.getTracks() ?? []) t.stop();
    this.ownsStream = true;
    this.emit("microphone", { deviceId, label: track.label });
    return track;
  }

  /** Play remote audio on another output device (where the browser supports it). */
  setOutputDevice(deviceId) {
    return this.audio.setSinkId(deviceId);
  }

  /** Retry playback blocked by the browser's autoplay policy (call from a click). */
  resumeAudio() {
    this.audio.resume();
  }

  /** Restart ICE (p2p: every connection; sfu: the connection to the server). */
  restartIce() {
    this.session?.restartIce();
  }

  /** Offer again (sfu). */
  renegotiate() {
    return this.session?.renegotiate() ?? Promise.resolve();
  }

  /** Moderators: mute or unmute someone else. */
  muteParticipant(participantId, muted = true) {
    return this.client.request("mute_participant", { call_id: this.id, participant_id: String(participantId), muted });
  }

  /** Leave the call (it goes on for the others). */
  async leave() {
    if (FINAL.has(this.state)) return;
    const wasIn = this.participantId !== null;
    this._finish("left", { reason: "left" });
    if (wasIn && this.client.state === "connected") {
      await this.client.request("leave_call", { call_id: this.id }).catch(() => {});
    }
  }

  /** The caller gives up before anyone answered: the call ends for everyone. */
  async cancel() {
    await this.client.request("cancel_call", { call_id: this.id });
  }

  /** End the call for everyone (its initiator or staff). */
  async end() {
    await this.client.request("end_call", { call_id: this.id });
  }

  _finish(state, info) {
    if (FINAL.has(this.state)) return;
    this.endReason = info.reason;
    this._teardownMedia();
    if (this.ownsStream !== false) for (const t of this.localStream?.getTracks() ?? []) t.stop();
    this.localStream = null;
    for (const issue of this.issueSet.clear()) this.emit("issue_cleared", issue);
    this._setState(state, info);
    this.emit(state, info);
    this.client.calls?._forget(this);
  }

  _teardownMedia() {
    this._stopTimers();
    this._stopMutedTalkMeter();
    this.session?.close();
    this.session = null;
    this.audio.clear();
    this.mediaState = "new";
    this.activeSpeaker = null;
  }

  // ---- stats --------------------------------------------------------------------

  /** Read every peer connection's stats once. */
  async readStats() {
    const pcs = this.peerConnections;
    const readings = [];
    for (const { pc } of pcs) {
      if (pc.connectionState === "closed") continue;
      const report = await pc.getStats();
      readings.push(readPeerStats(report, (stat) => this.session?.participantForInbound(stat, pc)));
    }
    return readings;
  }

  /** The `call_stats` message as it would be sent now. */
  async statsReport() {
    const readings = await this.readStats();
    return callStatsReport(this.id, readings, { connectionStates: this.peerConnections.map(({ pc }) => pc.connectionState) });
  }

  _startTimers() {
    this._stopTimers();
    const o = this.options;
    const every = (name, ms, fn) => {
      const tick = async () => {
        try {
          await fn();
        } catch (err) {
          if (!FINAL.has(this.state)) this.emit("stats_error", err);
        }
        if (this.timers[name] !== null) this.timers[name] = setTimeout(tick, ms);
      };
      this.timers[name] = setTimeout(tick, ms);
    };
    every("level", o.levelIntervalMs ?? 300, () => this._levels());
    every("quality", o.qualityIntervalMs ?? 2000, () => this._sampleQuality());
    every("report", o.statsIntervalMs ?? 2000, () => this._report());
  }

  _stopTimers() {
    for (const k of Object.keys(this.timers)) {
      clearTimeout(this.timers[k]);
      this.timers[k] = null;
    }
  }

  async _levels() {
    const readings = await this.readStats();
    const levels = new Map();
    for (const r of readings) for (const i of r.inbound) levels.set(i.participant_id, Math.max(levels.get(i.participant_id) ?? 0, i.audio_level ?? 0));
    if (this.participantId) {
      const own = readings.reduce((m, r) => Math.max(m, r.sourceLevel ?? 0), 0);
      levels.set(this.participantId, this.muted ? 0 : own);
    }
    const { changes, active, activeChanged } = this.speaking.update(levels, Date.now());
    for (const [id, level] of levels) {
      const p = this.participants.get(id);
      if (p) p.level = level;
    }
    for (const c of changes) {
      const p = this.participants.get(c.participant_id);
      if (p) p.speaking = c.speaking;
      this.emit("speaking", { ...c, participant: p });
    }
    // The SFU announces the active speaker itself; in p2p calls we pick it.
    if (this.mode === "p2p" && activeChanged) this._setActiveSpeaker(active);
  }

  async _sampleQuality() {
    const { changes, samples } = this.quality.sample(await this.readStats(), this.participantId);
    for (const s of samples) {
      const p = this.participants.get(s.participant_id);
      if (p) p.quality = s;
    }
    for (const c of changes) {
      const p = this.participants.get(c.participant_id);
      this.emit("quality", { ...c, call_id: this.id, user_id: p?.user?.id, participant: p });
    }
  }

  async _report() {
    if (this.client.state !== "connected" || !this.participantId) return;
    const msg = await this.statsReport();
    this.lastReport = msg;
    this.emit("stats", msg);
    await this.client.calls._sendStats(msg);
  }
}

// The media side of an `sfu` call: one RTCPeerConnection to the server's
// SFU (docs/PROTOCOL.md, "SFU negotiation").
//
// - The first exchange is ours: add the microphone, offer (`sfu_offer`),
//   apply the server's `sfu_answer`.
// - After that the server offers whenever tracks come or go; we answer.
// - Glare: the server never rolls back. A client offer it refuses with
//   CONFLICT is rolled back and the server's offer is answered. Offer and
//   answer steps run one at a time (`_serial`), so a server offer that
//   arrives while our offer is out waits until the CONFLICT has been handled.
// - Every incoming track is one participant's audio: stream id
//   `p-<participant_id>` (track id `audio-<participant_id>`, or
//   `audio-<participant_id>-<n>` when they left and came back).
// - ICE candidates trickle both ways; ours wait until our first offer is
//   out, the server's until a remote description is set.
// - A network change (`online`, `navigator.connection` `change`) restarts
//   ICE with a new client offer.

import { EarshotError } from "../errors.js";

/** The participant id of an SFU track: stream `p-<id>`, or track `audio-<id>` / `audio-<id>-<n>`. */
export function participantOfSfuTrack(streamId, trackId) {
  if (typeof streamId === "string" && streamId.startsWith("p-")) return streamId.slice(2);
  if (typeof trackId === "string" && trackId.startsWith("audio-")) return trackId.slice(6).split("-")[0];
  return undefined;
}

/** A server candidate for addIceCandidate: an empty `sdpMid` means "use the m-line index". */
export function candidateInit(c) {
  if (!c || typeof c !== "object") return c;
  const init = { ...c };
  if (init.sdpMid === "" || init.sdpMid === undefined) {
    init.sdpMid = null;
    if (init.sdpMLineIndex === undefined || init.sdpMLineIndex === null) init.sdpMLineIndex = 0;
  }
  if (init.usernameFragment === undefined) init.usernameFragment = null;
  return init;
}

export class SfuSession {
  /** @param {import("./call.js").Call} call */
  constructor(call) {
    this.call = call;
    this.pc = null;
    this.chain = Promise.resolve();
    this.offered = false; // our first sfu_offer is out
    this.negotiated = false; // the first exchange is done
    this.localCandidates = [];
    this.remoteCandidates = [];
    /** track id / mid -> participant id */
    this.trackOwners = new Map();
    this.closed = false;
    this.sender = null;
    this._onNetworkChange = () => this.restartIce("network change");
  }

  get peerConnections() {
    return this.pc ? [{ pc: this.pc, participantId: null }] : [];
  }

  /** Whose audio an inbound-rtp stat is. */
  participantForInbound(stat) {
    return (
      this.trackOwners.get(`t:${stat.trackIdentifier}`) ??
      this.trackOwners.get(`m:${stat.mid}`) ??
      participantOfSfuTrack(undefined, stat.trackIdentifier)
    );
  }

  async start() {
    const call = this.call;
    const pc = new RTCPeerConnection({ iceServers: call.iceServers, bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.pc = pc;
    const track = call.localTrack;
    this.sender = track ? pc.addTrack(track, call.localStream) : pc.addTransceiver("audio", { direction: "sendrecv" }).sender;
    pc.onicecandidate = (e) => {
      const c = e.candidate;
      if (!c || !c.candidate) return; // end of candidates: the server needs no marker
      const json = typeof c.toJSON === "function" ? c.toJSON() : c;
      if (this.offered) this._sendCandidate(json);
      else this.localCandidates.push(json);
    };
    pc.ontrack = (e) => this._onTrack(e);
    pc.onconnectionstatechange = () => {
      if (this.closed) return;
      call._mediaState(pc.connectionState);
    };
    pc.onnegotiationneeded = () => {
      // The first offer is sent by start(); later needs (an ICE restart) renegotiate.
      if (this.negotiated && !this.closed) this.renegotiate("negotiationneeded");
    };
    globalThis.window?.addEventListener?.("online", this._onNetworkChange);
    globalThis.navigator?.connection?.addEventListener?.("change", this._onNetworkChange);
    await this._serial(() => this._offer("initial"));
  }

  _sendCandidate(candidate) {
    this.call.client.send({ type: "ice_candidate", call_id: this.call.id, candidate });
  }

  /** Run negotiation steps one at a time, in arrival order. */
  _serial(fn) {
    const run = this.chain.then(() => (this.closed ? undefined : fn()));
    this.chain = run.catch(() => {});
    return run;
  }

  async _offer(reason) {
    const pc = this.pc;
    const call = this.call;
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // `request` sends synchronously when connected, so the offer goes out
    // before the candidates flushed right after it.
    const reply = call.client.request("sfu_offer", { call_id: call.id, sdp: pc.localDescription.sdp });
    if (!this.offered) {
      this.offered = true;
      for (const c of this.localCandidates.splice(0)) this._sendCandidate(c);
    }
    let answer;
    try {
      answer = await reply;
    } catch (err) {
      if (err.code === "CONFLICT") {
        // Glare: the server's offer wins. Roll ours back; its offer is next in line.
        if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" });
        call.emit("glare", { reason, error: err });
        return;
      }
      if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      throw err;
    }
    if (this.closed || pc.signalingState !== "have-local-offer") return;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    this.negotiated = true;
    await this._flushRemoteCandidates();
    call.emit("negotiated", { by: "client", reason });
  }

  /** A server-initiated `sfu_offer`: tracks were added or removed. */
  _answer(sdp) {
    return this._serial(async () => {
      const pc = this.pc;
      if (pc.signalingState === "have-local-offer") {
        // Our offer crossed the server's: the server keeps its own.
        await pc.setLocalDescription({ type: "rollback" });
        this.call.emit("glare", { reason: "server offer", error: null });
      }
      await pc.setRemoteDescription({ type: "offer", sdp });
      await this._flushRemoteCandidates();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.call.client.send({ type: "sfu_answer", call_id: this.call.id, sdp: pc.localDescription.sdp });
      this.negotiated = true;
      this.call.emit("negotiated", { by: "server" });
    });
  }

  async _flushRemoteCandidates() {
    const pc = this.pc;
    if (!pc.remoteDescription) return;
    for (const c of this.remoteCandidates.splice(0)) {
      try {
        await pc.addIceCandidate(c);
      } catch (err) {
        this.call.emit("error", new EarshotError("MEDIA", `server candidate refused: ${err?.message ?? err}`, { cause: err }));
      }
    }
  }

  /** A frame for this call's media. */
  onFrame(f) {
    if (this.closed) return;
    if (f.type === "sfu_offer" && f.request_id === undefined) {
      this._answer(f.sdp).catch((err) => this.call._mediaError(err));
    } else if (f.type === "ice_candidate") {
      const c = candidateInit(f.candidate);
      if (!c?.candidate) return;
      this.remoteCandidates.push(c);
      if (this.pc?.remoteDescription) this._flushRemoteCandidates();
    }
  }

  _onTrack(e) {
    const stream = e.streams?.[0];
    const pid = participantOfSfuTrack(stream?.id, e.track?.id);
    if (pid === undefined) return;
    this.trackOwners.set(`t:${e.track.id}`, pid);
    if (e.transceiver?.mid != null) this.trackOwners.set(`m:${e.transceiver.mid}`, pid);
    const media = stream ?? new MediaStream([e.track]);
    this.call._remoteTrack(pid, e.track, media);
    if (stream) {
      stream.onremovetrack = () => {
        if (stream.getTracks().length === 0) this.call._remoteTrackGone(pid, stream);
      };
    }
  }

  /** Offer again (e.g. after an ICE restart); glare is handled as the protocol says. */
  renegotiate(reason = "renegotiate") {
    if (!this.pc || !this.negotiated) return Promise.resolve();
    return this._serial(() => this._offer(reason)).catch((err) => this.call._mediaError(err));
  }

  restartIce(reason = "requested") {
    if (!this.pc || !this.negotiated || this.closed) return;
    this.pc.restartIce(); // negotiationneeded follows: renegotiate() with fresh credentials
    this.call.emit("ice_restart", { participant_id: null, reason });
  }

  async replaceTrack(track) {
    await this.sender?.replaceTrack(track);
  }

  participantLeft() {}
  participantJoined() {}

  close() {
    this.closed = true;
    globalThis.window?.removeEventListener?.("online", this._onNetworkChange);
    globalThis.navigator?.connection?.removeEventListener?.("change", this._onNetworkChange);
    try {
      this.pc?.close();
    } catch {
      /* already closed */
    }
  }
}

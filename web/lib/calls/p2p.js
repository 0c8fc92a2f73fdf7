// The media side of a `p2p` call: one RTCPeerConnection per other
// participant; the server only relays `call_signal` between them.
//
// Signals: `{type: "offer" | "answer", sdp}` and `{type: "candidate",
// candidate}` (RTCIceCandidateInit JSON). Negotiation follows the "perfect
// negotiation" pattern: either side may offer at any time (a joiner offers to
// everyone already in the call, either side offers again for an ICE restart);
// when offers cross, the polite side (the lower participant id) rolls back
// and answers, the impolite side ignores the other's offer.
//
// ICE restart: on a network change (`online`, `navigator.connection`
// `change`) and when a connection's ICE fails, or stays `disconnected` for
// `disconnectedRestartMs`, that connection restarts ICE.

import { EarshotError } from "../errors.js";

/** Whether we are the polite peer towards `other`: the lower id is. */
export function isPolite(mine, other) {
  const a = Number(mine);
  const b = Number(other);
  if (Number.isFinite(a) && Number.isFinite(b) && a !== b) return a < b;
  return String(mine) < String(other);
}

export class P2pSession {
  /** @param {import("./call.js").Call} call */
  constructor(call, { disconnectedRestartMs = 2500 } = {}) {
    this.call = call;
    this.disconnectedRestartMs = disconnectedRestartMs;
    /** participant id -> peer state */
    this.peers = new Map();
    this.closed = false;
    this._onNetworkChange = () => this.restartIce("network change");
  }

  get peerConnections() {
    return [...this.peers.values()].map((p) => ({ pc: p.pc, participantId: p.id }));
  }

  participantForInbound(_stat, pc) {
    for (const p of this.peers.values()) if (p.pc === pc) return p.id;
    return undefined;
  }

  async start() {
    const w = globalThis.window;
    w?.addEventListener?.("online", this._onNetworkChange);
    globalThis.navigator?.connection?.addEventListener?.("change", this._onNetworkChange);
    // A joiner calls everyone already in the call.
    for (const p of this.call.participants.values()) {
      if (p.participant_id !== this.call.participantId) this._peer(p.participant_id);
    }
  }

  _peer(pid) {
    let peer = this.peers.get(pid);
    if (peer) return peer;
    const call = this.call;
    const pc = new RTCPeerConnection({ iceServers: call.iceServers });
    peer = {
      id: pid,
      pc,
      polite: isPolite(call.participantId, pid),
      makingOffer: false,
      ignoreOffer: false,
      chain: Promise.resolve(),
      restartTimer: null,
      sender: null,
    };
    this.peers.set(pid, peer);
    if (call.localTrack) peer.sender = pc.addTrack(call.localTrack, call.localStream);
    else peer.sender = pc.addTransceiver("audio", { direction: "sendrecv" }).sender;
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        this._signal(pid, { type: pc.localDescription.type, sdp: pc.localDescription.sdp });
      } catch (err) {
        call._mediaError(err);
      } finally {
        peer.makingOffer = false;
      }
    };
    pc.onicecandidate = (e) => {
      const c = e.candidate;
      if (c && c.candidate) this._signal(pid, { type: "candidate", candidate: c.toJSON() });
    };
    pc.ontrack = (e) => {
      const stream = e.streams?.[0] ?? new MediaStream([e.track]);
      call._remoteTrack(pid, e.track, stream);
    };
    pc.oniceconnectionstatechange = () => {
      const s = pc.iceConnectionState;
      clearTimeout(peer.restartTimer);
      peer.restartTimer = null;
      if (s === "failed") this._restart(peer, "ice failed");
      else if (s === "disconnected") {
        peer.restartTimer = setTimeout(() => {
          if (pc.iceConnectionState === "disconnected") this._restart(peer, "ice disconnected");
        }, this.disconnectedRestartMs);
      }
    };
    pc.onconnectionstatechange = () => this._reportState();
    return peer;
  }

  _signal(to, signal) {
    this.call.client.send({ type: "call_signal", call_id: this.call.id, to, signal });
  }

  /** Aggregate state: connected when every peer is; failed if any failed. */
  _reportState() {
    if (this.closed) return;
    const states = [...this.peers.values()].map((p) => p.pc.connectionState);
    let s = "new";
    if (states.length && states.every((x) => x === "connected")) s = "connected";
    else if (states.includes("failed")) s = "failed";
    else if (states.includes("disconnected")) s = "disconnected";
    else if (states.includes("connecting")) s = "connecting";
    else if (states.includes("connected")) s = "connected";
    this.call._mediaState(s);
  }

  /** A relayed `call_signal` from participant `from`. */
  onFrame(f) {
    if (this.closed || f.type !== "call_signal") return;
    const peer = this._peer(String(f.from));
    const signal = f.signal ?? {};
    peer.chain = peer.chain
      .then(() => this._onSignal(peer, signal))
      .catch((err) => this.call._mediaError(err));
  }

  async _onSignal(peer, signal) {
    const pc = peer.pc;
    if (signal.type === "offer" || signal.type === "answer") {
      const collision = signal.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
      peer.ignoreOffer = !peer.polite && collision;
      if (peer.ignoreOffer) return;
      if (collision) this.call.emit("glare", { participant_id: peer.id, reason: "p2p offers crossed" });
      // A polite peer's setRemoteDescription rolls its own offer back.
      await pc.setRemoteDescription({ type: signal.type, sdp: signal.sdp });
      if (signal.type === "offer") {
        await pc.setLocalDescription();
        this._signal(peer.id, { type: "answer", sdp: pc.localDescription.sdp });
      } else {
        this.call.emit("negotiated", { by: "p2p", participant_id: peer.id });
      }
    } else if (signal.type === "candidate") {
      try {
        await pc.addIceCandidate(signal.candidate);
      } catch (err) {
        if (!peer.ignoreOffer) throw new EarshotError("MEDIA", `candidate refused: ${err?.message ?? err}`, { cause: err });
      }
    }
  }

  _restart(peer, reason) {
    if (this.closed || peer.pc.signalingState === "closed") return;
    peer.pc.restartIce(); // negotiationneeded follows: a new offer with fresh ICE credentials
    this.call.emit("ice_restart", { participant_id: peer.id, reason });
  }

  /** Restart ICE on every connection (the network changed). */
  restartIce(reason = "requested") {
    for (const peer of this.peers.values()) this._restart(peer, reason);
  }

  renegotiate() {
    this.restartIce("renegotiate");
    return Promise.resolve();
  }

  async replaceTrack(track) {
    await Promise.all([...this.peers.values()].map((p) => p.sender?.replaceTrack(track)));
  }

  participantJoined() {
    // The joiner offers; nothing to do until its offer arrives.
  }

  participantLeft(pid) {
    const peer = this.peers.get(pid);
    if (!peer) return;
    clearTimeout(peer.restartTimer);
    this.peers.delete(pid);
    peer.pc.close();
    this._reportState();
  }

  close() {
    this.closed = true;
    globalThis.window?.removeEventListener?.("online", this._onNetworkChange);
    globalThis.navigator?.connection?.removeEventListener?.("change", this._onNetworkChange);
    for (const peer of this.peers.values()) {
      clearTimeout(peer.restartTimer);
      try {
        peer.pc.close();
      } catch {
        /* already closed */
      }
    }
    this.peers.clear();
  }
}

// Local microphone and remote audio playback for calls.

import { EarshotError } from "../errors.js";

/** Audio constraints for a call: voice processing on, an exact device if given. */
export function micConstraints(deviceId) {
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (deviceId) audio.deviceId = { exact: deviceId };
  return { audio, video: false };
}

function mediaDevices() {
  const md = globalThis.navigator?.mediaDevices;
  if (!md?.getUserMedia) {
    throw new EarshotError("MEDIA_UNAVAILABLE", "this page cannot use a microphone (needs https or localhost and a browser with WebRTC)");
  }
  return md;
}

/**
 * Open the microphone (`deviceId`: one of `listMicrophones()`, default: the
 * system's). Rejects with EarshotError MEDIA_DENIED or MEDIA_UNAVAILABLE.
 * @returns {Promise<MediaStream>}
 */
export async function openMicrophone(deviceId) {
  const md = mediaDevices();
  try {
    return await md.getUserMedia(micConstraints(deviceId));
  } catch (err) {
    const denied = err?.name === "NotAllowedError" || err?.name === "SecurityError";
    throw new EarshotError(denied ? "MEDIA_DENIED" : "MEDIA_UNAVAILABLE", `microphone: ${err?.message ?? err}`, { cause: err });
  }
}

/**
 * The microphones the browser offers: `[{deviceId, label, groupId}]`. Labels
 * are empty until the page has been granted microphone access once.
 */
export async function listMicrophones() {
  const md = globalThis.navigator?.mediaDevices;
  if (!md?.enumerateDevices) return [];
  const devices = await md.enumerateDevices();
  return devices
    .filter((d) => d.kind === "audioinput")
    .map((d) => ({ deviceId: d.deviceId, label: d.label, groupId: d.groupId }));
}

/**
 * One `<audio>` element per remote participant, inside `container` (default:
 * a hidden element appended to the page). The element plays that
 * participant's stream; it is removed when the participant leaves.
 */
export class RemoteAudio {
  /**
   * @param {{container?: HTMLElement | null, onBlocked?: (pid: string, err: unknown) => void, sinkId?: string}} [o]
   */
  constructor(o = {}) {
    this.container = o.container ?? null;
    this.onBlocked = o.onBlocked ?? (() => {});
    this.sinkId = o.sinkId;
    /** participant id -> HTMLAudioElement */
    this.elements = new Map();
    this.ownContainer = null;
  }

  _host() {
    if (this.container) return this.container;
    const doc = globalThis.document;
    if (!doc) return null;
    if (!this.ownContainer) {
      this.ownContainer = doc.createElement("div");
      this.ownContainer.className = "earshot-audio";
      this.ownContainer.hidden = true;
      doc.body.append(this.ownContainer);
    }
    return this.ownContainer;
  }

  /** Play `stream` as participant `pid`'s audio. Returns the element. */
  attach(pid, stream) {
    const doc = globalThis.document;
    if (!doc) return null;
    let el = this.elements.get(pid);
    if (!el) {
      el = doc.createElement("audio");
      el.autoplay = true;
      el.dataset.participantId = pid;
      this.elements.set(pid, el);
      this._host()?.append(el);
      if (this.sinkId && typeof el.setSinkId === "function") el.setSinkId(this.sinkId).catch(() => {});
    }
    if (el.srcObject !== stream) el.srcObject = stream;
    const played = el.play?.();
    if (played && typeof played.catch === "function") played.catch((err) => this.onBlocked(pid, err));
    return el;
  }

  get(pid) {
    return this.elements.get(pid);
  }

  /** Try to play every element again (after a user gesture). */
  resume() {
    for (const el of this.elements.values()) el.play?.()?.catch?.(() => {});
  }

  /**
   * Route every element to an output device (where the browser allows it;
   * "" is the system default). A device the browser refuses changes
   * nothing: elements stay on (and later ones get) the last device that
   * worked.
   */
  async setSinkId(sinkId) {
    const els = [...this.elements.values()].filter((el) => typeof el.setSinkId === "function");
    const before = els.map((el) => el.sinkId);
    try {
      await Promise.all(els.map((el) => el.setSinkId(sinkId)));
    } catch (err) {
      await Promise.all(els.map((el, i) => el.setSinkId(before[i]).catch(() => {})));
      throw err;
    }
    this.sinkId = sinkId;
  }

  detach(pid) {
    const el = this.elements.get(pid);
    if (!el) return;
    this.elements.delete(pid);
    el.pause?.();
    el.srcObject = null;
    el.remove();
  }

  clear() {
    for (const pid of [...this.elements.keys()]) this.detach(pid);
    this.ownContainer?.remove();
    this.ownContainer = null;
  }
}

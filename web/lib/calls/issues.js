// Live call issues (`call_issue` / `call_issue_cleared`) as a set: several
// may be active at once for one device (one_way_audio about two senders,
// reconnecting and no_audio_received...). An issue is keyed by its kind,
// the participant it concerns and, for one_way_audio, the sender whose
// audio does not reach them; a cleared frame ends only the issue with its
// own key. Plain data, no DOM.

/** Every issue kind the server raises (docs/PROTOCOL.md, `call_issue`). */
export const ISSUE_KINDS = Object.freeze(["media_failed", "reconnecting", "talking_while_muted", "no_audio_sent", "no_audio_received", "one_way_audio"]);

/** The identity of an issue: `issue|participant_id|from_participant_id`. */
export function issueKey(f) {
  const from = f.from_participant_id === undefined || f.from_participant_id === null ? "" : String(f.from_participant_id);
  return `${f.issue}|${String(f.participant_id ?? "")}|${from}`;
}

/**
 * How much an issue matters to the device `selfId`, lower first: the call's
 * audio gone or interrupted, then what the user can fix themselves (muted,
 * their microphone), then what they cannot hear, then who cannot hear them.
 */
export function issueRank(f, selfId) {
  const i = ISSUE_KINDS.indexOf(f.issue);
  if (i < 0) return ISSUE_KINDS.length + 1;
  // one_way_audio where this device is the sender comes after the one where it receives.
  if (f.issue === "one_way_audio" && selfId != null && String(f.participant_id) !== String(selfId)) return ISSUE_KINDS.length;
  return i;
}

/** Issues, most important first (then the oldest first). */
export function sortIssues(list, selfId) {
  return [...list].sort((a, b) => issueRank(a, selfId) - issueRank(b, selfId) || (a.since ?? 0) - (b.since ?? 0));
}

/** The active issues of a call, from its frames. */
export class IssueSet {
  constructor() {
    /** key -> the `call_issue` frame (without `type`/`request_id`) */
    this.active = new Map();
  }

  /**
   * Apply a `call_issue` or `call_issue_cleared` frame. Returns
   * `{raised: true|false, key, issue}` when it changed the set, else null.
   */
  apply(f) {
    if (!f || typeof f.issue !== "string") return null;
    const key = issueKey(f);
    if (f.type === "call_issue_cleared") {
      const had = this.active.get(key);
      if (!had) return null;
      this.active.delete(key);
      return { raised: false, key, issue: { ...had, ...strip(f) } };
    }
    const issue = strip(f);
    const had = this.active.has(key);
    this.active.set(key, issue);
    return had ? null : { raised: true, key, issue };
  }

  /** Forget every issue (a rejoin: the server ends the old participant's issues). */
  clear() {
    const gone = [...this.active.values()];
    this.active.clear();
    return gone;
  }

  /** Forget the issues involving a participant (who left); returns them. */
  forget(participantId) {
    const id = String(participantId);
    const gone = [];
    for (const [k, v] of this.active) {
      if (String(v.participant_id) === id || (v.from_participant_id != null && String(v.from_participant_id) === id)) {
        this.active.delete(k);
        gone.push(v);
      }
    }
    return gone;
  }

  get size() {
    return this.active.size;
  }

  /** The active issues, most important first for `selfId`. */
  list(selfId) {
    return sortIssues(this.active.values(), selfId);
  }
}

function strip(f) {
  const { type, request_id, ...rest } = f;
  return rest;
}

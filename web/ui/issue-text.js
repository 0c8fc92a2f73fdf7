// What a live call issue means for the person on this device, in words:
// a short title and a hint of what to do. Pure (no DOM), so the wording is
// unit-tested; the call dock (ui/call.js) shows it.

/**
 * The title and hint of an issue for the device whose participant id is
 * `selfId`. `nameOf(participantId, userId)` gives a person's display name.
 * Returns null for an issue that is not about this device, or of a kind
 * this version does not know.
 * @param {{issue: string, participant_id: string, user_id?: string, from_participant_id?: string, from_user_id?: string}} f
 * @param {{selfId: string | null, nameOf?: (participantId: string | undefined, userId: string | undefined) => string}} o
 * @returns {{title: string, hint: string, side: "self" | "receiver" | "sender"} | null}
 */
export function issueText(f, { selfId, nameOf = (pid, uid) => uid || (pid ? `Participant ${pid}` : "Someone") } = {}) {
  const me = selfId === null || selfId === undefined ? null : String(selfId);
  const mine = me !== null && String(f.participant_id) === me;
  const from = f.from_participant_id === undefined || f.from_participant_id === null ? null : String(f.from_participant_id);
  switch (f.issue) {
    case "no_audio_sent":
      return mine
        ? {
            side: "self",
            title: "Your microphone isn't sending sound",
            hint: "The others can't hear you. Check the microphone chosen below, and that it isn't muted in your system settings.",
          }
        : null;
    case "no_audio_received":
      return mine
        ? {
            side: "self",
            title: "You can't hear the others",
            hint: "Their audio isn't reaching this device. Leave and join the call again, or check your network.",
          }
        : null;
    case "talking_while_muted":
      return mine ? { side: "self", title: "You're muted", hint: "You seem to be talking, but the others can't hear you. Unmute to be heard." } : null;
    case "reconnecting":
      return mine ? { side: "self", title: "Reconnecting audio…", hint: "The call's audio was interrupted. It should come back in a moment." } : null;
    case "media_failed":
      return mine ? { side: "self", title: "Call audio was lost", hint: "The connection for the call's audio failed. Joining again…" } : null;
    case "one_way_audio": {
      if (mine) {
        const sender = nameOf(from ?? undefined, f.from_user_id);
        return { side: "receiver", title: `You can't hear ${sender}`, hint: `${sender}'s audio isn't reaching you. Check your network, or leave and join again.` };
      }
      if (from !== null && from === me) {
        const receiver = nameOf(String(f.participant_id), f.user_id);
        return { side: "sender", title: `${receiver} can't hear you`, hint: `Your audio isn't reaching ${receiver}. The others may still hear you; the problem may be on their side.` };
      }
      return null;
    }
    default:
      return null;
  }
}

// How the call monitor writes its figures: quality levels, MOS, loss,
// jitter, RTT, bitrate, audio level, durations and times. Pure functions
// (no DOM); a missing figure is an em dash, never "NaN" or "null".

/** Quality levels, best first (the server's G.107 bands). */
export const LEVELS = ["excellent", "good", "fair", "poor"];

export const LEVEL_LABEL = { excellent: "Excellent", good: "Good", fair: "Fair", poor: "Poor" };

/** MOS at or above which each level starts (docs/PROTOCOL.md, "Call quality"). */
export const LEVEL_FLOOR = { excellent: 4.34, good: 4.03, fair: 3.6, poor: 1 };

export const NONE = "—";

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** Is `level` worse than `than`? (poor is worst) */
export function worseLevel(level, than) {
  return LEVELS.indexOf(level) > LEVELS.indexOf(than);
}

/** A number with a fixed number of decimals, or the em dash. */
export function fmtNum(v, digits = 0) {
  return isNum(v) ? v.toFixed(digits) : NONE;
}

/** MOS, 1.00–4.50. */
export function fmtMos(v) {
  return fmtNum(v, 2);
}

/** A percentage: one decimal below 10 %, none above. */
export function fmtPct(v) {
  if (!isNum(v)) return NONE;
  return `${Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)}%`;
}

/** Milliseconds: one decimal below 10 ms, none above. */
export function fmtMs(v) {
  if (!isNum(v)) return NONE;
  return `${Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;
}

/** Bitrate in kb/s. */
export function fmtKbps(v) {
  if (!isNum(v)) return NONE;
  return `${v < 100 ? v.toFixed(1) : v.toFixed(0)} kb/s`;
}

/**
 * The RFC 6464 audio level as the server reports it (`audio_level_dbov`:
 * −dBov, 0 loudest, 127 silence), written as dBov.
 */
export function fmtDbov(v) {
  if (!isNum(v)) return NONE;
  if (v >= 127) return "silent";
  return `${v === 0 ? "0" : `−${v.toFixed(0)}`} dBov`;
}

/** How full an audio-level meter is, 0..1: 0 dBov full, −90 dBov and below (or silence) empty. */
export function levelMeter(dbov) {
  if (!isNum(dbov) || dbov >= 127) return 0;
  return Math.min(1, Math.max(0, 1 - dbov / 90));
}

/** A share (0..1) as a whole percentage. */
export function fmtShare(v) {
  return isNum(v) ? `${Math.round(v * 100)}%` : NONE;
}

/** A duration as a clock: 0:07, 4:05, 1:02:03. */
export function fmtClock(ms) {
  if (!isNum(ms)) return NONE;
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Loss on both legs: "0.4% ↑ · 0.0% ↓" (uplink, downlink). */
export function fmtUpDown(up, down) {
  return `${fmtPct(up)} ↑ · ${fmtPct(down)} ↓`;
}

/** Where the figures come from, in words. */
export function fmtSource(source) {
  return { sfu: "SFU", client: "client", "sfu+client": "SFU + client" }[source] ?? (source || NONE);
}

/** `yyyy-mm-dd` (a date input's value) → local midnight in ms; null when empty or invalid. */
export function dayStart(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value ?? "");
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? null : d.getTime();
}

/** The local midnight after the day of `value` (the end of a date range); null when empty. */
export function dayEnd(value) {
  const start = dayStart(value);
  if (start === null) return null;
  const d = new Date(start);
  d.setDate(d.getDate() + 1);
  return d.getTime();
}

/** `yyyy-mm-dd` of a time, in local time (for date inputs). */
export function dateValue(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** 14:05:07 */
export function fmtTime(ms) {
  return isNum(ms) ? timeFmt.format(new Date(ms)) : NONE;
}

/** Dec 1, 14:05 */
export function fmtDateTime(ms) {
  return isNum(ms) ? dateTimeFmt.format(new Date(ms)) : NONE;
}

// ---- live call issues -----------------------------------------------------

/** Issue kinds for the history filter, with what each means. */
export const ISSUE_FILTERS = [
  ["no_audio_sent", "Microphone sent no sound"],
  ["no_audio_received", "Heard nobody"],
  ["one_way_audio", "One-way audio"],
  ["talking_while_muted", "Talked while muted"],
  ["reconnecting", "Audio reconnecting"],
  ["media_failed", "Audio lost"],
];

const nameOrId = (nameOf, pid, uid) => nameOf?.(pid, uid) || uid || (pid != null ? `Participant ${pid}` : "Someone");

/**
 * An issue as a sentence about the people in it, for the monitor:
 * "Amira can't hear Omar". `nameOf(participantId, userId)` names a person.
 */
export function issueSentence(i, nameOf) {
  const who = nameOrId(nameOf, i.participant_id, i.user_id);
  switch (i.issue) {
    case "no_audio_sent":
      return `${who}'s microphone isn't sending sound`;
    case "no_audio_received":
      return `${who} can't hear the others`;
    case "one_way_audio":
      return `${who} can't hear ${nameOrId(nameOf, i.from_participant_id, i.from_user_id)}`;
    case "talking_while_muted":
      return `${who} is talking while muted`;
    case "reconnecting":
      return `${who}'s audio is reconnecting`;
    case "media_failed":
      return `${who}'s call audio was lost`;
    default:
      return `${who}: ${String(i.issue).replaceAll("_", " ")}`;
  }
}

/**
 * A short tag for the issue on participant `participantId`'s row (the one it
 * is about, or for one_way_audio the sender too): "Mic silent", "Can't hear
 * Omar", "Not heard by Amira". Null when the issue is not about them.
 */
export function issueTag(i, participantId, nameOf) {
  const id = String(participantId);
  if (i.issue === "one_way_audio") {
    if (String(i.participant_id) === id) return `Can't hear ${nameOrId(nameOf, i.from_participant_id, i.from_user_id)}`;
    if (i.from_participant_id != null && String(i.from_participant_id) === id) return `Not heard by ${nameOrId(nameOf, i.participant_id, i.user_id)}`;
    return null;
  }
  if (String(i.participant_id) !== id) return null;
  return (
    {
      no_audio_sent: "Mic sends no sound",
      no_audio_received: "Hears nobody",
      talking_while_muted: "Talking while muted",
      reconnecting: "Reconnecting",
      media_failed: "Audio lost",
    }[i.issue] ?? String(i.issue).replaceAll("_", " ")
  );
}

// A call report (`GET /api/calls/{id}/report`) turned into what the
// report page draws: one coloured, named series per participant for each
// metric (MOS, loss, jitter, RTT), and the axis settings of each chart.
// Pure functions, no DOM.

import { LEVEL_FLOOR } from "./format.js";

/** Line colours, one per participant in joining order (distinct on white, and for common colour blindness in the first four). */
export const PALETTE = ["#4f46e5", "#ea580c", "#0891b2", "#c026d3", "#65a30d", "#dc2626", "#0f766e", "#a16207"];

/** The charts of a report, in order. `y`: axis settings for chart.js's valueAxis. */
export const METRICS = [
  { key: "mos", title: "MOS", unit: "", digits: 2, y: (values) => ({ min: mosFloor(values), max: 4.5 }), bands: true },
  { key: "loss_pct", title: "Packet loss", unit: "%", digits: 1, y: () => ({ min: 0, minSpan: 1 }) },
  { key: "jitter_ms", title: "Jitter", unit: "ms", digits: 1, y: () => ({ min: 0, minSpan: 5 }) },
  { key: "rtt_ms", title: "Round-trip time", unit: "ms", digits: 0, y: () => ({ min: 0, minSpan: 10 }) },
];

/**
 * The bottom of the MOS axis: 3.5 (so the fair and poor bands show) or
 * lower when the data goes lower, in half points, never under 1.
 */
export function mosFloor(values) {
  let lo = 3.5;
  for (const v of values) if (typeof v === "number" && Number.isFinite(v) && v - 0.1 < lo) lo = v - 0.1;
  return Math.max(1, Math.floor(lo * 2) / 2);
}

/** The level bands of the MOS chart (from/to in MOS). */
export const MOS_BANDS = [
  { name: "poor", from: 1, to: LEVEL_FLOOR.fair },
  { name: "fair", from: LEVEL_FLOOR.fair, to: LEVEL_FLOOR.good },
  { name: "good", from: LEVEL_FLOOR.good, to: LEVEL_FLOOR.excellent },
  { name: "excellent", from: LEVEL_FLOOR.excellent, to: 4.5 },
];

/**
 * Who each participant (device stay) of a report is: their name (from
 * `names`, user id → display name; else the user id), with "#2", "#3" for
 * the same person's later devices or re-joins, and a colour.
 * Participants that only appear in the samples come last.
 * @param {{participants?: Array<{participant_id: string, user_id: string}>, samples?: Array<{participant_id: string}>}} report
 * @param {Map<string, string>} [names]
 * @returns {Array<{participant_id: string, user_id: string | null, label: string, color: string}>}
 */
export function reportPeople(report, names = new Map()) {
  const people = [];
  const seen = new Set();
  for (const p of report.participants ?? []) {
    if (seen.has(p.participant_id)) continue;
    seen.add(p.participant_id);
    people.push({ participant_id: p.participant_id, user_id: p.user_id });
  }
  for (const s of report.samples ?? []) {
    if (seen.has(s.participant_id)) continue;
    seen.add(s.participant_id);
    people.push({ participant_id: s.participant_id, user_id: null });
  }
  const count = new Map();
  return people.map((p, i) => {
    const base = p.user_id ? names.get(p.user_id) || p.user_id : `Participant ${p.participant_id}`;
    const n = (count.get(base) ?? 0) + 1;
    count.set(base, n);
    return { ...p, label: n > 1 ? `${base} #${n}` : base, color: PALETTE[i % PALETTE.length] };
  });
}

/**
 * One series per person for `metric` (a sample field): points `{t, v}` in
 * time order, `v` null where that sample lacks the figure.
 */
export function metricSeries(report, people, metric) {
  const byId = new Map(people.map((p) => [p.participant_id, { id: p.participant_id, label: p.label, color: p.color, points: [] }]));
  for (const s of report.samples ?? []) {
    const series = byId.get(s.participant_id);
    if (!series) continue;
    const v = s[metric];
    series.points.push({ t: s.at, v: typeof v === "number" && Number.isFinite(v) ? v : null });
  }
  for (const s of byId.values()) s.points.sort((a, b) => a.t - b.t);
  return [...byId.values()];
}

/**
 * The time span a report's charts cover: from the call's start to its end
 * (or, while it goes on, `now`), stretched to include every sample.
 */
export function reportSpan(report, now = Date.now()) {
  const call = report.call ?? {};
  let t0 = call.started_at ?? Infinity;
  let t1 = call.ended_at ?? (report.active ? now : -Infinity);
  for (const s of report.samples ?? []) {
    if (s.at < t0) t0 = s.at;
    if (s.at > t1) t1 = s.at;
  }
  if (!Number.isFinite(t0)) t0 = now;
  if (!Number.isFinite(t1) || t1 <= t0) t1 = t0 + 1000;
  return { t0, t1 };
}

/**
 * A diagnosis sentence with people's display names for their user ids
 * ("omar heard 8 % loss: 7 % from amira's uplink" → "Omar Said heard…").
 * Only whole ids are replaced (not "omar" inside "omaria"); `ids` are the
 * user ids the entry names.
 * @param {string} sentence
 * @param {Iterable<string>} ids
 * @param {Map<string, string>} names user id -> display name
 */
export function withNames(sentence, ids, names) {
  let out = String(sentence ?? "");
  // Longest first, so "omar.s" is not replaced as "omar" + ".s".
  const list = [...new Set(ids)].filter((id) => id && names.get(id) && names.get(id) !== id).sort((a, b) => b.length - a.length);
  if (!list.length) return out;
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`(?<![\\w.:@-])(${list.map(esc).join("|")})(?![\\w:@-]|\\.[\\w])`, "g");
  out = out.replace(re, (id) => names.get(id));
  return out;
}

/**
 * A report's diagnosis, one entry per participant in joining order: the
 * sentence with display names, and the figures behind it.
 * @returns {Array<{participant_id: string, user_id: string, label: string, color: string, sentence: string, heard_loss_pct: number | null, uplinks: Array<{label: string, loss_pct: number | null}>, sfu_loss_pct: number | null, downlink_loss_pct: number | null, jitter_ms: number | null}>}
 */
export function diagnosisRows(report, people, names = new Map()) {
  const person = new Map(people.map((p) => [p.participant_id, p]));
  const order = new Map(people.map((p, i) => [p.participant_id, i]));
  const label = (pid, uid) => person.get(pid)?.label ?? (uid ? names.get(uid) || uid : `Participant ${pid}`);
  return [...(report.diagnosis ?? [])]
    .sort((a, b) => (order.get(a.participant_id) ?? 1e9) - (order.get(b.participant_id) ?? 1e9))
    .map((d) => {
      const ids = [d.user_id, ...(d.uplinks ?? []).map((u) => u.user_id)];
      return {
        participant_id: d.participant_id,
        user_id: d.user_id,
        label: label(d.participant_id, d.user_id),
        color: person.get(d.participant_id)?.color ?? "#9ca3af",
        sentence: withNames(d.sentence, ids, names),
        heard_loss_pct: d.heard_loss_pct ?? null,
        uplinks: (d.uplinks ?? []).map((u) => ({ participant_id: u.participant_id, label: label(u.participant_id, u.user_id), loss_pct: u.loss_pct ?? null })),
        sfu_loss_pct: d.sfu_loss_pct ?? null,
        downlink_loss_pct: d.downlink_loss_pct ?? null,
        jitter_ms: d.jitter_ms ?? null,
      };
    });
}

/**
 * A report's issues placed on the span the charts cover: `left` and
 * `width` in percent (an ongoing issue runs to `t1`; a very short one is
 * still visible), in start order.
 */
export function issueSpans(report, { t0, t1 }) {
  const span = Math.max(1, t1 - t0);
  const pct = (t) => Math.min(100, Math.max(0, ((t - t0) / span) * 100));
  return [...(report.issues ?? [])]
    .sort((a, b) => a.started_at - b.started_at)
    .map((i) => {
      const end = i.ended_at ?? t1;
      const left = pct(i.started_at);
      const width = Math.max(0.8, pct(end) - left);
      return { ...i, left: Math.min(left, 100 - 0.8), width: Math.min(width, 100 - Math.min(left, 100 - 0.8)), ongoing: i.ended_at == null, duration_ms: Math.max(0, end - i.started_at) };
    });
}

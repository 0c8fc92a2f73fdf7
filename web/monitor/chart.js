// Line charts over time for the call monitor, as plain data: scales, "nice"
// axis ticks, elapsed-time ticks, the SVG path of each series (joined
// across unmeasured samples, broken where sampling paused) and where
// everything goes in a given width and height. No DOM here (monitor/svg.js
// draws a model), so all of it runs under `node --test`.

import { fmtClock } from "./format.js";

/** Space around the plot: room for the y labels on the left and the x labels below. */
export const MARGIN = { top: 22, right: 14, bottom: 28, left: 46 };

/** Pixels per x tick and per y tick, at most. */
const X_TICK_PX = 72;
const Y_TICK_PX = 34;

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** A linear map from [d0, d1] to [r0, r1] (a flat domain maps to the middle). */
export function linearScale(d0, d1, r0, r1) {
  const span = d1 - d0;
  return (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0));
}

/** The smallest of 1, 2, 2.5, 5 × 10^k that is at least `raw` (raw > 0). */
export function niceStep(raw) {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  for (const m of [1, 2, 2.5, 5, 10]) {
    const step = m * base;
    // Tolerate float noise (0.30000000000000004 is 0.3).
    if (step >= raw * (1 - 1e-9)) return Number(step.toPrecision(12));
  }
  return 10 * base;
}

/** Decimals a tick label needs for `step` (0.25 → 2, 0.5 → 1, 5 → 0). */
export function stepDecimals(step) {
  for (let d = 0; d <= 6; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 6;
}

/**
 * A value axis: the domain rounded out to whole steps, with ticks.
 * `min`/`max`: fixed ends (e.g. 0 for loss, 4.5 for MOS); `minSpan`: the
 * smallest range shown (so 0.1 ms of jitter is not drawn as a cliff);
 * `maxTicks`: how many ticks fit.
 * @returns {{min: number, max: number, step: number, ticks: number[], decimals: number}}
 */
export function valueAxis(values, { min, max, minSpan = 1, maxTicks = 5 } = {}) {
  let dataMin = Infinity;
  let dataMax = -Infinity;
  for (const v of values) {
    if (!isNum(v)) continue;
    if (v < dataMin) dataMin = v;
    if (v > dataMax) dataMax = v;
  }
  const any = dataMin <= dataMax;
  let lo = isNum(min) ? min : any ? dataMin : 0;
  let hi = isNum(max) ? max : any ? Math.max(dataMax, lo) : lo + minSpan;
  if (hi - lo < minSpan) {
    if (isNum(max) && !isNum(min)) lo = hi - minSpan;
    else hi = lo + minSpan;
  }
  const intervals = Math.max(1, maxTicks - 1);
  let step = niceStep((hi - lo) / intervals);
  // A fixed end gets a tick of its own when a slightly coarser nice step allows it.
  const onGrid = (v, st) => Math.abs(v / st - Math.round(v / st)) < 1e-6;
  if (isNum(min) || isNum(max)) {
    let st = step;
    for (let i = 0; i < 4; i++, st = niceStep(st * 1.0001)) {
      if ((!isNum(min) || onGrid(lo, st)) && (!isNum(max) || onGrid(hi, st))) {
        step = st;
        break;
      }
    }
  }
  let a = isNum(min) ? lo : Math.floor(lo / step + 1e-9) * step;
  let b = isNum(max) ? hi : Math.ceil(hi / step - 1e-9) * step;
  // Rounding out can need one more tick than fits: take the next step up.
  while ((b - a) / step > intervals + 1e-9) {
    step = niceStep(step * 1.0001);
    a = isNum(min) ? lo : Math.floor(lo / step + 1e-9) * step;
    b = isNum(max) ? hi : Math.ceil(hi / step - 1e-9) * step;
  }
  const ticks = [];
  const first = Math.ceil(a / step - 1e-9) * step;
  for (let v = first; v <= b + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return { min: a, max: b, step, ticks, decimals: stepDecimals(step) };
}

/** Steps for elapsed time, in seconds. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];

/**
 * Ticks for the time since `t0` (ms), at whole elapsed steps (every 10 s, 1
 * min, ...), at most `maxTicks`, labelled 0:30, 1:00, 1:00:00.
 * @returns {{step: number, ticks: Array<{t: number, label: string}>}} step in ms
 */
export function timeTicks(t0, t1, maxTicks = 6) {
  const span = Math.max(0, t1 - t0) / 1000;
  const want = Math.max(1, maxTicks - 1);
  const stepS = TIME_STEPS.find((s) => span / s <= want) ?? niceStep(span / want / 3600) * 3600;
  const ticks = [];
  for (let s = 0; s * 1000 <= t1 - t0 + 1e-6; s += stepS) ticks.push({ t: t0 + s * 1000, label: fmtClock(s * 1000) });
  return { step: stepS * 1000, ticks };
}

/**
 * The SVG path through points `[{t, v}]` (in time order, one per sample):
 * `M` starts a run, `L` continues it. A point without a value (that figure
 * was not measured in that sample) is skipped and the line goes on; a pause
 * of more than `maxGap` ms between two samples (nothing sampled meanwhile)
 * ends the run. Coordinates rounded to 0.1 px.
 */
export function linePath(points, sx, sy, maxGap = Infinity) {
  let d = "";
  let open = false;
  let prevT = null;
  for (const p of points) {
    if (prevT !== null && p.t - prevT > maxGap) open = false;
    prevT = p.t;
    if (!isNum(p.v)) continue;
    d += `${open ? "L" : "M"}${round1(sx(p.t))},${round1(sy(p.v))}`;
    open = true;
  }
  return d;
}

/**
 * How far apart samples may be and still be joined: three times the usual
 * interval between samples (the median step of every series' times).
 */
export function joinGap(series) {
  const steps = [];
  for (const s of series) for (let i = 1; i < s.points.length; i++) {
    const dt = s.points[i].t - s.points[i - 1].t;
    if (dt > 0) steps.push(dt);
  }
  if (!steps.length) return Infinity;
  steps.sort((a, b) => a - b);
  return 3 * steps[Math.floor(steps.length / 2)];
}

const round1 = (v) => Math.round(v * 10) / 10;

/**
 * Where everything of one chart goes.
 * @param {{
 *   series: Array<{id: string, label: string, color: string, points: Array<{t: number, v: number | null}>}>,
 *   t0: number, t1: number, width: number, height: number,
 *   y?: {min?: number, max?: number, minSpan?: number},
 *   bands?: Array<{from: number, to: number, name: string}>,
 *   format?: (v: number, decimals: number) => string,
 *   maxGap?: number,
 * }} o
 */
export function chartModel(o) {
  const width = Math.max(160, Math.round(o.width));
  const height = Math.max(120, Math.round(o.height));
  const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const t0 = o.t0;
  const t1 = o.t1 > o.t0 ? o.t1 : o.t0 + 1000;
  const values = o.series.flatMap((s) => s.points.map((p) => p.v));
  const axis = valueAxis(values, { ...o.y, maxTicks: Math.max(2, Math.floor(plot.h / Y_TICK_PX) + 1) });
  const sx = linearScale(t0, t1, plot.x, plot.x + plot.w);
  const sy = linearScale(axis.min, axis.max, plot.y + plot.h, plot.y);
  const fmt = o.format ?? ((v, decimals) => v.toFixed(decimals));
  const time = timeTicks(t0, t1, Math.max(2, Math.floor(plot.w / X_TICK_PX) + 1));
  const clampY = (v) => Math.min(plot.y + plot.h, Math.max(plot.y, v));
  const bands = (o.bands ?? [])
    .map((b) => {
      const top = clampY(sy(Math.min(b.to, axis.max)));
      const bottom = clampY(sy(Math.max(b.from, axis.min)));
      return { name: b.name, y: round1(top), h: round1(bottom - top) };
    })
    .filter((b) => b.h > 0);
  const maxGap = o.maxGap ?? joinGap(o.series);
  const lines = o.series.map((s) => {
    const pts = s.points.filter((p) => isNum(p.v));
    return {
      id: s.id,
      label: s.label,
      color: s.color,
      d: linePath(s.points, sx, sy, maxGap),
      dots: pts.map((p) => ({ x: round1(sx(p.t)), y: round1(sy(p.v)), t: p.t, v: p.v })),
    };
  });
  return {
    width,
    height,
    plot,
    t0,
    t1,
    y: axis,
    yTicks: axis.ticks.map((v) => ({ v, y: round1(sy(v)), label: fmt(v, axis.decimals) })),
    xTicks: time.ticks.map((t) => ({ t: t.t, x: round1(sx(t.t)), label: t.label })),
    bands,
    lines,
    empty: lines.every((l) => l.dots.length === 0),
  };
}

// Draws a chart model (monitor/chart.js) as inline SVG: level bands, grid
// lines, both axes with their labels, one line per series with a dot per
// sample (hover for the value), and an HTML legend under it. Text goes in
// through textContent only.

import { h } from "../ui/dom.js";
import { fmtClock } from "./format.js";

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Dots are drawn while a series has at most this many samples (beyond, the line says enough). */
const MAX_DOTS = 120;

/**
 * @param {ReturnType<import("./chart.js").chartModel>} m
 * @param {{title: string, unit: string, format: (v: number) => string}} o
 */
export function chartSvg(m, o) {
  const { x, y, w, h: ph } = m.plot;
  const svg = s("svg", {
    class: "chart-svg",
    width: m.width,
    height: m.height,
    viewBox: `0 0 ${m.width} ${m.height}`,
    role: "img",
    // The value axis's ends (its labels are ticks, which need not include them).
    "data-y-min": m.y.min,
    "data-y-max": m.y.max,
    "aria-label": `${o.title} over time${o.unit ? ` (${o.unit})` : ""}: ${m.lines.filter((l) => l.dots.length).map((l) => l.label).join(", ") || "no samples"}`,
  });
  const bands = s("g", { class: "bands" });
  for (const b of m.bands) bands.append(s("rect", { class: `band band-${b.name}`, x, y: b.y, width: w, height: b.h }, s("title", {}, `${b.name}`)));
  const grid = s("g", { class: "grid" });
  const yLabels = s("g", { class: "y-labels" });
  for (const t of m.yTicks) {
    grid.append(s("line", { x1: x, x2: x + w, y1: t.y, y2: t.y }));
    yLabels.append(s("text", { x: x - 6, y: t.y, "text-anchor": "end", "dominant-baseline": "middle" }, t.label));
  }
  const xLabels = s("g", { class: "x-labels" });
  const last = m.xTicks.length - 1;
  m.xTicks.forEach((t, i) => {
    grid.append(s("line", { class: "x-grid", x1: t.x, x2: t.x, y1: y, y2: y + ph }));
    // The first and last labels stay inside the chart.
    const anchor = i === 0 ? "start" : i === last && t.x > x + w - 20 ? "end" : "middle";
    xLabels.append(s("text", { x: t.x, y: y + ph + 16, "text-anchor": anchor }, t.label));
  });
  const axes = s(
    "g",
    { class: "axes" },
    s("line", { x1: x, x2: x, y1: y, y2: y + ph }),
    s("line", { x1: x, x2: x + w, y1: y + ph, y2: y + ph }),
  );
  // The unit heads the value axis, above its top label.
  const unit = o.unit ? s("text", { class: "unit", x: x - 6, y: y - 12, "text-anchor": "end" }, o.unit) : null;
  const lines = s("g", { class: "lines" });
  for (const l of m.lines) {
    if (!l.dots.length) continue;
    const g = s("g", { class: "series-group", "data-participant-id": l.id });
    g.append(s("path", { class: "series", d: l.d, stroke: l.color, "data-participant-id": l.id, "data-points": l.dots.length }));
    if (l.dots.length <= MAX_DOTS) {
      for (const d of l.dots) {
        g.append(s("circle", { class: "dot", cx: d.x, cy: d.y, r: l.dots.length === 1 ? 3.5 : 2.5, fill: l.color }, s("title", {}, `${l.label} · ${fmtClock(d.t - m.t0)} · ${o.format(d.v)}`)));
      }
    }
    lines.append(g);
  }
  svg.append(bands, grid, axes, yLabels, xLabels, unit, lines);
  if (m.empty) svg.append(s("text", { class: "empty-note", x: x + w / 2, y: y + ph / 2, "text-anchor": "middle" }, "No samples yet"));
  return svg;
}

/** A legend: one swatch and name per series. */
export function legend(series) {
  return h(
    "ul",
    { class: "legend", "aria-label": "Participants" },
    series.map((l) => h("li", { dataset: { participantId: l.id } }, h("i", { class: "swatch", style: `background:${l.color}` }), h("span", {}, l.label))),
  );
}

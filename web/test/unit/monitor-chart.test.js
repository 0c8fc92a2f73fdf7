// The call monitor's chart maths (web/monitor/chart.js): nice steps and
// axes, elapsed-time ticks, paths that break at missing values, and a
// chart model that keeps every point inside the plot.
import { test } from "node:test";
import assert from "node:assert/strict";
import { niceStep, stepDecimals, valueAxis, timeTicks, linePath, joinGap, linearScale, chartModel, MARGIN } from "../../monitor/chart.js";

test("niceStep picks 1, 2, 2.5 or 5 times a power of ten, never below the raw step", () => {
  const cases = [
    [0.07, 0.1],
    [0.1, 0.1],
    [0.11, 0.2],
    [0.21, 0.25],
    [0.26, 0.5],
    [0.3, 0.5],
    [0.6, 1],
    [1, 1],
    [1.2, 2],
    [3, 5],
    [7, 10],
    [23, 25],
    [260, 500],
  ];
  for (const [raw, want] of cases) assert.equal(niceStep(raw), want, `niceStep(${raw})`);
  assert.equal(niceStep(0), 1);
  assert.equal(niceStep(Number.NaN), 1);
});

test("stepDecimals: as many decimals as the step needs", () => {
  assert.equal(stepDecimals(5), 0);
  assert.equal(stepDecimals(0.5), 1);
  assert.equal(stepDecimals(0.25), 2);
  assert.equal(stepDecimals(0.1), 1);
  assert.equal(stepDecimals(2.5), 1);
});

test("valueAxis rounds out to whole steps and covers every value", () => {
  const a = valueAxis([0.3, 7.3, 2], { min: 0, maxTicks: 5 });
  assert.equal(a.min, 0);
  assert.equal(a.step, 2);
  assert.equal(a.max, 8);
  assert.deepEqual(a.ticks, [0, 2, 4, 6, 8]);
  // Awkward spans still fit the number of ticks.
  for (const [values, maxTicks] of [[[1.9, 6.1], 3], [[0.01, 0.013], 4], [[13, 977], 6], [[4.36, 4.41], 5]]) {
    const ax = valueAxis(values, { maxTicks });
    assert.ok(ax.ticks.length <= maxTicks, `${values}: ${ax.ticks.length} ticks > ${maxTicks}`);
    assert.ok(ax.min <= Math.min(...values) && ax.max >= Math.max(...values), `${values} inside ${ax.min}..${ax.max}`);
    for (const t of ax.ticks) assert.ok(t >= ax.min - 1e-9 && t <= ax.max + 1e-9);
  }
});

test("valueAxis: fixed ends stay fixed; minSpan keeps tiny values from filling the chart; no data is fine", () => {
  const mos = valueAxis([4.4, 4.41], { min: 3.5, max: 4.5, maxTicks: 5 });
  assert.equal(mos.min, 3.5);
  assert.equal(mos.max, 4.5);
  assert.deepEqual(mos.ticks, [3.5, 3.75, 4, 4.25, 4.5]);
  assert.equal(mos.decimals, 2);
  // Room for six ticks: 0.2 would miss both ends, so 0.25 it is.
  assert.deepEqual(valueAxis([4.4], { min: 3.5, max: 4.5, maxTicks: 6 }).ticks, [3.5, 3.75, 4, 4.25, 4.5]);
  assert.deepEqual(valueAxis([4.4], { min: 3, max: 4.5, maxTicks: 6 }).ticks, [3, 3.5, 4, 4.5]);
  // 0.2 ms of jitter with a 5 ms minimum span: the axis goes to 5, not to 0.2.
  const jitter = valueAxis([0.1, 0.2], { min: 0, minSpan: 5, maxTicks: 6 });
  assert.equal(jitter.min, 0);
  assert.equal(jitter.max, 5);
  assert.equal(jitter.ticks.at(-1), 5);
  // Only a fixed top: the span reaches down from it.
  const top = valueAxis([4.5], { max: 4.5, minSpan: 1, maxTicks: 3 });
  assert.ok(top.min <= 3.5 && top.max === 4.5);
  const empty = valueAxis([null, undefined, Number.NaN], { min: 0, minSpan: 10, maxTicks: 3 });
  assert.equal(empty.min, 0);
  assert.equal(empty.max, 10);
  assert.deepEqual(empty.ticks, [0, 5, 10]);
  // Ticks are exact decimals, not float noise.
  const fine = valueAxis([0, 0.3], { min: 0, minSpan: 0.3, maxTicks: 4 });
  assert.deepEqual(fine.ticks, [0, 0.1, 0.2, 0.3]);
});

test("timeTicks: whole elapsed steps from the start, labelled as clocks", () => {
  const t0 = 1_700_000_000_000;
  const short = timeTicks(t0, t0 + 40_000, 5);
  assert.equal(short.step, 10_000);
  assert.deepEqual(short.ticks.map((t) => t.label), ["0:00", "0:10", "0:20", "0:30", "0:40"]);
  assert.equal(short.ticks[1].t, t0 + 10_000);
  const long = timeTicks(t0, t0 + 25 * 60_000, 6);
  assert.equal(long.step, 300_000);
  assert.deepEqual(long.ticks.map((t) => t.label), ["0:00", "5:00", "10:00", "15:00", "20:00", "25:00"]);
  const hours = timeTicks(t0, t0 + 3 * 3600_000, 4);
  assert.deepEqual(hours.ticks.map((t) => t.label), ["0:00", "1:00:00", "2:00:00", "3:00:00"]);
  // Never more ticks than asked for.
  for (const span of [1_000, 7_000, 59_000, 61_000, 999_000, 86_400_000]) {
    for (const max of [2, 3, 5, 8]) assert.ok(timeTicks(t0, t0 + span, max).ticks.length <= max, `${span} ms, ${max} ticks`);
  }
});

test("linePath: unmeasured points are skipped; a pause in sampling longer than maxGap starts a new run", () => {
  const sx = (t) => t;
  const sy = (v) => 100 - v;
  assert.equal(linePath([], sx, sy), "");
  assert.equal(linePath([{ t: 0, v: 1 }, { t: 10, v: 2 }, { t: 20, v: 3 }], sx, sy), "M0,99L10,98L20,97");
  // RTT measured every other sample: still one line.
  assert.equal(linePath([{ t: 0, v: 1 }, { t: 10, v: null }, { t: 20, v: 3 }, { t: 30, v: 4 }], sx, sy, 30), "M0,99L20,97L30,96");
  // Measured rarely, but sampled all along: still one line.
  const sparse = [{ t: 0, v: 1 }, { t: 10, v: null }, { t: 20, v: null }, { t: 30, v: null }, { t: 40, v: null }, { t: 50, v: 3 }];
  assert.equal(linePath(sparse, sx, sy, 30), "M0,99L50,97");
  // Nothing sampled for a while: the line breaks there.
  assert.equal(linePath([{ t: 0, v: 1 }, { t: 10, v: 2 }, { t: 100, v: 3 }, { t: 110, v: 4 }], sx, sy, 30), "M0,99L10,98M100,97L110,96");
  assert.equal(linePath([{ t: 0, v: 1 }, { t: 10, v: null }, { t: 100, v: 3 }], sx, sy, 30), "M0,99M100,97");
  assert.equal(linePath([{ t: 0.04, v: 1.06 }], sx, sy), "M0,98.9");
});

test("joinGap: three times the median sample interval", () => {
  const pts = (ts) => ts.map((t) => ({ t, v: 1 }));
  assert.equal(joinGap([{ points: pts([0, 1000, 2000, 3000, 10000]) }, { points: pts([500, 1500]) }]), 3000);
  assert.equal(joinGap([{ points: pts([5]) }]), Infinity, "one point: nothing to join");
  assert.equal(joinGap([]), Infinity);
});

test("linearScale maps ends to ends; a flat domain maps to the middle", () => {
  const s = linearScale(10, 20, 0, 100);
  assert.equal(s(10), 0);
  assert.equal(s(15), 50);
  assert.equal(s(20), 100);
  assert.equal(linearScale(5, 5, 0, 100)(5), 50);
  // Inverted range (SVG y grows downwards).
  assert.equal(linearScale(0, 4, 200, 0)(1), 150);
});

test("chartModel: every point inside the plot, one line per series, ticks fit the width", () => {
  const t0 = 1_700_000_000_000;
  const mk = (vals) => vals.map((v, i) => ({ t: t0 + (i + 1) * 5000, v }));
  const series = [
    { id: "42", label: "Amira", color: "#111", points: mk([4.4, 4.41, 4.2, null, 3.1]) },
    { id: "43", label: "Omar", color: "#222", points: mk([4.38, 4.4, 4.4, 4.39, 4.4]) },
  ];
  for (const width of [340, 620, 1000]) {
    const m = chartModel({ series, t0, t1: t0 + 30_000, width, height: 200, y: { min: 3, max: 4.5 } });
    assert.equal(m.lines.length, 2);
    assert.deepEqual(m.lines.map((l) => l.id), ["42", "43"]);
    assert.equal(m.lines[0].dots.length, 4, "the missing value has no dot");
    assert.equal((m.lines[0].d.match(/M/g) ?? []).length, 1, "but Amira's line goes on past it");
    assert.equal((m.lines[0].d.match(/L/g) ?? []).length, 3);
    const { x, y, w, h } = m.plot;
    assert.equal(x, MARGIN.left);
    assert.equal(x + w, width - MARGIN.right);
    for (const l of m.lines) for (const d of l.dots) assert.ok(d.x >= x && d.x <= x + w && d.y >= y && d.y <= y + h, `dot ${d.x},${d.y} outside`);
    // Higher MOS is higher up.
    const dots = m.lines[0].dots;
    assert.ok(dots[0].y < dots[3].y, "4.4 is drawn above 3.1");
    assert.ok(m.xTicks.length >= 2 && m.xTicks.length <= Math.floor(w / 72) + 1, `${m.xTicks.length} x ticks at ${width} px`);
    assert.equal(m.xTicks[0].label, "0:00");
    assert.equal(m.xTicks[0].x, x);
    for (const t of m.yTicks) assert.ok(t.y >= y - 0.05 && t.y <= y + h + 0.05);
    assert.equal(m.yTicks.at(-1).label, "4.5", "decimals follow the step (0.5)");
    assert.equal(m.empty, false);
  }
});

test("chartModel: level bands are clipped to the axis; an empty chart says so", () => {
  const t0 = 0;
  const m = chartModel({
    series: [{ id: "1", label: "A", color: "#000", points: [{ t: 1000, v: 4.4 }] }],
    t0,
    t1: 10_000,
    width: 400,
    height: 200,
    y: { min: 3.5, max: 4.5 },
    bands: [
      { name: "poor", from: 1, to: 3.6 },
      { name: "fair", from: 3.6, to: 4.03 },
      { name: "good", from: 4.03, to: 4.34 },
      { name: "excellent", from: 4.34, to: 4.5 },
    ],
  });
  assert.deepEqual(m.bands.map((b) => b.name), ["poor", "fair", "good", "excellent"]);
  const total = m.bands.reduce((s, b) => s + b.h, 0);
  assert.ok(Math.abs(total - m.plot.h) < 0.5, `bands cover the plot (${total} of ${m.plot.h})`);
  for (const b of m.bands) assert.ok(b.y >= m.plot.y - 0.05 && b.y + b.h <= m.plot.y + m.plot.h + 0.05);
  const none = chartModel({ series: [{ id: "1", label: "A", color: "#000", points: [{ t: 1, v: null }] }], t0, t1: 0, width: 100, height: 50 });
  assert.equal(none.empty, true);
  assert.ok(none.width >= 160 && none.height >= 120, "tiny sizes are raised to something drawable");
  assert.ok(none.t1 > none.t0, "a zero-length span is widened");
});

// axe-core in the browser tests: inject it into a page, run it, and report
// its findings readably.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");

/**
 * Run axe-core over the page (or a part of it: `include`, a selector) and
 * resolve with its violations as {id, impact, help, nodes: [{target, summary}]}.
 */
export async function axeViolations(page, { include, rules } = {}) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: AXE });
  // Colours are judged as they settle: let entrance animations and fades finish (not endless pulses).
  await page.evaluate(() =>
    Promise.race([
      Promise.all(document.getAnimations().filter((a) => a.effect?.getComputedTiming().endTime !== Infinity).map((a) => a.finished.catch(() => {}))),
      new Promise((r) => setTimeout(r, 2000)),
    ]),
  );
  return page.evaluate(
    async ({ include, rules }) => {
      const options = { resultTypes: ["violations"] };
      if (rules) options.runOnly = { type: "rule", values: rules };
      const result = await window.axe.run(include ? { include: [include] } : document, options);
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
      }));
    },
    { include: include ?? null, rules: rules ?? null },
  );
}

/** The violations as text a person can act on. */
export function formatViolations(violations) {
  return violations
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `  - ${n.target}\n    ${String(n.summary).replace(/\n/g, "\n    ")}`).join("\n")}`)
    .join("\n");
}

/** Throw with every violation spelled out unless axe finds none. */
export async function assertAccessible(page, what, options) {
  const violations = await axeViolations(page, options);
  if (violations.length) throw new Error(`${what}: ${violations.length} accessibility violation(s)\n${formatViolations(violations)}`);
}

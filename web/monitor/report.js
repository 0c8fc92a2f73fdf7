// One call's quality report (`GET /api/calls/{id}/report`): the call, its
// summary, the diagnosis (where the loss each participant heard came from,
// in a sentence each), each participant's figures, the live issues on the
// call's timeline, and charts over time of MOS, loss, jitter and RTT with a
// line per participant. The charts are drawn at the
// width they get (re-drawn when it changes); a call still going on is
// fetched again every few seconds.

import { h, $, icon } from "../ui/dom.js";
import { fmtMos, fmtPct, fmtMs, fmtClock, fmtDateTime, fmtTime, NONE, issueSentence } from "./format.js";
import { chartModel } from "./chart.js";
import { METRICS, MOS_BANDS, reportPeople, metricSeries, reportSpan, diagnosisRows, issueSpans } from "./report-data.js";
import { chartSvg, legend } from "./svg.js";
import { levelBadge } from "./live.js";

const REFRESH_MS = 5000;
const END_REASON = { ended: "ended", empty: "ended when everyone had left", shutdown: "ended by a server stop" };

export class ReportView {
  /**
   * @param {{client: import("../earshot.js").EarshotClient, directory: import("./directory.js").Directory, now: () => number}} o
   */
  constructor(o) {
    this.client = o.client;
    this.directory = o.directory;
    this.now = o.now;
    this.el = $("#report");
    this.callId = null;
    this.report = null;
    this.timer = null;
    this.generation = 0;
    this.chartsWidth = 0;
    this.resize = new ResizeObserver(() => {
      const box = this.el.querySelector(".charts");
      if (box && Math.abs(box.clientWidth - this.chartsWidth) > 4) this.renderCharts();
    });
    this.resize.observe(this.el);
  }

  /** Show a call's report (fetching it); `null` hides the view. */
  async show(callId) {
    clearTimeout(this.timer);
    const gen = ++this.generation;
    this.callId = callId;
    if (!callId) {
      this.report = null;
      this.el.hidden = true;
      this.el.replaceChildren();
      return;
    }
    this.el.hidden = false;
    if (this.report?.call.id !== callId) {
      this.report = null;
      this.el.dataset.state = "loading";
      this.el.replaceChildren(this.backLink(), h("p", { class: "muted loading" }, "Loading the report…"));
    }
    let report;
    let names;
    try {
      report = await this.client.getCallReport(callId);
      names = (await this.directory.room(report.call.room_id)).names;
    } catch (err) {
      if (gen !== this.generation) return;
      this.renderError(err);
      return;
    }
    if (gen !== this.generation) return;
    for (const [id, name] of this.directory.names) if (!names.has(id)) names.set(id, name);
    this.report = report;
    this.names = names;
    this.render();
    if (report.active) this.timer = setTimeout(() => this.show(callId), REFRESH_MS);
  }

  /** A call ended (or a round of samples came in) somewhere: refresh if it is this one. */
  refreshIf(callId) {
    if (callId && callId === this.callId) this.show(callId);
  }

  backLink() {
    return h("a", { class: "btn btn-ghost btn-sm back-link", href: "#" }, icon("back"), "All calls");
  }

  renderError(err) {
    this.el.dataset.state = "error";
    const text =
      err.code === "NOT_FOUND" ? "There is no such call, or you may not see it." : err.code === "ACCESS_DENIED" ? "You may not see this call's report." : `Could not load the report: ${err.message}`;
    this.el.replaceChildren(this.backLink(), h("div", { class: "empty report-error", role: "alert" }, h("strong", {}, text), h("span", { class: "muted" }, err.code ?? "")));
  }

  render() {
    const r = this.report;
    const call = r.call;
    const s = r.summary;
    this.people = reportPeople(r, this.names);
    const title = this.directory.titleNow(call.room_id) ?? call.room_id;
    const endedBy = call.ended_by ? this.names.get(call.ended_by) || call.ended_by : null;
    const end = r.active ? "still going on" : `${fmtTime(call.ended_at)}, ${END_REASON[call.end_reason] ?? call.end_reason ?? ""}${endedBy ? ` by ${endedBy}` : ""}`;
    const duration = r.active ? this.now() - call.started_at : s.duration_ms ?? (call.ended_at ? call.ended_at - call.started_at : null);
    this.el.dataset.state = r.active ? "active" : "ended";
    this.el.dataset.callId = call.id;
    const tile = (label, value, sub, field) => h("div", { class: "tile", dataset: { field } }, h("span", { class: "tile-label" }, label), h("strong", { class: "tile-value" }, value), sub ? h("span", { class: "tile-sub muted" }, sub) : null);
    const parts = [
      this.backLink(),
      h(
        "header",
        { class: "report-head" },
        h("div", { class: "report-title" }, h("h2", { title: call.room_id }, title), r.active ? h("span", { class: "chip chip-live" }, "In progress") : h("span", { class: "chip" }, "Ended")),
        h("p", { class: "muted report-meta" }, `${call.mode === "p2p" ? "Direct call (p2p)" : "Group call (SFU)"} · ${fmtDateTime(call.started_at)} → ${end}`),
      ),
      h(
        "section",
        { class: "tiles", "aria-label": "Summary" },
        tile("Duration", fmtClock(duration), r.active ? "so far" : null, "duration"),
        tile("Participants", String(this.people.length), `${s.samples ?? 0} samples`, "participants"),
        tile("Avg MOS", fmtMos(s.avg_mos), s.worst_mos != null ? `worst ${fmtMos(s.worst_mos)}` : null, "mos"),
        h("div", { class: "tile", dataset: { field: "worst" } }, h("span", { class: "tile-label" }, "Worst level"), s.worst_level ? levelBadge(s.worst_level) : h("strong", { class: "tile-value" }, NONE)),
        tile("Loss", fmtPct(s.avg_loss_pct), s.max_loss_pct != null ? `max ${fmtPct(s.max_loss_pct)}` : null, "loss"),
        tile("Jitter", fmtMs(s.avg_jitter_ms), "average", "jitter"),
        tile("RTT", fmtMs(s.avg_rtt_ms), "average", "rtt"),
      ),
      this.renderDiagnosis(),
      this.renderPeople(),
      this.renderIssues(),
      h("section", { class: "charts", "aria-label": "Quality over time" }),
    ];
    // Sections a report without them (an older server, a call without issues) leaves out.
    this.el.replaceChildren(...parts.filter(Boolean));
    this.renderCharts();
  }

  /** Where the loss each participant heard came from: the server's sentence (with names), then its figures. */
  renderDiagnosis() {
    const rows = diagnosisRows(this.report, this.people, this.names);
    if (!rows.length) return null;
    const figure = (label, v) => (v === null || v === undefined ? null : h("span", { class: "diag-fig" }, `${label} ${fmtPct(v)}`));
    return h(
      "section",
      { class: "report-diagnosis", "aria-labelledby": "diagnosis-title" },
      h("h3", { id: "diagnosis-title" }, "Diagnosis"),
      h(
        "ul",
        { class: "diagnosis" },
        rows.map((d) =>
          h(
            "li",
            { dataset: { participantId: d.participant_id, userId: d.user_id ?? "" } },
            h("i", { class: "swatch", style: `background:${d.color}` }),
            h(
              "div",
              { class: "diag-text" },
              h("p", { class: "diag-sentence" }, d.sentence || `${d.label}: no figures`),
              h(
                "p",
                { class: "muted diag-figs" },
                figure("heard", d.heard_loss_pct),
                d.uplinks.map((u) => figure(`${u.label}'s uplink`, u.loss_pct)),
                figure("SFU", d.sfu_loss_pct),
                figure("downlink", d.downlink_loss_pct),
                d.jitter_ms !== null ? h("span", { class: "diag-fig" }, `jitter ${fmtMs(d.jitter_ms)}`) : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  /** The call's live issues on its timeline (the span the charts cover), one row each. */
  renderIssues() {
    const r = this.report;
    if (!r.issues?.length) return null;
    const { t0, t1 } = reportSpan(r, this.now());
    const person = new Map(this.people.map((p) => [p.participant_id, p]));
    const nameOf = (pid, uid) => person.get(pid)?.label ?? (uid ? this.names.get(uid) || uid : null);
    return h(
      "section",
      { class: "report-issues", "aria-labelledby": "issues-title" },
      h("h3", { id: "issues-title" }, "Issues", h("span", { class: "count" }, String(r.issues.length))),
      h(
        "ol",
        { class: "issue-timeline" },
        issueSpans(r, { t0, t1 }).map((i) =>
          h(
            "li",
            { class: "issue-row", dataset: { issue: i.issue, participantId: String(i.participant_id), fromParticipantId: i.from_participant_id != null ? String(i.from_participant_id) : "", ongoing: String(i.ongoing) } },
            h("span", { class: "issue-what" }, h("i", { class: "swatch", style: `background:${person.get(i.participant_id)?.color ?? "#9ca3af"}` }), issueSentence(i, nameOf)),
            h("span", { class: "issue-track", "aria-hidden": "true" }, h("i", { class: "issue-span", style: `left:${i.left.toFixed(2)}%;width:${i.width.toFixed(2)}%` })),
            h("span", { class: "muted issue-when" }, i.ongoing ? `since ${fmtTime(i.started_at)}, ongoing` : `${fmtTime(i.started_at)} – ${fmtTime(i.ended_at)} (${fmtClock(i.duration_ms)})`),
          ),
        ),
      ),
    );
  }

  /** One row per stay (a device that left and joined again has several), in joining order. */
  renderPeople() {
    const person = new Map(this.people.map((p) => [p.participant_id, p]));
    const stays = [...(this.report.participants ?? [])];
    // Someone with samples but no stay on record still gets a row.
    for (const p of this.people) if (!stays.some((x) => x.participant_id === p.participant_id)) stays.push({ participant_id: p.participant_id });
    const stayNo = new Map();
    const td = (field, label, ...c) => h("td", { dataset: { field, label } }, ...c);
    return h(
      "section",
      { class: "report-people" },
      h("h3", {}, "Participants"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "calls-table people-table" },
          h("thead", {}, h("tr", {}, ["Participant", "In the call", "Samples", "Avg MOS", "Worst", "Loss avg / max", "Jitter", "RTT"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            {},
            stays.map((p) => {
              const who = person.get(p.participant_id) ?? { label: p.user_id ?? p.participant_id, color: "#9ca3af" };
              const n = (stayNo.get(p.participant_id) ?? 0) + 1;
              stayNo.set(p.participant_id, n);
              const stay = p.joined_at ? `${fmtTime(p.joined_at)} – ${p.left_at ? fmtTime(p.left_at) : "now"}` : NONE;
              return h(
                "tr",
                { dataset: { participantId: p.participant_id, userId: p.user_id ?? "" } },
                td(
                  "who",
                  "Participant",
                  h("i", { class: "swatch", style: `background:${who.color}` }),
                  h("strong", {}, who.label),
                  h("span", { class: "muted sub" }, ` device ${p.participant_id}${n > 1 ? `, back (stay ${n})` : ""}`),
                ),
                td("stay", "In the call", stay),
                td("samples", "Samples", String(p.samples ?? 0)),
                td("mos", "Avg MOS", fmtMos(p.avg_mos), h("span", { class: "muted sub" }, p.worst_mos != null ? ` (worst ${fmtMos(p.worst_mos)})` : "")),
                td("worst", "Worst", p.worst_level ? levelBadge(p.worst_level) : NONE),
                td("loss", "Loss avg / max", p.avg_loss_pct != null ? `${fmtPct(p.avg_loss_pct)} / ${fmtPct(p.max_loss_pct)}` : NONE),
                td("jitter", "Jitter", fmtMs(p.avg_jitter_ms)),
                td("rtt", "RTT", fmtMs(p.avg_rtt_ms)),
              );
            }),
          ),
        ),
      ),
    );
  }

  renderCharts() {
    const box = this.el.querySelector(".charts");
    if (!box || !this.report) return;
    this.chartsWidth = box.clientWidth;
    const r = this.report;
    const { t0, t1 } = reportSpan(r, this.now());
    // Two charts a row when there is room for both.
    const cols = box.clientWidth >= 860 ? 2 : 1;
    const gap = 16;
    box.style.gridTemplateColumns = cols === 2 ? "repeat(2, minmax(0, 1fr))" : "minmax(0, 1fr)";
    const width = Math.floor((box.clientWidth - gap * (cols - 1)) / cols) - 2;
    const height = width < 480 ? 190 : 220;
    box.replaceChildren(
      ...METRICS.map((metric) => {
        const series = metricSeries(r, this.people, metric.key);
        const values = series.flatMap((x) => x.points.map((p) => p.v));
        const fmt = (v) => `${v.toFixed(metric.digits)}${metric.unit ? ` ${metric.unit}` : ""}`;
        const model = chartModel({
          series,
          t0,
          t1,
          width: Math.max(200, width - 26),
          height,
          y: metric.y(values),
          bands: metric.bands ? MOS_BANDS : undefined,
        });
        return h(
          "figure",
          { class: "chart", dataset: { metric: metric.key } },
          h("figcaption", {}, h("strong", {}, metric.title), h("span", { class: "muted" }, metric.unit ? ` ${metric.unit}, ` : " ", "by time since the start")),
          chartSvg(model, { title: metric.title, unit: metric.unit, format: fmt }),
          legend(model.lines.filter((l) => l.dots.length > 0)),
        );
      }),
    );
  }
}

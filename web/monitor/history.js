// The monitor's history: recent calls from `GET /api/calls` with its filters
// (room, participant, worst level, a kind of live issue, a date range), each with its quality
// summary; older pages are fetched with `until` set to the oldest start
// shown. A row opens the call's report.

import { h, $ } from "../ui/dom.js";
import { fmtMos, fmtPct, fmtMs, fmtClock, fmtDateTime, dayStart, dayEnd, NONE, ISSUE_FILTERS } from "./format.js";
import { levelBadge } from "./live.js";

const PAGE = 50;

export class HistoryView {
  /**
   * @param {{client: import("../earshot.js").EarshotClient, directory: import("./directory.js").Directory, open: (callId: string) => void}} o
   */
  constructor(o) {
    this.client = o.client;
    this.directory = o.directory;
    this.open = o.open;
    this.calls = [];
    this.hasMore = false;
    this.loading = false;
    this.generation = 0;
    this.reloadTimer = null;
    /** call id -> the summary `monitor_call_ended` carried (newer than a list fetched meanwhile may be) */
    this.ended = new Map();
    // The kinds of live issue a call may have had (`issue=`).
    $("#f-issue").append(...ISSUE_FILTERS.map(([value, label]) => h("option", { value }, label)));
    this.form = $("#history-filters");
    this.rows = $("#history-rows");
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.load();
    });
    $("#f-reset").addEventListener("click", () => {
      this.form.reset();
      this.load();
    });
    $("#history-more").addEventListener("click", () => this.load({ older: true }));
    this.rows.addEventListener("click", (e) => {
      if (e.target.closest("a")) return;
      const row = e.target.closest("[data-call-id]");
      if (row) this.open(row.dataset.callId);
    });
  }

  /**
   * The query the form describes, or an error message. Dates are local
   * days: From is its midnight, To includes its whole day.
   * @returns {{query?: Record<string, string | number>, error?: string}}
   */
  query() {
    const q = { limit: PAGE };
    const room = $("#f-room").value.trim();
    const user = $("#f-user").value.trim();
    const worst = $("#f-worst").value;
    if (room) q.room_id = this.roomIdFor(room);
    if (user) q.user_id = user;
    if (worst) q.worst = worst;
    const issue = $("#f-issue").value;
    if (issue) q.issue = issue;
    const since = dayStart($("#f-from").value);
    const until = dayEnd($("#f-to").value);
    if (since !== null) q.since = since;
    if (until !== null) q.until = until;
    if (since !== null && until !== null && since >= until) return { error: "The From date is after the To date." };
    return { query: q };
  }

  /** The room field takes an id or a title picked from the suggestions. */
  roomIdFor(text) {
    for (const [id, title] of this.directory.titles) if (title === text) return id;
    return text;
  }

  /**
   * A call ended: its row shows the summary at once (the list is then
   * reloaded too, for the filters; a reload answered before the end was
   * stored still gets this summary).
   */
  noteEnded(summary) {
    if (!summary?.id) return;
    this.ended.set(summary.id, summary);
    if (this.ended.size > 200) this.ended.delete(this.ended.keys().next().value);
    this.calls = this.calls.map((c) => (c.id === summary.id ? { ...c, ...summary } : c));
    this.render();
    this.changed();
  }

  /** A call started or ended: reload the first page soon (several events make one reload). */
  changed() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      if (!this.loading) this.load({ quiet: true });
    }, 400);
  }

  async load({ older = false, quiet = false } = {}) {
    const err = $("#history-error");
    const { query, error } = this.query();
    if (error) {
      err.textContent = error;
      return;
    }
    err.textContent = "";
    if (older) {
      const oldest = this.calls.at(-1)?.started_at;
      if (oldest === undefined) return;
      query.until = query.until !== undefined ? Math.min(query.until, oldest) : oldest;
    }
    const gen = ++this.generation;
    this.loading = true;
    if (!quiet) $("#history").dataset.loading = "true";
    try {
      const page = (await this.client.listCalls(query)).map((c) => (c.ended_at == null && this.ended.has(c.id) ? { ...c, ...this.ended.get(c.id) } : c));
      if (gen !== this.generation) return;
      if (older) {
        // Calls that started in the same millisecond as the oldest shown would repeat.
        const seen = new Set(this.calls.map((c) => c.id));
        this.calls.push(...page.filter((c) => !seen.has(c.id)));
      } else this.calls = page;
      this.hasMore = page.length === query.limit;
      this.render();
    } catch (e) {
      if (gen === this.generation) err.textContent = `Could not load the calls: ${e.message}`;
    } finally {
      if (gen === this.generation) {
        this.loading = false;
        delete $("#history").dataset.loading;
      }
    }
  }

  render() {
    this.directory.resolve(this.calls.map((c) => c.room_id), () => {
      this.render();
      this.renderRoomOptions();
    });
    this.rows.replaceChildren(...this.calls.map((c) => this.renderRow(c)));
    $("#history-empty").hidden = this.calls.length > 0;
    $("#history-table").hidden = this.calls.length === 0;
    $("#history-more").hidden = !this.hasMore;
    $("#history-note").textContent = this.calls.length ? `${this.calls.length}${this.hasMore ? "+" : ""} ${this.calls.length === 1 ? "call" : "calls"}` : "";
    this.renderRoomOptions();
  }

  renderRoomOptions() {
    const seen = new Map();
    for (const c of this.calls) seen.set(c.room_id, this.directory.titleNow(c.room_id));
    $("#room-options").replaceChildren(...[...seen].map(([id, title]) => h("option", { value: title ?? id }, title ? id : null)));
  }

  renderRow(c) {
    const title = this.directory.titleNow(c.room_id);
    const ongoing = c.ended_at === null || c.ended_at === undefined;
    const td = (field, label, ...content) => h("td", { dataset: { field, label } }, ...content);
    return h(
      "tr",
      { dataset: { callId: c.id, roomId: c.room_id, worstLevel: c.worst_level ?? "" }, class: ongoing ? "ongoing" : "" },
      td("started", "Started", h("a", { href: `#call=${encodeURIComponent(c.id)}`, class: "row-link" }, fmtDateTime(c.started_at))),
      td("room", "Room", h("span", { class: "room-name", title: c.room_id }, title ?? c.room_id), h("span", { class: "muted mode" }, c.mode === "p2p" ? "p2p" : "SFU")),
      td("duration", "Duration", ongoing ? h("span", { class: "chip chip-live" }, "In progress") : fmtClock(c.duration_ms)),
      td("participants", "People", String(c.participants ?? NONE)),
      td("mos", "Avg MOS", fmtMos(c.avg_mos), h("span", { class: "muted sub" }, c.worst_mos != null ? ` (worst ${fmtMos(c.worst_mos)})` : "")),
      td("worst", "Worst", c.worst_level ? levelBadge(c.worst_level) : h("span", { class: "muted" }, ongoing ? "after the call" : NONE)),
      td("loss", "Loss avg / max", c.avg_loss_pct != null ? `${fmtPct(c.avg_loss_pct)} / ${fmtPct(c.max_loss_pct)}` : NONE),
      td("jitter", "Jitter", fmtMs(c.avg_jitter_ms)),
      td("rtt", "RTT", fmtMs(c.avg_rtt_ms)),
    );
  }
}

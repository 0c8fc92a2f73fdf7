// The monitor's live view: every ongoing call (room, mode, start and running
// time) with each participant's quality as the server measures it: level,
// MOS, loss on both legs, jitter, RTT, bitrate, audio level and voice
// activity, muted state and where the figures come from, and the live
// issues (`call_issue`) of the call and of each participant. Re-drawn from the
// MonitorBook on every update; the clocks tick every second.

import { h, $, avatar, icon } from "../ui/dom.js";
import { LEVEL_LABEL, fmtMos, fmtUpDown, fmtMs, fmtKbps, fmtDbov, fmtShare, fmtClock, fmtSource, fmtTime, levelMeter, NONE, issueSentence, issueTag } from "./format.js";

const COLUMNS = ["Participant", "Quality", "MOS", "Loss", "Jitter", "RTT", "Bitrate", "Audio", "Source"];

/** A level badge; `null` while the first sample is awaited. */
export function levelBadge(level, { title } = {}) {
  return h("span", { class: `level level-${level ?? "none"}`, title, dataset: { level: level ?? "" } }, level ? LEVEL_LABEL[level] ?? level : "Measuring…");
}

export class LiveView {
  /**
   * @param {{book: import("./book.js").MonitorBook, directory: import("./directory.js").Directory, now: () => number, open: (callId: string) => void}} o
   */
  constructor(o) {
    this.book = o.book;
    this.directory = o.directory;
    this.now = o.now;
    this.open = o.open;
    this.section = $("#live");
    this.list = $("#live-calls");
    this.state = "connecting";
    this.list.addEventListener("click", (e) => {
      if (e.target.closest("a, button")) return;
      const card = e.target.closest("[data-call-id]");
      if (card) this.open(card.dataset.callId);
    });
    this.list.addEventListener("keydown", (e) => {
      const card = e.target.closest?.(".call-card");
      if (card && e.target === card && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        this.open(card.dataset.callId);
      }
    });
    this.tick = setInterval(() => this.renderClocks(), 1000);
  }

  /**
   * The connection behind the figures: `connecting`, `live` (socket
   * subscription), `reconnecting` (socket down: figures may be stale) or
   * `rest` (socket down, figures polled over HTTP).
   */
  setState(state) {
    this.state = state;
    this.renderStatus();
  }

  renderStatus() {
    this.section.dataset.state = this.state;
    const at = this.book.updatedAt ? fmtTime(this.book.updatedAt) : null;
    const text = {
      connecting: "Connecting…",
      live: "Live",
      reconnecting: at ? `Reconnecting… figures from ${at} may be out of date` : "Reconnecting…",
      rest: at ? `Reconnecting… figures polled at ${at}` : "Reconnecting…",
    }[this.state];
    const el = $("#live-status");
    el.replaceChildren(h("i", { class: "live-status-dot", "aria-hidden": "true" }), text);
    el.dataset.state = this.state;
  }

  render() {
    const calls = this.book.list();
    for (const c of calls) this.directory.noteCall(c);
    this.directory.resolve(calls.map((c) => c.room_id), () => this.render());
    $("#live-count").textContent = calls.length ? String(calls.length) : "";
    $("#live-empty").hidden = calls.length > 0;
    this.list.replaceChildren(...calls.map((c) => this.renderCall(c)));
    this.renderStatus();
  }

  renderClocks() {
    // Call durations and how long each issue has lasted.
    for (const el of this.list.querySelectorAll("[data-started-at]")) {
      el.textContent = fmtClock(this.now() - Number(el.dataset.startedAt));
    }
  }

  /** A person of call `c` by name: its participants, else the names the directory knows, else the id. */
  nameIn(c, participantId, userId) {
    const p = c.participants.find((x) => String(x.participant_id) === String(participantId));
    return p?.user?.name || (userId && this.directory.name(userId)) || userId || (participantId != null ? `Participant ${participantId}` : "Someone");
  }

  renderCall(c) {
    const title = this.directory.titleNow(c.room_id);
    const people = [...c.participants].sort((a, b) => a.joined_at - b.joined_at);
    const n = people.length;
    const issues = c.issues?.list() ?? [];
    const nameOf = (pid, uid) => this.nameIn(c, pid, uid);
    return h(
      "article",
      { class: `call-card${issues.length ? " has-issues" : ""}`, tabindex: "0", dataset: { callId: c.id, roomId: c.room_id, mode: c.mode, issues: String(issues.length) }, "aria-label": `Call in ${title ?? c.room_id}` },
      h(
        "header",
        { class: "call-card-head" },
        h(
          "div",
          { class: "call-card-title" },
          h("span", { class: "live-dot", "aria-hidden": "true" }),
          h("h3", { class: "call-room", title: c.room_id }, title ?? c.room_id),
          h("span", { class: "chip" }, c.mode === "p2p" ? "Direct · p2p" : "Group · SFU"),
        ),
        h(
          "p",
          { class: "call-card-meta" },
          h("span", {}, `Started ${fmtTime(c.started_at)}`),
          h("span", { class: "call-duration", dataset: { startedAt: String(c.started_at) }, title: "Running time" }, fmtClock(this.now() - c.started_at)),
          h("span", { class: "call-people-count" }, n === 1 ? "1 person" : `${n} people`),
          c.initiator ? h("span", { class: "muted" }, `by ${c.initiator.name || c.initiator.id}`) : null,
        ),
        h("a", { class: "btn btn-ghost btn-sm report-link", href: `#call=${encodeURIComponent(c.id)}` }, "Report", icon("forward")),
      ),
      issues.length
        ? h(
            "ul",
            { class: "call-issues", "aria-label": "Problems in this call" },
            issues.map((i) =>
              h(
                "li",
                { class: "call-issue-line", dataset: { issue: i.issue, participantId: String(i.participant_id), fromParticipantId: i.from_participant_id != null ? String(i.from_participant_id) : "" } },
                h("span", { class: "issue-dot", "aria-hidden": "true" }),
                h("span", {}, issueSentence(i, nameOf)),
                h("span", { class: "muted issue-since", dataset: { startedAt: String(i.since) }, title: `Since ${fmtTime(i.since)}` }, fmtClock(this.now() - i.since)),
              ),
            ),
          )
        : null,
      n
        ? h(
            "div",
            { class: "ptable", role: "table", "aria-label": "Participants" },
            h("div", { class: "prow phead", role: "row" }, COLUMNS.map((col) => h("span", { class: "cell", role: "columnheader" }, col))),
            people.map((p) => this.renderParticipant(p, issues, nameOf)),
          )
        : h("p", { class: "muted call-waiting" }, "Nobody has joined yet."),
    );
  }

  renderParticipant(p, issues = [], nameOf = () => null) {
    const tags = issues.map((i) => [i, issueTag(i, p.participant_id, nameOf)]).filter(([, t]) => t);
    const q = p.quality;
    const name = p.user?.name || p.user?.id || `Participant ${p.participant_id}`;
    const recent = p.changedAt && this.now() - p.changedAt < 4000;
    const cell = (field, label, ...content) => h("span", { class: `cell cell-${field}`, role: "cell", dataset: { field, label } }, ...content);
    const meter = levelMeter(q?.audio_level_dbov);
    const voice = q?.voice_activity;
    return h(
      "div",
      {
        class: `prow${recent ? " changed" : ""}${p.muted ? " is-muted" : ""}${tags.length ? " has-issue" : ""}`,
        role: "row",
        dataset: { participantId: p.participant_id, userId: p.user?.id ?? "", level: q?.level ?? "", muted: String(!!p.muted), issues: tags.map(([i]) => i.issue).join(" ") },
      },
      cell(
        "who",
        "Participant",
        avatar(p.user?.id ?? p.participant_id, name, { size: "sm" }),
        h(
          "span",
          { class: "who-text" },
          h("strong", { class: "who-name" }, name),
          h("span", { class: "muted who-sub" }, [p.user?.role, `device ${p.participant_id}`].filter(Boolean).join(" · ")),
          tags.length
            ? h(
                "span",
                { class: "issue-tags" },
                tags.map(([i, text]) => h("span", { class: "issue-tag", dataset: { issue: i.issue }, title: issueSentence(i, nameOf) }, text)),
              )
            : null,
        ),
        p.muted ? h("span", { class: "muted-tag", title: "Muted" }, icon("mic-off"), "Muted") : null,
      ),
      cell("level", "Quality", levelBadge(q?.level, { title: q ? `MOS ${fmtMos(q.mos)} at ${fmtTime(q.at)}` : "Waiting for the first sample" })),
      cell("mos", "MOS", q ? fmtMos(q.mos) : NONE),
      cell("loss", "Loss", q ? fmtUpDown(q.up_loss_pct ?? null, q.down_loss_pct ?? null) : NONE),
      cell("jitter", "Jitter", q ? fmtMs(q.jitter_ms) : NONE),
      q?.rtt_stale
        ? cell("rtt", "RTT", h("span", { class: "stale", title: `Not measured in the latest sample; last measured at ${fmtTime(q.rtt_at)}` }, fmtMs(q.rtt_ms)))
        : cell("rtt", "RTT", q ? fmtMs(q.rtt_ms ?? null) : NONE),
      cell("bitrate", "Bitrate", q ? fmtKbps(q.bitrate_kbps ?? null) : NONE),
      cell(
        "audio",
        "Audio",
        h("span", { class: "meter", title: "Audio level", "aria-hidden": "true" }, h("i", { style: `width:${Math.round(meter * 100)}%` })),
        h(
          "span",
          { class: "audio-text" },
          h("span", {}, q ? fmtDbov(q.audio_level_dbov ?? null) : NONE),
          typeof voice === "number" ? h("span", { class: "muted voice" }, `${fmtShare(voice)} voice`) : null,
        ),
      ),
      cell("source", "Source", q ? fmtSource(q.source) : NONE),
    );
  }
}

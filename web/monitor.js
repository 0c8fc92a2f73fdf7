// earshot call monitor, for the server's monitoring roles (admin by
// default): dev-mode sign-in as in the demo app, then every ongoing call
// live with each participant's quality (`monitor_subscribe` through the SDK,
// with `GET /api/monitor/calls` whenever the socket is down), recent calls
// with filters, and each call's report with charts over time. Routes: `#`
// the overview, `#call=<id>` a report. Everything goes through earshot.js;
// the views live in monitor/.

import { EarshotClient, devConfig } from "./earshot.js";
import { h, $, avatar, icon } from "./ui/dom.js";
import { Banner } from "./ui/banner.js";
import { toast } from "./ui/toasts.js";
import { setupSignInForm, savedIdentity, saveIdentity, forgetIdentity, devTokenProvider } from "./ui/signin.js";
import { MonitorBook } from "./monitor/book.js";
import { Directory } from "./monitor/directory.js";
import { LiveView } from "./monitor/live.js";
import { HistoryView } from "./monitor/history.js";
import { ReportView } from "./monitor/report.js";

/** While the socket is down, ongoing calls are fetched over HTTP this often. */
const REST_POLL_MS = 5000;

const mon = {
  client: null,
  me: null,
  book: new MonitorBook(),
  /** server clock − ours, from `welcome` (running times use the server's clock) */
  skew: 0,
  granted: false,
  deniedShown: false,
  restTimer: null,
  banner: null,
  live: null,
  history: null,
  report: null,
};

const now = () => Date.now() + mon.skew;

function openCall(callId) {
  location.hash = `call=${encodeURIComponent(callId)}`;
}

function route() {
  if (!mon.granted) return;
  const m = /^#call=(.+)$/.exec(location.hash);
  const callId = m ? decodeURIComponent(m[1]) : null;
  $("#overview").hidden = !!callId;
  mon.report.show(callId);
  if (callId) window.scrollTo(0, 0);
}

// ---- access -------------------------------------------------------------

/** The server let us watch: show everything (once). */
function granted() {
  if (mon.granted) return;
  mon.granted = true;
  mon.history.load();
  route();
}

function denied(err) {
  if (mon.deniedShown) return;
  mon.deniedShown = true;
  stopRestPolling();
  mon.client.disconnect();
  mon.banner.hide();
  $("#monitor").hidden = true;
  $("#denied").hidden = false;
  $("#denied-text").textContent = `You are signed in as ${mon.me.name} (${mon.me.role}), and that role may not watch calls.`;
  $("#denied-detail").textContent = `The server answered ${err.code}: ${err.message}`;
}

async function subscribe() {
  try {
    const calls = await mon.client.subscribeMonitor();
    mon.book.replace(calls, { now: now() });
    mon.live.setState("live");
    mon.live.render();
    granted();
  } catch (err) {
    if (err.code === "ACCESS_DENIED") return denied(err);
    // A lost connection: the SDK subscribes again on the next one (monitor_snapshot).
    if (err.code !== "DISCONNECTED" && err.code !== "TIMEOUT") toast(err.message, { title: "Could not watch the calls", kind: "error" });
  }
}

// ---- the HTTP fallback while the socket is down -------------------------

async function pollRest() {
  try {
    const calls = await mon.client.monitorCalls();
    if (mon.client.state === "connected") return; // the socket is back: its snapshot wins
    mon.book.replace(calls, { via: "rest", now: now() });
    mon.live.setState("rest");
    mon.live.render();
    granted();
  } catch (err) {
    if (err.code === "ACCESS_DENIED") return denied(err);
    // NETWORK and friends: the server is away too; try again later.
  }
}

function startRestPolling() {
  if (mon.restTimer) return;
  pollRest();
  mon.restTimer = setInterval(pollRest, REST_POLL_MS);
}

function stopRestPolling() {
  clearInterval(mon.restTimer);
  mon.restTimer = null;
}

// ---- the client ------------------------------------------------------------

function wire(client) {
  client.on("welcome", (w) => {
    if (typeof w.server_time === "number") mon.skew = w.server_time - Date.now();
  });
  client.on("state", (state, info) => {
    mon.banner.update(state, info);
    if (state === "reconnecting") {
      mon.live.setState(mon.book.via === "rest" ? "rest" : "reconnecting");
      startRestPolling();
    } else if (state === "connected") {
      stopRestPolling();
    }
  });
  client.on("reconnecting", (info) => mon.banner.reconnecting(info));
  client.on("reconnect_failed", () => mon.banner.failed());
  client.on("connected", ({ resumed }) => {
    if (resumed) mon.banner.backOnline();
    // After a reconnect the SDK subscribes again by itself (monitor_snapshot).
    if (!resumed) subscribe();
  });
  client.on("monitor_snapshot", (f) => {
    mon.book.replace(f.calls, { now: now() });
    mon.live.setState("live");
    mon.live.render();
    granted();
    // Calls may have started and ended while we were away.
    mon.history.changed();
    mon.report.refreshIf(mon.report.callId);
  });
  client.on("monitor_call", ({ call }) => {
    if (mon.book.upsert(call, { now: now() })) mon.history.changed();
    mon.live.render();
  });
  client.on("connection_quality", (f) => {
    if (mon.book.quality(f, { now: now() })) mon.live.render();
  });
  // Live issues of the watched calls' participants (and of this device's own call, if any).
  const issue = (f) => {
    if (mon.book.issue(f, { now: now() })) mon.live.render();
  };
  client.on("call_issue", issue);
  client.on("call_issue_cleared", issue);
  client.on("monitor_call_ended", ({ call_id, summary }) => {
    mon.book.end(call_id, { now: now() });
    mon.live.render();
    if (summary) mon.history.noteEnded({ ...summary, id: summary.id ?? call_id });
    else mon.history.changed();
    mon.report.refreshIf(call_id);
  });
  client.on("error", (err) => {
    if (err.code === "ACCESS_DENIED" && !mon.granted) denied(err);
    else console.warn("earshot:", err.code, err.message);
  });
}

// ---- sign-in ----------------------------------------------------------------

async function signIn({ user, name, role }) {
  const provider = await devTokenProvider({ user, name, role });
  saveIdentity({ user, name, role });
  mon.me = { id: user, name: name || user, role };
  const client = new EarshotClient();
  mon.client = client;
  window.earshot = client; // handy in the console
  const directory = new Directory(client);
  mon.live = new LiveView({ book: mon.book, directory, now, open: openCall });
  mon.history = new HistoryView({ client, directory, open: openCall });
  mon.report = new ReportView({ client, directory, now });
  wire(client);
  $("#signin").hidden = true;
  $("#monitor").hidden = false;
  $("#mon-me").replaceChildren(
    avatar(user, mon.me.name, { size: "sm" }),
    h("span", { class: "mon-me-text" }, h("strong", {}, mon.me.name), h("span", { class: "muted" }, role)),
  );
  mon.live.setState("connecting");
  mon.reconnect = () => client.connect(provider).catch(() => {});
  mon.reconnect();
}

async function boot() {
  mon.banner = new Banner(() => mon.client?.reconnectNow(), () => mon.reconnect?.(), { hint: "The figures below may be out of date until then." });
  setupSignInForm(signIn);
  $("#to-chat").prepend(icon("chat"));
  $("#sign-out").prepend(icon("logout"));
  $("#sign-out").addEventListener("click", () => {
    mon.client?.disconnect();
    forgetIdentity();
    location.hash = "";
    location.reload();
  });
  $("#denied-switch").addEventListener("click", () => {
    forgetIdentity();
    location.reload();
  });
  window.addEventListener("hashchange", route);
  let dev = false;
  try {
    dev = (await devConfig()).dev === true;
  } catch {
    dev = false;
  }
  if (!dev) {
    $("#no-dev").hidden = false;
    return;
  }
  const saved = savedIdentity();
  if (saved) {
    try {
      await signIn(saved);
      return;
    } catch {
      forgetIdentity();
    }
  }
  $("#signin").hidden = false;
  $("#signin-user").focus();
}

boot();

export { mon };

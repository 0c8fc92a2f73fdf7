// The call monitor (monitor.html) against the real server: an admin follows
// the demo's link to it while two people are in an sfu call and sees that
// call with both participants and their measured quality, live (mute, the
// running time, leaving and coming back, a dropped connection, a socket
// refused while HTTP works); after the call ends, its report has a
// chart line per participant for MOS, loss, jitter and RTT, and the history
// lists it under its filters. A role without monitoring gets a clear
// message. A call of load-generator peers, one losing a quarter of what it
// sends and one 2 %, shows them as Poor and Fair and the third as clean. Screenshots go
// to test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { startServer, loadgenBin, REPO_ROOT } from "../helpers/server.js";
import { launch, newPage, signIn, createRoom, openRoom, waitForAudioFrom, participantId, assertFits } from "../helpers/browser.js";

const OUT = join(REPO_ROOT, "test-artifacts");
const ROOM = "Visa application 31";
// The load generator mints its tokens with the server's secret.
const SECRET = "monitor-test-secret-0123456789abcdef";
let server;
let browser;

before(async () => {
  await mkdir(OUT, { recursive: true });
  // A sample a second, so a short call has a timeline.
  server = await startServer({ env: { EARSHOT_QUALITY_INTERVAL: "1s", EARSHOT_JWT_SECRET: SECRET } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function shot(page, name, { fullPage = false } = {}) {
  const path = join(OUT, name);
  await page.screenshot({ path, fullPage });
  const { size } = await stat(path);
  assert.ok(size > 10000, `${name} looks empty (${size} bytes)`);
}

/** Sign in on the monitor page through its form; resolves once it shows live calls or the access message. */
async function signInMonitor(page, { user, name, role }) {
  await page.goto(`${server.url}/monitor.html`);
  await page.locator("#signin-form").waitFor();
  await page.fill("#signin-user", user);
  await page.fill("#signin-name", name);
  await page.selectOption("#signin-role", role);
  await page.click("#signin-submit");
  await page.waitForFunction(() => !document.querySelector("#denied").hidden || document.querySelector("#live").dataset.state === "live");
}

/** A number shown in a cell ("4.41", "3.1 ms", "31.6 kb/s"); NaN when it shows none. */
const num = (text) => Number.parseFloat(String(text).replace("−", "-"));

/** What the monitor shows for each participant of a live call, as text. */
function liveRows(page, roomTitle) {
  return page.evaluate((title) => {
    const card = [...document.querySelectorAll("#live-calls .call-card")].find((c) => c.querySelector(".call-room")?.textContent === title);
    if (!card) return null;
    const text = (row, field) => row.querySelector(`[data-field="${field}"]`)?.innerText.trim() ?? "";
    return [...card.querySelectorAll(".prow:not(.phead)")].map((r) => ({
      pid: r.dataset.participantId,
      name: r.querySelector(".who-name")?.textContent,
      level: r.querySelector(".level")?.textContent,
      mos: text(r, "mos"),
      loss: text(r, "loss"),
      jitter: text(r, "jitter"),
      rtt: text(r, "rtt"),
      bitrate: text(r, "bitrate"),
      audio: text(r, "audio"),
      source: text(r, "source"),
      muted: !!r.querySelector(".muted-tag"),
    }));
  }, roomTitle);
}

/**
 * Wait until every participant row of the call shows measured figures, RTT
 * included, and with `legs` the loss on both legs (the downlink's needs the
 * receiver reports of the audio they get, which come a little later).
 */
async function waitForFigures(page, roomTitle, n, { legs = false } = {}) {
  const deadline = Date.now() + 45000;
  let rows;
  while (Date.now() < deadline) {
    rows = await liveRows(page, roomTitle);
    const measured = (r) =>
      ["Excellent", "Good", "Fair", "Poor"].includes(r.level) && !Number.isNaN(num(r.mos)) && !Number.isNaN(num(r.rtt)) && (!legs || /^[\d.]+% ↑ · [\d.]+% ↓$/.test(r.loss));
    if (rows?.length === n && rows.every(measured)) return rows;
    await page.waitForTimeout(250);
  }
  throw new Error(`figures did not show for ${n} participants: ${JSON.stringify(rows)}`);
}

/** The history rows as the table shows them. */
function historyRows(page) {
  return page.$$eval("#history-rows tr", (trs) =>
    trs.map((tr) => ({
      id: tr.dataset.callId,
      room: tr.querySelector(".room-name")?.textContent,
      duration: tr.querySelector('[data-field="duration"]')?.innerText.trim(),
      worst: tr.querySelector('[data-field="worst"] .level')?.textContent ?? null,
      mos: tr.querySelector('[data-field="mos"]')?.innerText.trim(),
    })),
  );
}

/** Set the history filters and apply them; resolves with the rows once the list is reloaded. */
async function filterHistory(page, { room = "", user = "", worst = "", from = "", to = "" }) {
  await page.fill("#f-room", room);
  await page.fill("#f-user", user);
  await page.selectOption("#f-worst", worst);
  await page.fill("#f-from", from);
  await page.fill("#f-to", to);
  const reloaded = page.waitForResponse((r) => r.url().includes("/api/calls?"));
  await page.click("#f-apply");
  await reloaded;
  await page.waitForFunction(() => !document.querySelector("#history").dataset.loading);
  return historyRows(page);
}

const day = (offset) => {
  const d = new Date();
  d.setDate(d.getDate() + offset);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};

test("call monitor: an admin watches an sfu call live with real quality figures, then reads its report with charts; history filters", { timeout: 240000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  const roomId = await createRoom(amira, { title: ROOM, type: "application", participants: ["omar"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, ROOM);
  assert.equal(await amira.locator("#monitor-link").isVisible(), false, "no monitor link for an applicant");

  // Lina, an admin, follows the demo's link to the monitor: she is signed in there already.
  const lina = await newPage(browser);
  await signIn(lina, server.url, { user: "lina", name: "Lina Park", role: "admin" });
  await lina.locator("#monitor-link", { hasText: "Call monitor" }).click();
  await lina.waitForURL(/\/monitor\.html/);
  await lina.locator('#live[data-state="live"]').waitFor();
  await lina.locator("#live-empty", { hasText: "No calls right now" }).waitFor();
  assert.match(await lina.locator("#mon-me").innerText(), /Lina Park/);
  await lina.evaluate(() => {
    window.levels = {};
    window.earshot.on("connection_quality", (f) => (window.levels[f.participant_id] = f.level));
  });

  // Amira calls, Omar accepts the ring; they hear each other.
  await amira.click("#call-start");
  await amira.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });
  await omar.click('.incoming-call [data-action="accept"]');
  await omar.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });
  const [a, o] = [await participantId(amira), await participantId(omar)];
  await waitForAudioFrom(amira, [o]);
  await waitForAudioFrom(omar, [a]);

  // The monitor shows the call by its room's title, with both people and their measured quality.
  const card = lina.locator("#live-calls .call-card", { hasText: ROOM });
  await card.waitFor({ timeout: 30000 });
  assert.match(await card.locator(".chip").innerText(), /Group · SFU/);
  const rows = await waitForFigures(lina, ROOM, 2, { legs: true });
  assert.deepEqual(rows.map((r) => r.pid).sort(), [a, o].sort());
  assert.deepEqual(rows.map((r) => r.name).sort(), ["Amira Haddad", "Omar Said"]);
  for (const r of rows) {
    const what = `${r.name}: ${JSON.stringify(r)}`;
    // Loopback: nothing lost, almost no delay.
    assert.ok(["Excellent", "Good"].includes(r.level), what);
    assert.ok(num(r.mos) >= 4.0 && num(r.mos) <= 4.5, what);
    const loss = /^([\d.]+)% ↑ · ([\d.]+)% ↓$/.exec(r.loss);
    assert.ok(loss && Number(loss[1]) <= 2 && Number(loss[2]) <= 2, what);
    assert.match(r.jitter, /^[\d.]+ ms$/, what);
    assert.ok(num(r.jitter) >= 0 && num(r.jitter) < 40, what);
    assert.match(r.rtt, /^[\d.]+ ms$/, what);
    assert.ok(num(r.rtt) >= 0 && num(r.rtt) < 100, what);
    assert.match(r.bitrate, /^[\d.]+ kb\/s$/, what);
    assert.ok(num(r.bitrate) > 5 && num(r.bitrate) < 200, what);
    assert.match(r.audio, /dBov|silent/, what);
    assert.ok(["SFU", "SFU + client"].includes(r.source), what);
    assert.equal(r.muted, false, what);
  }
  // The server's level announcements (connection_quality) reached the monitor, and the badges agree with them.
  const announced = await lina.evaluate(() => window.levels);
  assert.deepEqual(Object.keys(announced).sort(), [a, o].sort());
  for (const r of await liveRows(lina, ROOM)) assert.equal(r.level.toLowerCase(), announced[r.pid], `${r.name}'s badge`);
  // The running time ticks.
  const clock = card.locator(".call-duration");
  const t1 = await clock.innerText();
  assert.match(t1, /^\d+:\d\d$/);
  await lina.waitForFunction((before) => document.querySelector("#live-calls .call-duration")?.textContent !== before, t1);

  // Omar mutes: the monitor says so; then he unmutes.
  await omar.click("#call-mute");
  await card.locator(`.prow[data-participant-id="${o}"] .muted-tag`, { hasText: "Muted" }).waitFor({ timeout: 15000 });
  await omar.click("#call-mute");
  await card.locator(`.prow[data-participant-id="${o}"]:not(.is-muted)`).waitFor({ timeout: 15000 });

  // A screenshot of the live view at laptop width.
  await lina.mouse.move(5, 5);
  await shot(lina, "monitor-live.png");
  await assertFits(lina, "monitor-live.png");

  // Omar leaves and comes back from the same device: he drops off the live view, then is back.
  await omar.click("#call-leave");
  await omar.locator("#call-dock").waitFor({ state: "hidden" });
  await card.locator(`.prow[data-participant-id="${o}"]`).waitFor({ state: "detached", timeout: 15000 });
  await omar.click("#call-join");
  await omar.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });
  assert.equal(await participantId(omar), o, "the same device, the same participant id");
  // They hear each other again (Amira's connection gets a second track from
  // the same participant, which her browser must accept).
  await waitForAudioFrom(amira, [o]);
  await waitForAudioFrom(omar, [a]);
  await waitForFigures(lina, ROOM, 2);

  // A phone signed in on the monitor itself.
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  // The phone's socket goes through a switch that can refuse new connections (HTTP stays up).
  let refuseSockets = false;
  await phone.routeWebSocket(/\/ws$/, (ws) => (refuseSockets ? ws.close() : ws.connectToServer()));
  await signInMonitor(phone, { user: "lina", name: "Lina Park", role: "admin" });
  await waitForFigures(phone, ROOM, 2);
  await shot(phone, "monitor-live-phone.png");
  await assertFits(phone, "monitor-live-phone.png");

  // The phone loses its connection: the live view says its figures may be stale, then comes back by itself.
  await phone.context().setOffline(true);
  await phone.evaluate(() => window.earshot.socket.probe());
  await phone.locator('#live-status[data-state="reconnecting"], #live-status[data-state="rest"]').waitFor({ timeout: 20000 });
  assert.match(await phone.locator("#live-status").innerText(), /Reconnecting/);
  await phone.locator('#banner[data-state="reconnecting"]').waitFor();
  assert.equal(await phone.locator("#live-calls .call-card", { hasText: ROOM }).count(), 1, "the call stays on screen meanwhile");
  await phone.context().setOffline(false);
  await phone.locator('#live-status[data-state="live"]').waitFor({ timeout: 30000 });
  await waitForFigures(phone, ROOM, 2);

  // Only the socket is down (the server refuses it, HTTP works): the monitor polls
  // GET /api/monitor/calls and still shows what happens, here Omar muting.
  refuseSockets = true;
  await phone.evaluate(() => window.earshot.socket.ws.close());
  await phone.locator('#live-status[data-state="rest"]', { hasText: "figures polled at" }).waitFor({ timeout: 20000 });
  await omar.click("#call-mute");
  const phoneCard = phone.locator("#live-calls .call-card", { hasText: ROOM });
  await phoneCard.locator(`.prow[data-participant-id="${o}"] .muted-tag`).waitFor({ timeout: 20000 });
  assert.equal(await phone.evaluate(() => window.earshot.state), "reconnecting", "that came over HTTP");
  await omar.click("#call-mute");
  refuseSockets = false;
  await phone.evaluate(() => window.earshot.reconnectNow());
  await phone.locator('#live-status[data-state="live"]').waitFor({ timeout: 30000 });
  await phoneCard.locator(`.prow[data-participant-id="${o}"]:not(.is-muted)`).waitFor({ timeout: 15000 });

  // The report of the call in progress.
  await card.locator(".report-link").click();
  await lina.locator('#report[data-state="active"]').waitFor();
  assert.match(await lina.locator("#report .report-title").innerText(), new RegExp(`${ROOM}[\\s\\S]*In progress`));
  // (A flat line has no height: wait for it to be there, not "visible".)
  await lina.locator('#report .chart[data-metric="mos"] path.series').nth(1).waitFor({ state: "attached" });
  await lina.click("#report .back-link");
  await lina.locator("#overview").waitFor();

  // Let the call gather a few more samples, then Amira ends it.
  await lina.waitForTimeout(3000);
  await amira.click("#call-end");
  await amira.locator("#call-dock").waitFor({ state: "hidden" });
  await lina.locator("#live-calls .call-card").waitFor({ state: "detached", timeout: 15000 });
  await lina.locator("#live-empty").waitFor();

  // The history lists it, ended, with its summary.
  const listed = lina.locator("#history-rows tr", { hasText: ROOM });
  await lina.waitForFunction((room) => [...document.querySelectorAll("#history-rows tr")].some((tr) => tr.textContent.includes(room) && !tr.classList.contains("ongoing")), ROOM, { timeout: 15000 });
  const [entry] = (await historyRows(lina)).filter((r) => r.room === ROOM);
  assert.match(entry.duration, /^\d+:\d\d$/);
  assert.ok(["Excellent", "Good"].includes(entry.worst), JSON.stringify(entry));
  assert.ok(num(entry.mos) >= 4.0 && num(entry.mos) <= 4.5, JSON.stringify(entry));

  // Its report: the summary, both people, and four charts with a line for each.
  await listed.click();
  await lina.locator('#report[data-state="ended"]').waitFor();
  const report = lina.locator("#report");
  assert.match(await report.locator(".report-title").innerText(), /Ended/);
  assert.match(await report.locator(".report-meta").innerText(), /Group call \(SFU\).*ended by Amira Haddad/);
  const avgMos = num(await report.locator('.tile[data-field="mos"] .tile-value').innerText());
  assert.ok(avgMos >= 4.0 && avgMos <= 4.5, `avg MOS ${avgMos}`);
  assert.match(await report.locator('.tile[data-field="worst"] .level').innerText(), /Excellent|Good/);
  const people = await report.locator(".people-table tbody tr").evaluateAll((trs) =>
    trs.map((tr) => ({ pid: tr.dataset.participantId, name: tr.querySelector('[data-field="who"] strong').textContent, samples: Number(tr.querySelector('[data-field="samples"]').textContent) })),
  );
  // A row per stay: Amira's, and Omar's two.
  assert.deepEqual(people.map((p) => [p.pid, p.name]), [[a, "Amira Haddad"], [o, "Omar Said"], [o, "Omar Said"]]);
  for (const p of people) assert.ok(p.samples >= 2, `${p.name}: ${p.samples} samples`);
  const charts = await report.locator(".chart").evaluateAll((figs) =>
    figs.map((f) => ({
      metric: f.dataset.metric,
      caption: f.querySelector("figcaption").textContent,
      lines: [...f.querySelectorAll("path.series")].map((p) => ({ pid: p.dataset.participantId, points: Number(p.dataset.points), d: p.getAttribute("d") })),
      legend: [...f.querySelectorAll(".legend li")].map((li) => li.textContent),
      xLabels: [...f.querySelectorAll(".x-labels text")].map((t) => t.textContent),
      yLabels: [...f.querySelectorAll(".y-labels text")].map((t) => t.textContent),
      width: f.querySelector("svg").getBoundingClientRect().width,
      yMax: Number(f.querySelector("svg").dataset.yMax),
    })),
  );
  assert.deepEqual(charts.map((c) => c.metric), ["mos", "loss_pct", "jitter_ms", "rtt_ms"]);
  for (const c of charts) {
    const what = `${c.metric}: ${JSON.stringify(c)}`;
    assert.deepEqual(c.lines.map((l) => l.pid).sort(), [a, o].sort(), what);
    for (const l of c.lines) assert.ok(l.points >= 3 && /^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+/.test(l.d), what);
    assert.deepEqual([...c.legend].sort(), ["Amira Haddad", "Omar Said"], what);
    assert.equal(c.xLabels[0], "0:00", what);
    assert.ok(c.xLabels.length >= 2 && c.xLabels.every((t) => /^\d+:\d\d$/.test(t)), what);
    assert.ok(c.yLabels.length >= 2 && c.yLabels.every((t) => !Number.isNaN(Number(t))), what);
    assert.ok(c.width > 300, `${c.metric} chart is ${c.width} px wide`);
  }
  // The top is 4.5 whatever the samples; it has a label of its own unless a
  // dip far down (the dropped connection) made the ticks coarser.
  assert.equal(charts[0].yMax, 4.5, "the MOS axis tops out at 4.5");
  await lina.mouse.move(5, 5);
  await shot(lina, "monitor-report.png", { fullPage: true });
  await assertFits(lina, "monitor-report.png");

  // The same report on the phone: charts as wide as the screen allows.
  await phone.goto(`${server.url}/monitor.html#call=${encodeURIComponent(entry.id)}`);
  await phone.locator('#report[data-state="ended"] .chart[data-metric="rtt_ms"] path.series').nth(1).waitFor({ state: "attached" });
  const phoneWidths = await phone.locator("#report .chart svg").evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().width));
  for (const w of phoneWidths) assert.ok(w > 300 && w <= 390, `phone chart ${w} px`);
  await shot(phone, "monitor-report-phone.png", { fullPage: true });
  await assertFits(phone, "monitor-report-phone.png");

  // History filters, answered by the server.
  await lina.click("#report .back-link");
  await lina.locator("#overview").waitFor();
  assert.deepEqual(await filterHistory(lina, { worst: "poor" }), [], "the call was never poor");
  await lina.locator("#history-empty", { hasText: "No calls match" }).waitFor();
  assert.deepEqual((await filterHistory(lina, { worst: "good" })).map((r) => r.id), entry.worst === "Good" ? [entry.id] : []);
  assert.deepEqual((await filterHistory(lina, { room: ROOM })).map((r) => r.id), [entry.id], "a room picked by its title");
  assert.deepEqual((await filterHistory(lina, { room: roomId, user: "omar" })).map((r) => r.id), [entry.id]);
  assert.deepEqual(await filterHistory(lina, { user: "nobody" }), []);
  assert.deepEqual((await filterHistory(lina, { from: day(0), to: day(0) })).map((r) => r.id), [entry.id]);
  assert.deepEqual(await filterHistory(lina, { from: day(1) }), []);
  assert.deepEqual(await filterHistory(lina, { to: day(-1) }), []);
  // A backwards range is refused before asking the server.
  await lina.fill("#f-from", day(1));
  await lina.fill("#f-to", day(-1));
  await lina.click("#f-apply");
  await lina.locator("#history-error", { hasText: "From date is after the To date" }).waitFor();
  await lina.click("#f-reset");
  await lina.locator("#history-rows tr", { hasText: ROOM }).waitFor();

  for (const page of [amira, omar, lina]) assert.deepEqual(page.errors, []);
  // The phone was offline for a while: only its failed requests of that time may be logged.
  assert.deepEqual(phone.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)), []);
});

test("call monitor: a role without monitoring is told so, and can sign in as someone else", { timeout: 60000 }, async () => {
  const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await signInMonitor(page, { user: "amira", name: "Amira Haddad", role: "applicant" });
  const denied = page.locator("#denied");
  await denied.waitFor();
  assert.match(await denied.innerText(), /No access to call monitoring/);
  assert.match(await denied.innerText(), /Amira Haddad \(applicant\)/);
  assert.match(await page.locator("#denied-detail").innerText(), /ACCESS_DENIED/);
  assert.equal(await page.locator("#monitor").isVisible(), false, "no half-working monitor behind the message");
  assert.equal(await page.evaluate(() => window.earshot.state), "disconnected");
  await shot(page, "monitor-denied-phone.png");
  await assertFits(page, "monitor-denied-phone.png");
  await page.click("#denied-switch");
  await page.locator("#signin-form").waitFor();
  // An admin from the same form gets in.
  await page.click('.persona[data-user="lina"]');
  await page.locator('#live[data-state="live"]').waitFor();
  assert.deepEqual(page.errors, []);
});

test("call monitor: of three load-generator peers, the one losing 25 % shows as Poor, 2 % as Fair, the clean one as Excellent or Good", { timeout: 120000 }, async (t) => {
  // One call of 3 ("bench" rooms): lgs-0-0 leaves out every 4th packet it
  // publishes, lgs-0-1 every 50th (in the E-model's Fair band, 1.5-3.1 %).
  const args = ["--addr", server.addr, "--secret", SECRET, "sfu", "--rooms", "1", "--participants", "3", "--duration", "90", "--warmup", "1", "--lossy-every", "4,50"];
  const gen = spawn(loadgenBin(), args, { stdio: ["ignore", "ignore", "pipe"] });
  let genErr = "";
  gen.stderr.on("data", (d) => (genErr += d));
  t.after(() => gen.kill("SIGKILL"));

  const page = await newPage(browser);
  await signInMonitor(page, { user: "mona", name: "Mona", role: "admin" });
  const readRows = () =>
    page.evaluate(() => {
      const card = [...document.querySelectorAll("#live-calls .call-card")].find((c) => c.querySelector(".call-room")?.textContent === "bench");
      const field = (r, f) => r.querySelector(`[data-field="${f}"]`)?.innerText.trim();
      return card ? [...card.querySelectorAll(".prow:not(.phead)")].map((r) => ({ user: r.dataset.userId, level: r.querySelector(".level")?.textContent, loss: field(r, "loss"), rtt: field(r, "rtt") })) : null;
    });
  /** Poll the call's rows until `ok(rows)`; the last rows either way. */
  async function until(ok, ms) {
    let rows;
    for (const end = Date.now() + ms; Date.now() < end; await page.waitForTimeout(250)) {
      rows = await readRows();
      if (rows?.length === 3 && ok(rows)) break;
    }
    return rows;
  }
  const row = (rows, u) => rows?.find((r) => r.user === u);
  // Levels hold for a few samples (hysteresis) while each second's loss may
  // read one packet more or less: wait for a sample where both agree.
  let rows = await until((rows) => {
    const [poor, fair] = [row(rows, "lgs-0-0"), row(rows, "lgs-0-1")];
    return poor.level === "Poor" && num(poor.loss) >= 20 && num(poor.loss) <= 30 && fair.level === "Fair" && num(fair.loss) > 1 && num(fair.loss) < 3.5;
  }, 40000);
  assert.equal(rows?.length, 3, `three participants on the monitor: ${JSON.stringify(rows)}\n${genErr}`);
  const lossy = row(rows, "lgs-0-0");
  assert.equal(lossy?.level, "Poor", JSON.stringify(rows));
  assert.ok(num(lossy.loss) >= 20 && num(lossy.loss) <= 30, `about 25 % uplink loss shown: ${lossy.loss}`);
  const slight = row(rows, "lgs-0-1");
  assert.equal(slight?.level, "Fair", JSON.stringify(rows));
  assert.ok(num(slight.loss) > 1 && num(slight.loss) < 3.5, `about 2 % uplink loss shown: ${slight.loss}`);
  const clean = row(rows, "lgs-0-2");
  assert.ok(["Excellent", "Good"].includes(clean?.level), `a clean uplink is not marked down: ${JSON.stringify(clean)}`);
  // The peers' receiver reports echo the server's sender reports: an RTT each.
  rows = await until((rows) => rows.every((r) => !Number.isNaN(num(r.rtt))), 20000);
  for (const r of rows ?? []) assert.ok(num(r.rtt) >= 0 && num(r.rtt) < 50, `a loopback RTT from receiver reports: ${JSON.stringify(rows)}`);
  await shot(page, "monitor-lossy-participant.png");
  await page.close();
});

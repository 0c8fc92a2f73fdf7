// Live call issues on the call monitor (monitor.html) against the real
// server: while Amira's microphone sends no sound in a call with Omar, an
// admin watching sees the issue on her row and in the call's card, in words
// ("Amira Haddad's microphone isn't sending sound"), until her sound is
// back; after the call, the report shows the issue on its timeline, and the
// history's Problem filter (`GET /api/calls?issue=`) lists the call under
// that kind and not under another, and the report's diagnosis says, per
// participant, where the loss they heard came from, with display names.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../helpers/server.js";
import { launch, newPage, signIn, createRoom, openRoom, participantId, assertFits, shot } from "../helpers/browser.js";

const ROOM = "Work permit 8";
let server;
let browser;
/** The call of the first test, for the ones after it. */
let callId = null;

before(async () => {
  server = await startServer({ env: { EARSHOT_QUALITY_INTERVAL: "1s", EARSHOT_ISSUE_NO_AUDIO_AFTER: "3s" } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function signInMonitor(page, { user, name, role }) {
  await page.goto(`${server.url}/monitor.html`);
  await page.locator("#signin-form").waitFor();
  await page.fill("#signin-user", user);
  await page.fill("#signin-name", name);
  await page.selectOption("#signin-role", role);
  await page.click("#signin-submit");
  await page.locator('#live[data-state="live"]').waitFor();
}

/** Set the Problem filter (the others empty) and apply it; resolves with the listed call ids. */
async function filterByIssue(page, issue) {
  await page.selectOption("#f-issue", issue);
  const reloaded = page.waitForResponse((r) => r.url().includes("/api/calls?"));
  await page.click("#f-apply");
  const res = await reloaded;
  await page.waitForFunction(() => !document.querySelector("#history").dataset.loading);
  return { url: res.url(), status: res.status(), ids: await page.$$eval("#history-rows tr", (trs) => trs.map((tr) => tr.dataset.callId)) };
}

test("monitor: a live issue shows on the participant and the call until it clears; the report has it on its timeline", { timeout: 180000 }, async () => {
  const lina = await newPage(browser);
  await signInMonitor(lina, { user: "lina", name: "Lina Park", role: "admin" });

  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad" });
  await createRoom(amira, { title: ROOM, participants: ["omar"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, ROOM);
  await amira.click("#call-start");
  await omar.click('.incoming-call [data-action="accept"]');
  for (const page of [amira, omar]) await page.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });
  const [a, o] = [await participantId(amira), await participantId(omar)];
  callId = await amira.evaluate(() => window.earshot.currentCall.id);

  const card = lina.locator("#live-calls .call-card", { hasText: ROOM });
  await card.waitFor({ timeout: 30000 });
  await amira.waitForTimeout(4000);
  assert.equal(await card.locator(".issue-tag").count(), 0, "both talking: no issue");

  // Amira's microphone goes silent (an OS-level mute).
  await amira.evaluate(() => (window.earshot.currentCall.localTrack.enabled = false));
  const tag = card.locator(`.prow[data-participant-id="${a}"] .issue-tag[data-issue="no_audio_sent"]`);
  await tag.waitFor({ timeout: 20000 });
  assert.equal(await tag.innerText(), "Mic sends no sound");
  assert.equal(await card.locator(`.prow[data-participant-id="${o}"] .issue-tag`).count(), 0, "Omar has no issue");
  const line = card.locator('.call-issue-line[data-issue="no_audio_sent"]');
  assert.equal(await line.getAttribute("data-participant-id"), a);
  assert.match(await line.innerText(), /Amira Haddad's microphone isn't sending sound/);
  assert.equal(await card.getAttribute("data-issues"), "1");
  await assertFits(lina, "monitor with a live issue");
  await shot(lina, "monitor-live-issue-1280.png");
  await lina.setViewportSize({ width: 390, height: 844 });
  await assertFits(lina, "monitor with a live issue, phone");
  await lina.setViewportSize({ width: 1280, height: 800 });

  // Her sound is back: the issue goes from the card and the row.
  await amira.evaluate(() => (window.earshot.currentCall.localTrack.enabled = true));
  await tag.waitFor({ state: "detached", timeout: 20000 });
  assert.equal(await card.locator(".call-issue-line").count(), 0);

  // The call ends; its report has the issue on its timeline.
  await amira.click("#call-leave");
  await omar.click("#call-leave");
  await card.waitFor({ state: "detached", timeout: 20000 });
  await lina.goto(`${server.url}/monitor.html#call=${encodeURIComponent(callId)}`);
  const row = lina.locator('#report .report-issues .issue-row[data-issue="no_audio_sent"]');
  await row.waitFor({ timeout: 20000 });
  assert.equal(await row.getAttribute("data-participant-id"), a);
  assert.equal(await row.getAttribute("data-ongoing"), "false");
  assert.match(await row.innerText(), /Amira Haddad's microphone isn't sending sound[\s\S]*\d+:\d\d/);
  const span = await row.locator(".issue-span").evaluate((el) => ({ left: parseFloat(el.style.left), width: parseFloat(el.style.width) }));
  assert.ok(span.left > 0 && span.left < 100 && span.width > 0 && span.left + span.width <= 100.01, JSON.stringify(span));
  assert.doesNotMatch(await lina.locator("#report").innerText(), /\bnull\b|undefined|NaN/);
  await assertFits(lina, "report with issues");
  await shot(lina, "monitor-report-issues-1280.png");
  for (const page of [lina, amira, omar]) assert.deepEqual(page.errors, []);
  await amira.context().close();
  await omar.context().close();
  await lina.context().close();
});

test("monitor history: the Problem filter asks for calls with that kind of issue (issue=) and lists the call", { timeout: 60000 }, async () => {
  assert.ok(callId, "the call of the test before");
  const lina = await newPage(browser);
  await signInMonitor(lina, { user: "lina", name: "Lina Park", role: "admin" });
  await lina.locator(`#history-rows tr[data-call-id="${callId}"]`).waitFor({ timeout: 20000 });
  const silent = await filterByIssue(lina, "no_audio_sent");
  assert.equal(new URL(silent.url).searchParams.get("issue"), "no_audio_sent");
  assert.equal(silent.status, 200, "the server takes issue=");
  assert.deepEqual(silent.ids, [callId]);
  const oneWay = await filterByIssue(lina, "one_way_audio");
  assert.equal(oneWay.status, 200);
  assert.deepEqual(oneWay.ids, []);
  assert.equal(await lina.locator("#history-empty").isVisible(), true);
  const any = await filterByIssue(lina, "");
  assert.equal(new URL(any.url).searchParams.has("issue"), false);
  assert.ok(any.ids.includes(callId));
  assert.deepEqual(lina.errors, []);
  await lina.context().close();
});

test("monitor report: the diagnosis, one sentence per participant with display names, as the call's summary", { timeout: 60000 }, async () => {
  assert.ok(callId, "the call of the first test");
  const lina = await newPage(browser);
  await signInMonitor(lina, { user: "lina", name: "Lina Park", role: "admin" });
  await lina.goto(`${server.url}/monitor.html#call=${encodeURIComponent(callId)}`);
  const section = lina.locator("#report .report-diagnosis");
  await section.waitFor({ timeout: 20000 });
  const rows = await section.locator("li").evaluateAll((lis) => lis.map((li) => ({ user: li.dataset.userId, text: li.querySelector(".diag-sentence").textContent })));
  assert.deepEqual(rows.map((r) => r.user).sort(), ["amira", "omar"]);
  // Loopback loses nothing: "amira heard no loss", with her name for her id.
  for (const r of rows) {
    const name = r.user === "amira" ? "Amira Haddad" : "Omar Said";
    assert.ok(r.text.startsWith(`${name} heard`), JSON.stringify(r));
    assert.doesNotMatch(r.text, /\b(amira|omar)\b/, "user ids replaced by names");
  }
  // The summary comes before the participants' table.
  assert.equal(await lina.evaluate(() => !!(document.querySelector(".report-diagnosis").compareDocumentPosition(document.querySelector(".report-people")) & Node.DOCUMENT_POSITION_FOLLOWING)), true);
  await assertFits(lina, "report with a diagnosis");
  assert.deepEqual(lina.errors, []);
  await lina.context().close();
});

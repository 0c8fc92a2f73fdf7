// Live call issues in the demo app.
// - When the microphone sends no sound while the other person talks (here:
//   the track disabled, as an OS-level mute would), the server says so and
//   the dock shows "Your microphone isn't sending sound" with a hint, on that
//   page only; when the sound comes back, the banner goes.
// - The same with a microphone that really captures silence: a browser whose
//   fake device plays a silent WAV file.
// - Talking while muted: the fake microphone keeps beeping while the user is
//   muted; the SDK hears it on a clone of the track, tells the server
//   (`report_call_issue`), and the dock says "You're muted" until they unmute.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newPage, signIn, createRoom, openRoom, serverAndBrowser, shot, launch, fakeAudioFile } from "../helpers/browser.js";

const ctx = serverAndBrowser({ env: { EARSHOT_QUALITY_INTERVAL: "1s", EARSHOT_ISSUE_NO_AUDIO_AFTER: "3s" } });

/** Amira (on `amiraBrowser`) calls Omar in a new room; both docks connected. */
async function callBetween(title, { amiraBrowser = ctx.browser } = {}) {
  const amira = await newPage(amiraBrowser);
  await signIn(amira, ctx.server.url, { user: "amira", name: "Amira Haddad" });
  await createRoom(amira, { title, participants: ["omar"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, title);
  await amira.click("#call-start");
  await omar.click('.incoming-call [data-action="accept"]');
  for (const page of [amira, omar]) await page.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });
  return { amira, omar };
}

async function hangUp(...pages) {
  for (const page of pages) {
    if (await page.locator("#call-leave").isVisible()) await page.click("#call-leave");
    await page.context().close();
  }
}

test("a silent microphone: the dock says so and the banner goes when the sound is back", { timeout: 120000 }, async () => {
  const { amira, omar } = await callBetween("Study permit");
  // Both talking (the fake microphones play a tone): no issue.
  await amira.waitForTimeout(5000);
  assert.equal(await amira.locator("#call-issue").isVisible(), false);

  // Amira's microphone goes silent without her muting in the app.
  await amira.evaluate(() => (window.earshot.currentCall.localTrack.enabled = false));
  const banner = amira.locator('#call-issue[data-issue="no_audio_sent"]');
  await banner.waitFor({ timeout: 15000 });
  assert.match(await banner.innerText(), /Your microphone isn't sending sound[\s\S]*can't hear you/);
  assert.equal(await omar.locator("#call-issue").isVisible(), false, "only Amira is told");
  await shot(amira, "call-issue-1280.png");

  await amira.evaluate(() => (window.earshot.currentCall.localTrack.enabled = true));
  await banner.waitFor({ state: "hidden", timeout: 15000 });
  for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
  await hangUp(amira, omar);
});

test("a microphone that captures only silence: 'Your microphone isn't sending sound' while the other talks", { timeout: 150000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "earshot-silent-mic-"));
  const silent = await launch({ args: [await fakeAudioFile(join(dir, "silence.wav"), { seconds: 2 })] });
  try {
    const { amira, omar } = await callBetween("Silent microphone", { amiraBrowser: silent });
    const banner = amira.locator('#call-issue[data-issue="no_audio_sent"]');
    await banner.waitFor({ timeout: 30000 });
    assert.equal(await amira.locator("#call-issue-text").innerText(), "Your microphone isn't sending sound");
    assert.match(await amira.locator("#call-issue-hint").innerText(), /can't hear you/);
    assert.equal(await amira.locator("#call-issues-more").isVisible(), false, "one issue, one banner");
    // Omar's microphone beeps and his audio reaches Amira: nothing to tell him.
    assert.equal(await omar.locator("#call-issue").isVisible(), false);
    await shot(amira, "call-issue-silent-mic-1280.png");
    for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
    await hangUp(amira, omar);
  } finally {
    await silent.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("talking while muted: the dock says 'You're muted' within seconds, and the banner goes after unmuting", { timeout: 120000 }, async () => {
  const { amira, omar } = await callBetween("Muted and talking");
  // What the SDK decides, as it decides it.
  await amira.evaluate(() => {
    window.mutedTalk = [];
    window.statsErrors = [];
    const call = window.earshot.currentCall;
    call.on("talking_while_muted", ({ active }) => window.mutedTalk.push(active));
    call.on("stats_error", (err) => window.statsErrors.push(String(err?.message ?? err)));
    call.on("issue_report_error", (err) => window.statsErrors.push(String(err?.message ?? err)));
  });
  await amira.click("#call-mute");
  assert.equal(await amira.locator("#call-mute").getAttribute("aria-pressed"), "true");
  // The fake microphone keeps beeping: voice while muted. The SDK hears it
  // (on a clone of the disabled track) and tells the server, whose
  // call_issue puts the banner up.
  await amira.waitForFunction(() => window.mutedTalk.includes(true), null, { timeout: 8000 });
  const banner = amira.locator('#call-issue[data-issue="talking_while_muted"]');
  await banner.waitFor({ timeout: 10000 });
  assert.equal(await amira.locator("#call-issue-text").innerText(), "You're muted");
  assert.match(await amira.locator("#call-issue-hint").innerText(), /Unmute to be heard/);
  assert.equal(await amira.locator("#call-issue-action").innerText(), "Unmute");
  assert.equal(await omar.locator('#call-issue[data-issue="talking_while_muted"]').isVisible(), false, "only Amira is told");
  // Muted is not silent: no no_audio_sent on top of it.
  assert.equal(await amira.locator('.call-issue-more[data-issue="no_audio_sent"]').count(), 0);
  await shot(amira, "call-issue-muted-1280.png");

  await amira.click("#call-mute");
  await banner.waitFor({ state: "hidden", timeout: 10000 });
  assert.equal(await amira.locator("#call-mute").getAttribute("aria-pressed"), "false");
  assert.deepEqual(await amira.evaluate(() => window.mutedTalk), [true, false]);
  // The call_stats sent meanwhile carry the microphone's level and the connection's state, and the server took them.
  await amira.waitForFunction(() => window.earshot.currentCall.lastReport?.connection_state, null, { timeout: 10000 });
  const report = await amira.evaluate(() => window.earshot.currentCall.lastReport);
  assert.equal(report.connection_state, "connected");
  assert.ok(typeof report.outbound?.audio_level === "number" && report.outbound.audio_level >= 0 && report.outbound.audio_level <= 1, JSON.stringify(report.outbound));
  assert.deepEqual(await amira.evaluate(() => window.statsErrors), []);
  // Muted again: the banner's own Unmute button ends it too.
  await amira.click("#call-mute");
  await banner.waitFor({ timeout: 10000 });
  await amira.click("#call-issue-action");
  await banner.waitFor({ state: "hidden", timeout: 10000 });
  assert.equal(await amira.evaluate(() => window.earshot.currentCall.muted), false);
  for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
  await hangUp(amira, omar);
});

test("several issues at once, each in words with people's names; a cleared frame removes only its own banner", { timeout: 120000 }, async () => {
  const { amira, omar } = await callBetween("Several issues");
  const [a, o] = [await amira.evaluate(() => window.earshot.currentCall.participantId), await omar.evaluate(() => window.earshot.currentCall.participantId)];
  // The frames as the server sends them (one_way_audio: participant = the
  // receiver, from = the sender), handed to the page's client directly.
  const frame = (type, issue, pid, uid, from = {}) => ({ type, call_id: null, participant_id: pid, user_id: uid, issue, since: Date.now(), ...from });
  const deliver = (page, f) => page.evaluate((f) => window.earshot._dispatch({ ...f, call_id: window.earshot.currentCall.id }), f);
  const dock = (page) =>
    page.evaluate(() => ({
      top: document.querySelector("#call-issue").hidden ? null : [document.querySelector("#call-issue").dataset.issue, document.querySelector("#call-issue-text").textContent],
      more: [...document.querySelectorAll("#call-issues-more .call-issue-more")].map((li) => [li.dataset.issue, li.querySelector("strong").textContent]),
    }));
  const omarCantHearAmira = frame("call_issue", "one_way_audio", o, "omar", { from_participant_id: a, from_user_id: "amira" });
  const amiraCantHearOmar = frame("call_issue", "one_way_audio", a, "amira", { from_participant_id: o, from_user_id: "omar" });
  const reconnecting = frame("call_issue", "reconnecting", a, "amira");

  await deliver(amira, omarCantHearAmira);
  await deliver(omar, omarCantHearAmira);
  assert.deepEqual(await dock(amira), { top: ["one_way_audio", "Omar Said can't hear you"], more: [] });
  assert.deepEqual(await dock(omar), { top: ["one_way_audio", "You can't hear Amira Haddad"], more: [] });

  await deliver(amira, amiraCantHearOmar);
  await deliver(amira, reconnecting);
  assert.deepEqual(await dock(amira), {
    top: ["reconnecting", "Reconnecting audio…"],
    more: [
      ["one_way_audio", "You can't hear Omar Said"],
      ["one_way_audio", "Omar Said can't hear you"],
    ],
  });
  assert.equal(await amira.locator("#call-issue").getAttribute("data-count"), "3");
  await shot(amira, "call-issues-several-1280.png");

  // Cleared: the one about Omar's audio reaching Amira, and only it.
  await deliver(amira, { ...amiraCantHearOmar, type: "call_issue_cleared", duration_ms: 4000 });
  assert.deepEqual(await dock(amira), { top: ["reconnecting", "Reconnecting audio…"], more: [["one_way_audio", "Omar Said can't hear you"]] });
  await deliver(amira, { ...reconnecting, type: "call_issue_cleared", duration_ms: 2000 });
  assert.deepEqual(await dock(amira), { top: ["one_way_audio", "Omar Said can't hear you"], more: [] });
  await deliver(amira, frame("call_issue", "media_failed", a, "amira"));
  assert.deepEqual((await dock(amira)).top, ["media_failed", "Call audio was lost"]);
  await deliver(amira, frame("call_issue_cleared", "media_failed", a, "amira"));
  await deliver(amira, { ...omarCantHearAmira, type: "call_issue_cleared" });
  await deliver(omar, { ...omarCantHearAmira, type: "call_issue_cleared" });
  for (const page of [amira, omar]) {
    assert.deepEqual(await dock(page), { top: null, more: [] });
    assert.equal(await page.locator("#call-issues-more").isVisible(), false);
  }
  // An issue only shows in its own call's dock, and goes with the call.
  await deliver(omar, amiraCantHearOmar);
  assert.deepEqual(await dock(omar), { top: ["one_way_audio", "Amira Haddad can't hear you"], more: [] });
  await omar.click("#call-leave");
  await omar.locator("#call-dock").waitFor({ state: "hidden" });
  assert.equal(await omar.locator("#call-issue").isVisible(), false);
  for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
  await hangUp(amira, omar);
});

// Live call issues in the demo app: when the microphone sends no sound
// while the other person talks (here: the track disabled, as an OS-level
// mute would), the server says so and the dock shows "Your microphone
// isn't sending sound" with a hint, on that page only; when the sound comes
// back, the banner goes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage, signIn, createRoom, openRoom, serverAndBrowser, shot } from "../helpers/browser.js";

const ctx = serverAndBrowser({ env: { EARSHOT_QUALITY_INTERVAL: "1s", EARSHOT_ISSUE_NO_AUDIO_AFTER: "3s" } });

test("a silent microphone: the dock says so and the banner goes when the sound is back", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira", name: "Amira Haddad" });
  await createRoom(amira, { title: "Study permit", participants: ["omar"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Study permit");
  await amira.click("#call-start");
  await omar.click('.incoming-call [data-action="accept"]');
  for (const page of [amira, omar]) await page.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });
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
});

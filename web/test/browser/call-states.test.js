// Calls that behave like a phone, in the demo app against the real server:
// the incoming-call card (also when the room is open, on a laptop and a
// phone), "Calling Omar…" with Cancel on the caller's side and a timer that
// starts at the answer; answering on one device stops the other; a decline
// tells the caller why; a cancelled or unanswered call leaves a missed-call
// entry with "Call back"; after a server crash no ghost call is left and the
// Call button comes back. Screenshots of the card and the missed-call entry
// at 1280 and 390 px go to test-artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../helpers/server.js";
import { newPage, signIn, createRoom, openRoom, assertFits, serverAndBrowser, shot } from "../helpers/browser.js";

const PHONE = { viewport: { width: 390, height: 844 } };
const ctx = serverAndBrowser();

const card = (page) => page.locator(".incoming-call");
const dockState = (page) => page.locator("#call-state").innerText();

test("accept: a ringing card on every device of the callee, Calling… for the caller, the timer from the answer", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira", name: "Amira Haddad" });
  await createRoom(amira, { title: "Passport renewal", participants: ["omar"] });
  const laptop = await newPage(ctx.browser);
  await signIn(laptop, ctx.server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(laptop, "Passport renewal");
  const phone = await newPage(ctx.browser, PHONE);
  await signIn(phone, ctx.server.url, { user: "omar", name: "Omar Said", role: "professional" });

  await amira.click("#call-start");
  await amira.locator("#call-state", { hasText: "Calling Omar Said…" }).waitFor();
  await amira.locator("#call-leave", { hasText: "Cancel" }).waitFor();
  assert.equal(await amira.locator("#call-mode").innerText(), "1:1");
  assert.equal(await amira.locator("#call-timer").innerText(), "", "no timer while it rings");

  // Both of Omar's devices ring, the laptop although the room is open.
  for (const page of [laptop, phone]) {
    const c = card(page);
    await c.waitFor();
    assert.equal(await c.getAttribute("data-kind"), "one-to-one");
    assert.match(await c.innerText(), /Amira Haddad[\s\S]*Voice call/);
    await page.locator("#call-strip").waitFor({ state: "hidden" });
  }
  await shot(laptop, "incoming-call-1280.png");
  await shot(phone, "incoming-call-390.png");
  await assertFits(phone, "the incoming call on a phone");
  // The ringtone can be muted, and stays muted.
  await phone.click('.incoming-call [data-action="mute"]');
  assert.equal(await phone.locator('.incoming-call [data-action="mute"]').getAttribute("aria-pressed"), "true");

  await laptop.click('.incoming-call [data-action="accept"]');
  await laptop.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });
  // The phone stops ringing at once: answered elsewhere.
  await card(phone).waitFor({ state: "detached" });
  await phone.locator(".toast", { hasText: "You answered on another device." }).waitFor();
  await amira.locator("#call-state", { hasText: "Connected" }).waitFor();
  await amira.locator("#call-leave", { hasText: "Leave" }).waitFor();
  await amira.waitForFunction(() => /^\d\d:\d\d$/.test(document.querySelector("#call-timer").textContent));

  // Both hang up: the call is over at once, and the conversation says so.
  await laptop.click("#call-leave");
  await amira.click("#call-leave");
  for (const page of [amira, laptop]) {
    const entry = page.locator('#messages .call-entry[data-outcome="completed"]');
    await entry.waitFor();
    assert.match(await entry.innerText(), /Voice call · \d+ s/);
    await page.locator("#call-start-group").waitFor();
  }
  for (const page of [amira, laptop, phone]) assert.deepEqual(page.errors, []);
});

test("a hidden tab gets a browser notification for the ring, closed when the ring stops", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira5", name: "Amira Haddad" });
  await createRoom(amira, { title: "Tourist visa", participants: ["omar5"] });
  const omar = await newPage(ctx.browser);
  // Omar allowed notifications and switched to another tab: the page sees
  // itself hidden, and records the notifications it shows.
  await omar.addInitScript(() => {
    Object.defineProperty(document, "hidden", { get: () => window.pretendHidden === true });
    window.shown = [];
    window.Notification = class {
      static permission = "granted";
      static requestPermission = async () => "granted";
      constructor(title, o) {
        this.title = title;
        this.body = o?.body;
        this.closed = false;
        window.shown.push(this);
      }
      close() {
        this.closed = true;
      }
    };
  });
  await signIn(omar, ctx.server.url, { user: "omar5", name: "Omar Said", role: "professional" });
  await omar.evaluate(() => (window.pretendHidden = true));
  await amira.click("#call-start");
  await card(omar).waitFor();
  const shown = await omar.evaluate(() => window.shown.map((n) => ({ title: n.title, body: n.body, closed: n.closed })));
  assert.deepEqual(shown, [{ title: "Amira Haddad is calling", body: "Voice call", closed: false }]);
  await amira.click("#call-leave");
  await card(omar).waitFor({ state: "detached" });
  assert.equal(await omar.evaluate(() => window.shown[0].closed), true, "the notification goes with the ring");
});

test("decline: the caller hears why, and gets the Call button back", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira3", name: "Amira Haddad" });
  await createRoom(amira, { title: "Work permit", participants: ["omar3"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar3", name: "Omar Said", role: "professional" });

  await amira.click("#call-menu-btn");
  await amira.click('#call-menu [data-mode="p2p"]');
  await card(omar).waitFor();
  await omar.click('.incoming-call [data-action="busy"]');
  await card(omar).waitFor({ state: "detached" });
  await amira.locator(".toast", { hasText: "Omar Said declined the call: “Can't talk now, I'll call you back”" }).waitFor();
  await amira.locator("#call-dock").waitFor({ state: "hidden" });
  await amira.locator("#call-start-group").waitFor();
  await amira.locator('#messages .call-entry[data-outcome="declined"]', { hasText: "Call declined" }).waitFor();
  for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
});

test("cancel and missed: the ring stops at once and leaves a missed-call entry with Call back", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira4", name: "Amira Haddad" });
  await createRoom(amira, { title: "Family visa", participants: ["omar4"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar4", name: "Omar Said", role: "professional" });
  const phone = await newPage(ctx.browser, PHONE);
  await signIn(phone, ctx.server.url, { user: "omar4", name: "Omar Said", role: "professional" });

  await amira.click("#call-start");
  await card(omar).waitFor();
  await card(phone).waitFor();
  // Amira gives up after a moment: Omar's devices stop ringing within a second.
  await amira.click("#call-leave");
  const stopped = Date.now();
  await card(omar).waitFor({ state: "detached", timeout: 1000 });
  await card(phone).waitFor({ state: "detached", timeout: 1000 });
  assert.ok(Date.now() - stopped < 1500);
  await amira.locator("#call-dock").waitFor({ state: "hidden" });
  await amira.locator('#messages .call-entry[data-outcome="cancelled"]', { hasText: "Cancelled call" }).waitFor();

  // In Omar's conversation: "Missed voice call from Amira Haddad", with Call back.
  await openRoom(omar, "Family visa");
  await phone.locator("#room-list .room-btn", { hasText: "Family visa" }).click();
  for (const [page, name] of [[omar, "missed-call-1280.png"], [phone, "missed-call-390.png"]]) {
    const entry = page.locator("#messages .call-entry.missed");
    await entry.waitFor();
    assert.match(await entry.innerText(), /Missed voice call from Amira Haddad/);
    await shot(page, name);
  }
  await assertFits(phone, "the missed call on a phone");
  await omar.click("#messages .call-entry.missed .call-back");
  await omar.locator("#call-state", { hasText: "Calling Amira Haddad…" }).waitFor();
  await card(amira).waitFor();
  await omar.click("#call-leave");
  await card(amira).waitFor({ state: "detached" });
  for (const page of [amira, omar, phone]) assert.deepEqual(page.errors, []);
});

test("nobody answers: after ring_timeout the caller hears so and the callee finds a missed call", { timeout: 120000 }, async () => {
  const quick = await startServer({ env: { EARSHOT_RING_TIMEOUT: "3s" } });
  try {
    const amira = await newPage(ctx.browser);
    await signIn(amira, quick.url, { user: "amira", name: "Amira Haddad" });
    await createRoom(amira, { title: "Study visa", participants: ["omar"] });
    const omar = await newPage(ctx.browser);
    await signIn(omar, quick.url, { user: "omar", name: "Omar Said", role: "professional" });
    await amira.click("#call-start");
    await card(omar).waitFor();
    await card(omar).waitFor({ state: "detached", timeout: 10000 });
    await amira.locator(".toast", { hasText: "Omar Said didn't answer." }).waitFor();
    await amira.locator("#call-dock").waitFor({ state: "hidden" });
    await amira.locator('#messages .call-entry[data-outcome="missed"]', { hasText: "No answer" }).waitFor();
    await openRoom(omar, "Study visa");
    await omar.locator('#messages .call-entry.missed[data-outcome="missed"]', { hasText: "Missed voice call from Amira Haddad" }).waitFor();
    for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
  } finally {
    await quick.dispose();
  }
});

test("a crash mid-call: no ghost call after the restart, the Call button is back, the call is marked interrupted", { timeout: 180000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "earshot-web-calls-"));
  let s = await startServer({ dataDir });
  try {
    const amira = await newPage(ctx.browser);
    await signIn(amira, s.url, { user: "amira", name: "Amira Haddad" });
    await createRoom(amira, { title: "Residence card", participants: ["omar"] });
    const omar = await newPage(ctx.browser);
    await signIn(omar, s.url, { user: "omar", name: "Omar Said", role: "professional" });
    await openRoom(omar, "Residence card");
    await amira.click("#call-menu-btn");
    await amira.click('#call-menu [data-mode="p2p"]');
    await omar.click('.incoming-call [data-action="accept"]');
    await omar.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });

    const port = s.port;
    await s.stop("SIGKILL");
    s = await startServer({ dataDir, port });
    for (const page of [amira, omar]) {
      await page.waitForFunction(() => window.earshot?.state === "connected", null, { timeout: 60000 });
      await page.locator("#call-dock").waitFor({ state: "hidden", timeout: 30000 });
      await page.locator("#call-strip").waitFor({ state: "hidden" });
      await page.locator("#call-start-group").waitFor();
      await page.locator('#messages .call-entry[data-outcome="interrupted"]', { hasText: "The call was interrupted" }).waitFor({ timeout: 30000 });
    }
    // The room can call again at once.
    await amira.click("#call-start");
    await card(omar).waitFor();
    await amira.click("#call-leave");
    await card(omar).waitFor({ state: "detached" });
  } finally {
    await s.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

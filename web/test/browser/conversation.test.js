// The conversation experience in the demo app: finding people by name in
// the new-conversation dialog (the directory), and messages in Arabic and
// English each in its own direction, with links that are safe to click.
// Screenshots at 1280 and 390 px go to test-artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage, signIn, openRoom, sendText, assertFits, serverAndBrowser, shot } from "../helpers/browser.js";

const ctx = serverAndBrowser();
const PHONE = { viewport: { width: 390, height: 844 } };

test("finding people: the new-conversation dialog finds the staff by name", { timeout: 120000 }, async () => {
  // The server learns people when they first sign in.
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar", name: "Omar Said", role: "professional" });
  const olga = await newPage(ctx.browser);
  await signIn(olga, ctx.server.url, { user: "olga", name: "Olga Petrova", role: "professional" });
  const sam = await newPage(ctx.browser);
  await signIn(sam, ctx.server.url, { user: "sam", name: "Sam Applicant" });

  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira", name: "Amira Haddad" });
  await amira.click("#new-room");
  // Everyone she may talk to is offered at once; other applicants are not.
  await amira.locator("#room-find-results .find-person", { hasText: "Olga Petrova" }).waitFor();
  const offered = await amira.locator("#room-find-results .find-person").allInnerTexts();
  assert.ok(offered.some((t) => t.includes("Omar Said")), JSON.stringify(offered));
  assert.ok(!offered.some((t) => t.includes("Sam Applicant")), `applicants stay private: ${JSON.stringify(offered)}`);
  // Typing narrows it down; picking someone fills the participants.
  await amira.fill("#room-find", "sai");
  await amira.waitForFunction(() => document.querySelectorAll("#room-find-results .find-person").length === 1);
  await amira.click('#room-find-results .find-person[data-user-id="omar"]');
  assert.equal(await amira.inputValue("#room-people"), "omar");
  await amira.fill("#room-title", "Work visa");
  await amira.click("#room-create");
  await amira.locator("#chat-title", { hasText: "Work visa" }).waitFor();
  await omar.locator("#room-list .room-btn", { hasText: "Work visa" }).waitFor({ timeout: 30000 });
  for (const page of [amira, omar, olga, sam]) assert.deepEqual(page.errors, []);
});

test("Arabic and English each in their own direction; links open safely; nothing is parsed as HTML", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira2", name: "أميرة حداد" });
  await amira.click("#new-room");
  await amira.fill("#room-title", "طلب تأشيرة");
  await amira.fill("#room-people", "omar2");
  await amira.click("#room-create");
  await amira.locator("#chat-title", { hasText: "طلب تأشيرة" }).waitFor();
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar2", name: "Omar Said", role: "professional" });
  const phone = await newPage(ctx.browser, PHONE);
  await signIn(phone, ctx.server.url, { user: "omar2", name: "Omar Said", role: "professional" });

  // The composer follows what is typed.
  await amira.fill("#text", "مرحبا");
  assert.equal(await amira.locator("#text").evaluate((el) => getComputedStyle(el).direction), "rtl");
  await amira.press("#text", "Enter");
  await sendText(amira, "هل وصلت الأوراق؟ التفاصيل هنا: https://example.org/visa?id=7.");
  await sendText(amira, "Here is the English version: see www.example.org/forms, thanks!");
  await sendText(amira, "<b>not bold</b> <img src=x onerror=alert(1)> javascript:alert(1)");

  for (const page of [omar, phone]) {
    await openRoom(page, "طلب تأشيرة");
    await page.locator("#messages .msg-text", { hasText: "javascript:alert(1)" }).waitFor();
  }
  const texts = omar.locator("#messages .msg-text");
  const style = (i) => texts.nth(i).evaluate((el) => ({ dir: getComputedStyle(el).direction, align: getComputedStyle(el).textAlign }));
  assert.deepEqual(await style(0), { dir: "rtl", align: "start" }, "Arabic reads right to left");
  assert.equal((await style(1)).dir, "rtl");
  assert.equal((await style(2)).dir, "ltr", "English reads left to right");
  // Links: the URL without the sentence's full stop, a new tab that gets no
  // handle on this page; `www.` addresses too.
  const link = texts.nth(1).locator("a");
  assert.equal(await link.getAttribute("href"), "https://example.org/visa?id=7");
  assert.equal(await link.innerText(), "https://example.org/visa?id=7");
  assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
  assert.equal(await link.getAttribute("target"), "_blank");
  assert.equal(await texts.nth(2).locator("a").getAttribute("href"), "https://www.example.org/forms");
  // Markup stays text, and `javascript:` is no link.
  const hostile = texts.nth(3);
  assert.equal(await hostile.innerText(), "<b>not bold</b> <img src=x onerror=alert(1)> javascript:alert(1)");
  assert.equal(await hostile.locator("b, img, a").count(), 0);

  await shot(omar, "rtl-links-1280.png");
  await shot(phone, "rtl-links-390.png");
  await assertFits(phone, "Arabic messages on a phone");
  for (const page of [amira, omar, phone]) assert.deepEqual(page.errors, []);
});

test("the room list is live: a new conversation, its first message and a new title show at once on the other page", { timeout: 120000 }, async () => {
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar3", name: "Omar Said", role: "professional" });
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira3", name: "Amira Haddad" });
  await amira.click("#new-room");
  await amira.fill("#room-title", "Residence permit");
  await amira.fill("#room-people", "omar3");
  const created = Date.now();
  await amira.click("#room-create");
  // Far sooner than any poll: pushed.
  const entry = omar.locator("#room-list .room-btn", { hasText: "Residence permit" });
  await entry.waitFor({ timeout: 3000 });
  assert.ok(Date.now() - created < 3000);
  await amira.locator("#chat-title", { hasText: "Residence permit" }).waitFor();
  await sendText(amira, "Hello, my permit expires next month");
  await entry.locator(".preview", { hasText: "Hello, my permit expires next month" }).waitFor({ timeout: 3000 });
  await entry.locator(".badge, .unread", { hasText: "1" }).first().waitFor({ timeout: 3000 });
  // Renamed by its creator: the other page's list follows.
  const roomId = await amira.evaluate(() => decodeURIComponent(location.hash.slice(1)));
  const status = await amira.evaluate(async (id) => {
    const r = await fetch(`/api/rooms/${encodeURIComponent(id)}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${window.earshot._token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "Residence permit renewal" }),
    });
    return r.status;
  }, roomId);
  assert.equal(status, 200);
  await omar.locator("#room-list .room-btn", { hasText: "Residence permit renewal" }).waitFor({ timeout: 3000 });
  // The SDK keeps the same list as live state.
  const listed = await omar.evaluate(() => window.earshot.roomList.list().map((s) => s.room.title));
  assert.ok(listed.includes("Residence permit renewal"), JSON.stringify(listed));
  for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
});

test("three ticks: sent while Omar is away, delivered when a device of his gets it, read when he opens it", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira4", name: "Amira Haddad" });
  await amira.click("#new-room");
  await amira.fill("#room-title", "Blue card");
  await amira.fill("#room-people", "omar4");
  await amira.click("#room-create");
  await amira.locator("#chat-title", { hasText: "Blue card" }).waitFor();
  await sendText(amira, "Are you there?");
  const tick = amira.locator("#messages .msg-row.mine", { hasText: "Are you there?" }).locator(".status");
  await amira.locator('#messages .msg-row.mine[data-status="sent"]').waitFor();
  assert.equal(await tick.getAttribute("data-tick"), "sent", "stored, on no device of Omar's yet");
  assert.equal(await tick.locator("svg").count(), 1);

  // Omar signs in on his phone, the conversation closed: it reached him.
  const omar = await newPage(ctx.browser, PHONE);
  await signIn(omar, ctx.server.url, { user: "omar4", name: "Omar Said", role: "professional" });
  await amira.locator('#messages .msg-row.mine .status[data-tick="delivered"]').waitFor({ timeout: 5000 });
  assert.equal(await tick.getAttribute("title"), "Delivered");
  // He opens it: read.
  await openRoom(omar, "Blue card");
  await amira.locator('#messages .msg-row.mine .status[data-tick="read"]').waitFor({ timeout: 5000 });
  await shot(amira, "ticks-read-1280.png");
  for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
});

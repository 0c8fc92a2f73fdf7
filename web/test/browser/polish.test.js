// Polish in the demo app, checked like a person would: the conversation
// keeps following the newest message when the call strip or the call dock
// comes and goes; a moderator's mute button is an action with its word on
// it, not a second copy of the "muted" icon; a link to someone else's (or no)
// conversation says so; the call dock fits a phone without cutting names or
// its state short; the message list is one tab stop with arrow keys between
// messages; text is readable (contrast); the tab's title counts unread
// messages. Screenshots of the dock and the no-access state at 1280 and
// 390 px go to test-artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage, signIn, createRoom, openRoom, assertFits, serverAndBrowser, shot } from "../helpers/browser.js";
import { axeViolations, formatViolations } from "../helpers/axe.js";

const PHONE = { viewport: { width: 390, height: 844 } };
const ctx = serverAndBrowser();

/** Send `n` messages "<prefix> 1" … "<prefix> n" through the page's client; resolves when the last is on screen. */
async function sendMany(page, roomId, prefix, n) {
  await page.evaluate(({ roomId, prefix, n }) => {
    for (let i = 1; i <= n; i++) window.earshot.sendMessage(roomId, { text: `${prefix} ${i}` });
  }, { roomId, prefix, n });
  await page.locator("#messages .msg-row .msg-text", { hasText: new RegExp(`^${prefix} ${n}$`) }).waitFor();
}

/** How far the conversation is from its end, in pixels (0: the newest message is in view at the bottom). */
const gapBelow = (page) => page.$eval("#scroller", (s) => s.scrollHeight - s.scrollTop - s.clientHeight);

/** Wait (briefly) for the conversation to be at its very end; fail with the gap it is at. */
async function assertAtBottom(page, what) {
  const ok = await page
    .waitForFunction(() => {
      const s = document.querySelector("#scroller");
      return s.scrollHeight - s.scrollTop - s.clientHeight <= 2;
    }, null, { timeout: 2000 })
    .then(() => true, () => false);
  assert.ok(ok, `${what}: the conversation is ${await gapBelow(page)} px above its newest message`);
}

test("the conversation stays at its newest message when the call strip and the call dock appear and go", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira1", name: "Amira Haddad" });
  const roomId = await createRoom(amira, { title: "Family visa 7", participants: ["omar1", "lina1"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar1", name: "Omar Said", role: "professional" });
  const lina = await newPage(ctx.browser);
  await signIn(lina, ctx.server.url, { user: "lina1", name: "Lina Park", role: "professional" });
  await openRoom(omar, "Family visa 7");
  await openRoom(lina, "Family visa 7");
  await sendMany(amira, roomId, "Line", 40);
  for (const page of [omar, lina]) {
    await page.locator("#messages .msg-text", { hasText: /^Line 40$/ }).waitFor();
    assert.ok(await page.$eval("#scroller", (s) => s.scrollHeight > s.clientHeight * 1.5), "enough messages to scroll");
    await assertAtBottom(page, "after the messages came in");
  }

  // Amira calls the room: it rings for Omar and Lina, and the call's entry is the newest message.
  await amira.click("#call-start");
  for (const page of [omar, lina]) {
    await page.locator(".incoming-call").waitFor();
    await page.locator("#messages .call-entry").waitFor();
    await assertAtBottom(page, "with the call's entry");
  }

  // Lina answers: the call dock takes space from the conversation, which stays at its end.
  await lina.click('.incoming-call [data-action="accept"]');
  await lina.locator("#call-dock").waitFor();
  await lina.locator("#call-state", { hasText: "Connected" }).waitFor();
  await assertAtBottom(lina, "after the call dock appeared");

  // Omar declines: the "call in progress · Join" strip appears above his conversation.
  await omar.click('.incoming-call [data-action="decline"]');
  await omar.locator("#call-strip", { hasText: "in progress" }).waitFor();
  await assertAtBottom(omar, "after the call strip appeared");

  // Someone scrolled up to read is left where they are.
  await omar.$eval("#scroller", (s) => (s.scrollTop = 0));
  await omar.waitForTimeout(200);

  // The call ends: strip and dock go, and the conversation is still at its end.
  await amira.click("#call-end");
  await lina.locator("#call-dock").waitFor({ state: "hidden" });
  await omar.locator("#call-strip").waitFor({ state: "hidden" });
  await assertAtBottom(lina, "after the call dock went");
  assert.equal(await omar.$eval("#scroller", (s) => s.scrollTop), 0, "Omar, reading older messages, was not moved");
  for (const p of [amira, omar, lina]) assert.deepEqual(p.errors, []);
});

test("a moderator's mute is a labelled action, not a second muted icon; the dock fits a phone with names and state in full", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser, PHONE);
  await signIn(amira, ctx.server.url, { user: "amira2", name: "Amira Haddad" });
  const title = "Work permit renewal for the whole family";
  await createRoom(amira, { title, participants: ["omar2", "lina2"] });
  const omar = await newPage(ctx.browser, PHONE);
  await signIn(omar, ctx.server.url, { user: "omar2", name: "Omar Said Al-Rashidi", role: "professional" });
  const lina = await newPage(ctx.browser);
  await signIn(lina, ctx.server.url, { user: "lina2", name: "Lina Park-Fernández", role: "admin" });

  await amira.click("#call-start");
  for (const page of [omar, lina]) await page.click('.incoming-call [data-action="accept"]');
  for (const page of [amira, omar, lina]) {
    await page.locator("#call-state", { hasText: "Connected" }).waitFor();
    await page.locator("#call-people .person").nth(2).waitFor();
  }

  // Omar (staff) mutes Amira from his dock: her chip then has one microphone,
  // on a button that says what it does.
  const amiraOnOmar = omar.locator('#call-people .person[data-user-id="amira2"]');
  const btn = amiraOnOmar.locator(".person-mod-mute");
  assert.equal((await btn.innerText()).trim(), "Mute");
  assert.equal(await btn.getAttribute("aria-label"), "Mute Amira Haddad");
  await btn.click();
  await amira.locator(".toast", { hasText: "Omar Said Al-Rashidi muted you" }).waitFor();
  await amiraOnOmar.and(omar.locator('[data-muted="true"]')).waitFor();
  assert.equal((await btn.innerText()).trim(), "Unmute");
  assert.equal(await btn.getAttribute("aria-label"), "Unmute Amira Haddad");
  assert.ok((await btn.getAttribute("title")).length > 0, "the button has a tooltip");
  assert.equal(await amiraOnOmar.locator(".person-muted").count(), 0, "no state icon beside the moderator's button");
  assert.equal(await amiraOnOmar.locator("svg.icon").count(), 1, "one microphone icon in her chip");
  // The button looks like a button (an outline), not like the red state icon.
  const look = await btn.evaluate((b) => ({ border: getComputedStyle(b).borderTopWidth, text: b.innerText.trim() }));
  assert.notEqual(look.border, "0px");
  // Amira (not a moderator) sees her own state as the icon, named "Muted", and no buttons.
  await amira.locator('#call-people .person[data-local="true"] .person-muted[aria-label="Muted"]').waitFor();
  assert.equal(await amira.locator("#call-people .person-mod-mute").count(), 0);

  // On Omar's phone (390 px) the dock fits: the room, the state line and
  // every participant's name are shown in full.
  await assertFits(omar, "the call dock on a phone");
  const cut = await omar.evaluate(() => {
    const out = [];
    const els = [document.querySelector("#call-room"), document.querySelector(".call-info-text .muted"), ...document.querySelectorAll("#call-people .person-name, #call-people .person")];
    const vw = window.innerWidth;
    for (const el of els) {
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.className || el.id} "${el.textContent}" is cut (${el.scrollWidth} > ${el.clientWidth})`);
      const r = el.getBoundingClientRect();
      if (r.right > vw + 0.5 || r.left < -0.5) out.push(`${el.className || el.id} sticks out (${Math.round(r.left)}..${Math.round(r.right)})`);
    }
    const people = document.querySelector("#call-people");
    if (people.scrollWidth > people.clientWidth + 1) out.push("the participants scroll sideways");
    return out;
  });
  assert.deepEqual(cut, []);
  assert.match(await omar.locator(".call-info-text .muted").innerText(), /Connected · Group/);
  await shot(omar, "call-dock-390.png");
  await lina.mouse.move(5, 300);
  await shot(lina, "call-dock-1280.png");
  await assertFits(lina, "the call dock on a laptop");

  // Omar lets her speak again.
  await btn.click();
  await amiraOnOmar.and(omar.locator('[data-muted="false"]')).waitFor();
  assert.equal((await btn.innerText()).trim(), "Mute");
  await amira.click("#call-end");
  for (const p of [amira, omar, lina]) assert.deepEqual(p.errors, []);
});

test("someone opening a link to a conversation they are not in (or that does not exist) is told so", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira3", name: "Amira Haddad" });
  const roomId = await createRoom(amira, { title: "Private matter", participants: ["omar3"] });
  const link = `${ctx.server.url}/#${encodeURIComponent(roomId)}`;
  const noAccess = "You don't have access to this conversation (or it doesn't exist)";

  for (const [viewport, name] of [[undefined, "no-access-1280.png"], [PHONE.viewport, "no-access-390.png"]]) {
    const zoe = await newPage(ctx.browser, viewport ? { viewport } : undefined);
    await signIn(zoe, ctx.server.url, { user: "zoe3", name: "Zoe Outsider" });
    // The link opened in a new page: signed in from before, not a member.
    await zoe.goto("about:blank");
    await zoe.goto(link);
    const denied = zoe.locator("#chat-denied");
    await denied.waitFor();
    assert.equal((await denied.locator("h2").innerText()).trim(), noAccess);
    assert.equal(await zoe.locator("#chat-pane").isVisible(), false, "no conversation is shown");
    assert.equal(await zoe.locator("#room-list .room-item").count(), 0);
    await assertFits(zoe, name);
    await shot(zoe, name);
    // Back to one's own conversations.
    await zoe.click("#chat-denied-back");
    await denied.waitFor({ state: "hidden" });
    assert.equal(await zoe.evaluate(() => location.hash), "");
    // A room that does not exist reads the same.
    await zoe.evaluate(() => (location.hash = "#no-such-room"));
    await denied.waitFor();
    assert.deepEqual(zoe.errors, []);
    await zoe.context().close();
  }

  // A member following the same link lands in the conversation.
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar3", name: "Omar Said", role: "professional" });
  await omar.goto("about:blank");
  await omar.goto(link);
  await omar.locator("#chat-title", { hasText: "Private matter" }).waitFor();
  assert.equal(await omar.locator("#chat-denied").isVisible(), false);
});

test("the message list is one tab stop: arrow keys move between messages, Tab reaches the focused message's actions", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira4", name: "Amira Haddad" });
  const roomId = await createRoom(amira, { title: "Keyboard only", participants: ["omar4"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar4", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Keyboard only");
  await sendMany(omar, roomId, "From Omar", 25);
  await sendMany(amira, roomId, "From Amira", 25);
  await amira.locator("#messages .msg-row").nth(49).waitFor();

  // 50 messages, each with hidden actions: one tab stop in all. (The mouse is out of the way.)
  await amira.mouse.move(1270, 5);
  await amira.evaluate(() => document.activeElement?.blur());
  const tabbable = () =>
    amira.$$eval("#messages *", (els) =>
      els.filter((el) => el.tabIndex >= 0 && !el.disabled && el.checkVisibility({ visibilityProperty: true }) && (el.matches("a[href], button, input, select, textarea, audio[controls]") || el.hasAttribute("tabindex"))).length,
    );
  assert.equal(await tabbable(), 1);
  const focused = () => amira.evaluate(() => {
    const a = document.activeElement;
    const row = a?.closest(".msg-row");
    return { inList: !!document.querySelector("#messages").contains(a), isRow: a?.classList.contains("msg-row") ?? false, text: row?.querySelector(".msg-text")?.textContent ?? "", action: a?.dataset.action ?? "" };
  });

  // Shift+Tab from the composer lands on the newest message; once more leaves the list.
  await amira.focus("#attach");
  await amira.keyboard.press("Shift+Tab");
  assert.deepEqual(await focused(), { inList: true, isRow: true, text: "From Amira 25", action: "" });
  await amira.keyboard.press("Shift+Tab");
  assert.equal((await focused()).inList, false, "the list was a single tab stop");
  await amira.keyboard.press("Tab");
  assert.equal((await focused()).text, "From Amira 25");

  // Arrows move between messages; the focused one shows its actions.
  for (let i = 0; i < 25; i++) await amira.keyboard.press("ArrowUp");
  assert.deepEqual(await focused(), { inList: true, isRow: true, text: "From Omar 25", action: "" });
  const visibleActions = () =>
    amira.$$eval("#messages .msg-actions", (els) => els.filter((e) => e.checkVisibility({ visibilityProperty: true, opacityProperty: true })).map((e) => e.closest(".msg-row").querySelector(".msg-text").textContent));
  await amira.waitForTimeout(300); // they fade in
  assert.deepEqual(await visibleActions(), ["From Omar 25"]);
  // Tab reaches its action (Reply), and the next Tab leaves the list.
  await amira.keyboard.press("Tab");
  assert.deepEqual(await focused(), { inList: true, isRow: false, text: "From Omar 25", action: "reply" });
  await amira.keyboard.press("Escape");
  assert.deepEqual(await focused(), { inList: true, isRow: true, text: "From Omar 25", action: "" });
  await amira.keyboard.press("Tab");
  await amira.keyboard.press("Tab");
  assert.equal((await focused()).inList, false);
  assert.equal(await amira.evaluate(() => document.activeElement.id), "attach");

  // Back in, the list remembers the message; her own message has Reply, Edit and Delete.
  await amira.keyboard.press("Shift+Tab");
  assert.equal((await focused()).text, "From Omar 25");
  await amira.keyboard.press("ArrowDown");
  const actions = [];
  for (let i = 0; i < 3; i++) {
    await amira.keyboard.press("Tab");
    actions.push((await focused()).action);
  }
  assert.deepEqual(actions, ["reply", "edit", "delete"]);
  await amira.keyboard.press("Shift+Tab");
  await amira.keyboard.press("Shift+Tab");
  await amira.keyboard.press("Enter");
  await amira.locator("#compose-context", { hasText: "Replying to yourself" }).waitFor();
  assert.equal(await amira.evaluate(() => document.activeElement.id), "text");
  await amira.keyboard.press("Escape"); // no reply after all
  await amira.locator("#compose-context").waitFor({ state: "hidden" });

  // A message arriving while a message has focus leaves the focus where it is.
  await amira.focus("#attach");
  await amira.keyboard.press("Shift+Tab");
  await amira.keyboard.press("Home");
  assert.equal((await focused()).text, "From Omar 1");
  await omar.fill("#text", "One more");
  await omar.press("#text", "Enter");
  await amira.locator("#messages .msg-text", { hasText: /^One more$/ }).waitFor();
  assert.deepEqual(await focused(), { inList: true, isRow: true, text: "From Omar 1", action: "" });
  await amira.keyboard.press("End");
  assert.equal((await focused()).text, "One more");

  // A tap (click) on a message still shows its actions, and a second tap hides them.
  const row = amira.locator("#messages .msg-row", { hasText: "From Omar 3" }).first();
  const shown = () => row.locator(".msg-actions").evaluate((e) => e.checkVisibility({ visibilityProperty: true }));
  await row.locator(".msg-text").click();
  assert.ok(await row.evaluate((r) => r.classList.contains("show-actions")));
  await amira.mouse.move(1270, 5);
  await amira.waitForTimeout(300);
  assert.equal(await shown(), true);
  await row.locator(".msg-text").click();
  await amira.mouse.move(1270, 5);
  await amira.waitForTimeout(300); // they fade out
  assert.equal(await shown(), false);
  assert.deepEqual(amira.errors, []);
});

test("text is readable: axe finds no colour contrast failure in the chat, the call strip and the incoming call", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira5", name: "Amira Haddad" });
  await createRoom(amira, { title: "Contrast check", participants: ["omar5", "lina5"] });
  await createRoom(amira, { title: "Second room", participants: ["omar5"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar5", name: "Omar Said", role: "professional" });
  const lina = await newPage(ctx.browser);
  await signIn(lina, ctx.server.url, { user: "lina5", name: "Lina Park", role: "professional" });
  await openRoom(omar, "Contrast check");
  await openRoom(lina, "Contrast check");
  await openRoom(amira, "Contrast check");
  await omar.fill("#text", "Hello, see https://example.com for the form");
  await omar.press("#text", "Enter");
  await amira.fill("#text", "Thanks, I read it");
  await amira.press("#text", "Enter");
  await omar.locator("#messages .seen-by").waitFor();
  const contrast = async (page, what) => {
    const v = await axeViolations(page, { rules: ["color-contrast"] });
    assert.equal(v.length, 0, `${what}:\n${formatViolations(v)}`);
  };
  await contrast(omar, "the chat with messages, a read receipt and the room list");

  // The incoming call card's Accept and the strip's Join: white on green.
  await amira.click("#call-start");
  await lina.locator(".incoming-call").waitFor();
  await contrast(lina, "the incoming call card");
  await omar.click('.incoming-call [data-action="decline"]');
  await omar.locator("#call-strip").waitFor();
  await contrast(omar, "the call strip with Join");
  await amira.click("#call-end");
});

test("the tab's title counts unread messages as they arrive and as rooms are read", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira6", name: "Amira Haddad" });
  await createRoom(amira, { title: "Open here", participants: ["omar6"] });
  const other = await createRoom(amira, { title: "Elsewhere", participants: ["omar6"] });
  await openRoom(amira, "Open here");
  assert.equal(await amira.title(), "earshot");
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar6", name: "Omar Said", role: "professional" });
  await omar.locator("#room-list .room-btn", { hasText: "Elsewhere" }).waitFor();

  await omar.evaluate((id) => window.earshot.sendMessage(id, { text: "First news" }), other);
  await amira.waitForFunction(() => document.title === "(1) earshot");
  await omar.evaluate((id) => window.earshot.sendMessage(id, { text: "Second news" }), other);
  await amira.waitForFunction(() => document.title === "(2) earshot");
  // A message in the open room is read at once: no count.
  await openRoom(omar, "Open here");
  await omar.fill("#text", "Here too");
  await omar.press("#text", "Enter");
  await amira.locator("#messages .msg-text", { hasText: "Here too" }).waitFor();
  assert.equal(await amira.title(), "(2) earshot");
  // Reading the other room clears it.
  await openRoom(amira, "Elsewhere");
  await amira.waitForFunction(() => document.title === "earshot");
  assert.deepEqual(amira.errors, []);
});

// Two people in the same room: messages, typing, read receipts, replies,
// edits, presence and unread badges reach the other page; history pages in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../helpers/server.js";
import { launch, newPage, signIn, createRoom, openRoom, sendText, messageRows } from "../helpers/browser.js";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

test("two pages chat: messages, typing indicator, read receipts, replies, edits, presence, unread badges, history paging", { timeout: 120000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  await createRoom(amira, { title: "Visa application 42", type: "application", participants: ["omar"] });

  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Visa application 42");

  // A message goes from Amira's page to Omar's, and is marked sent on hers.
  await sendText(amira, "Hello Omar, I need help with my visa");
  const mineRow = amira.locator("#messages .msg-row.mine", { hasText: "Hello Omar, I need help" });
  await mineRow.waitFor();
  await amira.locator('#messages .msg-row.mine[data-status="sent"]', { hasText: "Hello Omar" }).waitFor();
  await omar.locator("#messages .msg-row:not(.mine)", { hasText: "Hello Omar, I need help with my visa" }).waitFor();
  await omar.locator("#messages .msg-sender", { hasText: "Amira Haddad" }).waitFor();

  // Omar has the room open: Amira sees that he read it.
  await amira.locator("#messages .seen-by", { hasText: "Seen by Omar" }).waitFor();
  await amira.locator("#messages .msg-row.mine .status.seen").first().waitFor();

  // Typing: Omar types, Amira sees the indicator (also in her room list); it goes when he sends.
  await omar.click("#text");
  await omar.keyboard.type("Sure, could you", { delay: 25 });
  await amira.locator("#typing", { hasText: "Omar is typing" }).waitFor();
  await amira.locator("#room-list .typing-preview", { hasText: "Omar is typing" }).waitFor();
  await omar.keyboard.type(" send your passport scan?", { delay: 5 });
  await omar.press("#text", "Enter");
  await amira.locator("#messages .msg-row:not(.mine)", { hasText: "Sure, could you send your passport scan?" }).waitFor();
  await amira.waitForFunction(() => !document.querySelector("#typing").textContent.includes("typing"));

  // Amira had the room open, so Omar sees his message read.
  await omar.locator("#messages .seen-by", { hasText: "Seen by Amira" }).waitFor();

  // Reply: Omar answers Amira's first message with a quote.
  const first = omar.locator("#messages .msg-row", { hasText: "Hello Omar, I need help" });
  await first.hover();
  await first.locator('[data-action="reply"]').click();
  await omar.locator("#compose-context", { hasText: "Replying to Amira Haddad" }).waitFor();
  await sendText(omar, "Of course, I'm here to help");
  const reply = amira.locator("#messages .msg-row", { hasText: "Of course, I'm here to help" });
  await reply.locator(".quote", { hasText: "Hello Omar, I need help" }).waitFor();

  // Edit: Amira corrects her message; Omar sees the new text marked edited.
  const own = amira.locator("#messages .msg-row.mine", { hasText: "Hello Omar, I need help with my visa" });
  await own.hover();
  await own.locator('[data-action="edit"]').click();
  await amira.locator("#compose-context", { hasText: "Editing message" }).waitFor();
  await amira.fill("#text", "Hello Omar, I need help with my work visa");
  await amira.press("#text", "Enter");
  const edited = omar.locator("#messages .msg-row", { hasText: "Hello Omar, I need help with my work visa" });
  await edited.locator(".edited").waitFor();

  // Presence: Omar is online (a green dot on Amira's room), then away, then back.
  const roomDot = amira.locator("#room-list .room-item", { hasText: "Visa application 42" }).locator(".presence-dot");
  await roomDot.and(amira.locator(".online")).waitFor();
  await omar.selectOption("#my-status", "away");
  await roomDot.and(amira.locator(".away")).waitFor();
  await amira.locator("#chat-sub", { hasText: "Omar Said (away)" }).waitFor();
  await omar.selectOption("#my-status", "online");
  await roomDot.and(amira.locator(".online")).waitFor();

  // Unread badge: Amira switches to another conversation; Omar writes in the first one.
  await createRoom(amira, { title: "Appointment booking", type: "support", participants: ["omar"] });
  await sendText(omar, "Your documents look complete");
  const badge = amira.locator("#room-list .room-item", { hasText: "Visa application 42" }).locator(".badge");
  await badge.waitFor();
  assert.equal((await badge.textContent()).trim(), "1");
  await amira.locator("#room-list .room-item", { hasText: "Visa application 42" }).locator(".preview", { hasText: "Omar: Your documents look complete" }).waitFor();
  await openRoom(amira, "Visa application 42");
  await badge.waitFor({ state: "detached" });

  // Each message shows once on each page.
  const texts = (await messageRows(amira)).map((r) => r.text);
  assert.deepEqual(texts, [
    "Hello Omar, I need help with my work visa",
    "Sure, could you send your passport scan?",
    "Of course, I'm here to help",
    "Your documents look complete",
  ]);
  assert.deepEqual((await messageRows(omar)).map((r) => r.text), texts);

  // History: a long conversation opens on its newest 50; older ones page in.
  const longRoom = await amira.evaluate(async () => {
    const room = await window.earshot.createRoom({ title: "Long thread", type: "support", participants: ["omar"] });
    await window.earshot.joinRoom(room.id);
    const sent = Array.from({ length: 65 }, (_, i) => window.earshot.sendMessage(room.id, `Note ${i + 1}`));
    while (sent.some((m) => m.status !== "sent")) await new Promise((r) => setTimeout(r, 20));
    return room.id;
  });
  await omar.reload();
  await omar.waitForFunction(() => window.earshot?.state === "connected");
  await openRoom(omar, "Long thread");
  await omar.waitForFunction(() => document.querySelectorAll("#messages .msg-row").length === 50);
  assert.deepEqual((await messageRows(omar)).map((r) => Number(r.seq)), Array.from({ length: 50 }, (_, i) => i + 16));
  await omar.click("#load-older");
  await omar.waitForFunction(() => document.querySelectorAll("#messages .msg-row").length === 65);
  const all = await messageRows(omar);
  assert.deepEqual(all.map((r) => Number(r.seq)), Array.from({ length: 65 }, (_, i) => i + 1));
  assert.equal(all[0].text, "Note 1");
  assert.ok(await omar.locator("#load-older").isHidden(), "nothing older to load");
  assert.ok(longRoom);

  assert.deepEqual(amira.errors, []);
  assert.deepEqual(omar.errors, []);
});

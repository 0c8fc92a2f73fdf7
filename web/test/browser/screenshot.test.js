// (c) Screenshots of the demo app (laptop and phone widths) for a person to
// look at, saved under test-artifacts/ at the repository root. Also checks
// that the layout fits both widths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../helpers/server.js";
import { launch, newPage, signIn, createRoom, openRoom, sendText, assertFits, shot } from "../helpers/browser.js";

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

const fitsWidth = (page) => assertFits(page);

/** Send through the page's SDK and wait until stored. */
function say(page, roomId, text, replyTo) {
  return page.evaluate(
    async ({ roomId, text, replyTo }) => {
      const m = window.earshot.sendMessage(roomId, { text, replyTo });
      while (m.status === "sending") await new Promise((r) => setTimeout(r, 10));
      return m.id;
    },
    { roomId, text, replyTo },
  );
}

test("screenshots of the demo app at laptop and phone widths", { timeout: 120000 }, async () => {
  const amira = await newPage(browser, { viewport: { width: 1280, height: 800 } });
  await amira.goto(server.url);
  await amira.locator("#signin-form").waitFor();
  await shot(amira, "demo-signin.png");
  await fitsWidth(amira);

  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });

  const docs = await createRoom(amira, { title: "Document checklist", type: "support", participants: ["omar"] });
  const visit = await createRoom(amira, { title: "Consulate appointment", type: "consultation", participants: ["lina"] });
  const visa = await createRoom(amira, { title: "Visa application 123", type: "application", participants: ["omar"] });
  await omar.evaluate(() => window.earshot.listRooms());
  await omar.reload();
  await omar.waitForFunction(() => window.earshot?.state === "connected");
  await openRoom(omar, "Visa application 123");
  await omar.waitForFunction((id) => window.earshot.joinedRooms.includes(id), docs);

  await say(amira, visit, "Hi Lina, can we move my appointment to Friday?");
  await say(omar, docs, "I've added the bank statement template to your checklist.");
  await say(omar, docs, "Please upload it when you can.");
  const q = await say(amira, visa, "Hello, I need help with my visa application. Which documents do I need?");
  await say(omar, visa, "Hi Amira! Happy to help. For a work visa you need your passport, two photos and your employment contract.");
  await say(omar, visa, "Do you already have the contract signed?");
  await say(amira, visa, "Yes, signed last week. I'll scan it tonight.", q);
  const fixed = await say(amira, visa, "Is a PDF fine for the passport scan?");
  await amira.evaluate(({ visa, fixed }) => window.earshot.editMessage(visa, fixed, "Is a PDF fine for the passport scan, or do you need a JPG?"), { visa, fixed });
  await openRoom(amira, "Visa application 123");
  await amira.locator("#messages .seen-by").waitFor();
  await omar.click("#text");
  await omar.keyboard.type("PDF is perfect", { delay: 20 });
  await amira.locator("#typing", { hasText: "Omar is typing" }).waitFor();
  await amira.mouse.move(5, 790);
  await shot(amira, "demo-desktop.png");
  await fitsWidth(amira);

  // Phone width: the conversation list, then a conversation.
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await signIn(phone, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  await phone.locator("#room-list .room-item").nth(2).waitFor();
  await shot(phone, "demo-phone-list.png");
  await fitsWidth(phone);
  await openRoom(phone, "Visa application 123");
  await phone.locator("#messages .msg-row").nth(4).waitFor();
  await sendText(omar, "PDF is perfect, thanks!");
  await phone.locator("#messages .msg-row", { hasText: "PDF is perfect, thanks!" }).waitFor();
  await phone.mouse.move(5, 5);
  await shot(phone, "demo-phone-chat.png");
  await fitsWidth(phone);
  assert.ok(await phone.locator("#back").isVisible(), "the phone layout has a back button");
  assert.ok(!(await phone.locator(".sidebar").isVisible()), "the phone layout shows one pane at a time");

  // The reconnecting banner, as people see it.
  await amira.context().setOffline(true);
  await amira.evaluate(() => window.earshot.socket.probe());
  await amira.locator('#banner[data-state="reconnecting"]').waitFor({ timeout: 20000 });
  await shot(amira, "demo-reconnecting.png");
  await amira.context().setOffline(false);
  assert.deepEqual(omar.errors, []);
  assert.deepEqual(phone.errors, []);
});

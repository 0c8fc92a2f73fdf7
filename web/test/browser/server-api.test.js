// What a product's backend pushes through the server API, as the demo app
// shows it, against the real server: notifications as toasts (live, and the
// ones stored while the user was away, on sign-in), custom events, system
// messages in the timeline, the assistant's answer (`ai_response`) as a
// timeline message in sequence, and the notification centre (unread count,
// list, mark read, kept in step across a user's devices).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { startServer, REPO_ROOT } from "../helpers/server.js";
import { launch, newPage, signIn, createRoom, sendText, messageRows, assertFits } from "../helpers/browser.js";

const API_KEY = "web-test-api-key-0123456789";
let server;
let browser;

before(async () => {
  server = await startServer({ env: { EARSHOT_API_KEYS: JSON.stringify([API_KEY]), EARSHOT_ASSISTANT_DELAY: "1s" } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** A call to the server API, as a product backend makes it. */
async function api(method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "x-api-key": API_KEY, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

test("server API: notifications as toasts (live and on sign-in), custom events, system messages", { timeout: 120000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  const roomId = await createRoom(amira, { title: "Visa application 77", participants: ["omar"] });

  // Live: a notification to Amira pops up as a toast with its link.
  const sent = await api("POST", "/api/server/notify/user/amira", {
    kind: "success",
    title: "Documents received",
    body: "We received your passport scan.",
    link: "https://example.org/app/77",
    room_id: roomId,
  });
  assert.equal(sent.delivered_users, 1);
  const toast = amira.locator('.toast[data-kind="success"]', { hasText: "Documents received" });
  await toast.waitFor();
  assert.match(await toast.textContent(), /We received your passport scan\./);
  assert.equal((await toast.textContent()).trim(), "Documents receivedWe received your passport scan.Open", "nothing else in the toast");
  assert.equal(await toast.locator("a.toast-link").getAttribute("href"), "https://example.org/app/77");
  // It is stored: the SDK lists it over REST and marks it read.
  const unread = await amira.evaluate(() => window.earshot.listNotifications({ unread: true }));
  assert.deepEqual(unread.map((n) => n.title), ["Documents received"]);
  await amira.evaluate((id) => window.earshot.markNotificationRead(id), unread[0].id);
  assert.deepEqual(await amira.evaluate(() => window.earshot.listNotifications({ unread: true })), []);

  // Stored while away: Omar was never connected; he sees it once he signs in.
  await api("POST", `/api/server/notify/room/${roomId}`, { kind: "warning", title: "Appointment moved", body: "Your appointment is now on Friday at 10:00." });
  await amira.locator('.toast[data-kind="warning"]', { hasText: "Appointment moved" }).waitFor();
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await omar.locator('.toast[data-kind="warning"]', { hasText: "Appointment moved" }).waitFor();

  // Custom events reach the SDK's `event` and `event:<name>` listeners.
  await amira.evaluate(() => {
    window.events = [];
    window.earshot.on("event", (e) => window.events.push(["event", e]));
    window.earshot.on("event:customer_updated", (payload, e) => window.events.push(["named", payload, e.room_id]));
  });
  await api("POST", `/api/server/events/room/${roomId}`, { name: "customer_updated", payload: { customer: "c-7" } });
  await amira.waitForFunction(() => window.events.length === 2);
  assert.deepEqual(await amira.evaluate(() => window.events), [
    ["event", { name: "customer_updated", payload: { customer: "c-7" }, room_id: roomId }],
    ["named", { customer: "c-7" }, roomId],
  ]);

  // A system message from the backend lands in the timeline.
  await api("POST", `/api/server/rooms/${roomId}/messages`, { text: "Your application was received.", client_msg_id: "crm-1" });
  await amira.locator("#messages .msg-row", { hasText: "Your application was received." }).waitFor();

  assert.deepEqual(amira.errors, []);
  assert.deepEqual(omar.errors, []);
});

test("the assistant answers a common question in the timeline, in sequence", { timeout: 120000 }, async () => {
  const lina = await newPage(browser);
  await signIn(lina, server.url, { user: "lina", name: "Lina Park", role: "applicant" });
  const roomId = await createRoom(lina, { title: "Visa question", participants: [] });
  // Lina created the room, but only staff or the product's backend switch
  // the assistant on (its answers may cost LLM calls): she has no switch.
  assert.equal(await lina.locator("#assistant-toggle").isHidden(), true);
  await api("PUT", `/api/rooms/${roomId}/assistant`, { enabled: true });
  assert.deepEqual(await lina.evaluate((id) => window.earshot.getAssistant(id), roomId), { room_id: roomId, enabled: true });
  await lina.evaluate(() => {
    window.ai = [];
    window.earshot.on("ai_response", (m) => window.ai.push(m.text));
  });

  await sendText(lina, "How long does visa processing take?");
  const answer = lina.locator("#messages .msg-row.ai");
  await answer.waitFor({ timeout: 30000 });
  assert.match(await answer.textContent(), /Assistant/);
  assert.match(await answer.locator(".msg-text").textContent(), /working days|processing/i);
  const rows = await messageRows(lina);
  assert.deepEqual(rows.map((r) => r.seq), ["1", "2"], "the answer takes the next seq");
  assert.equal((await lina.evaluate(() => window.ai)).length, 1);

  // After a reload (history) it is still there, once, as an assistant message.
  await lina.reload();
  await lina.waitForFunction(() => window.earshot?.state === "connected");
  await lina.locator("#chat-title", { hasText: "Visa question" }).waitFor();
  await lina.locator("#messages .msg-row.ai").waitFor();
  assert.equal(await lina.locator("#messages .msg-row").count(), 2);
  assert.deepEqual(lina.errors, []);
});

/** The bell's unread count as shown: a number, or 0 when the badge is hidden. */
async function bellCount(page) {
  return page.evaluate(() => {
    const c = document.querySelector("#notif-count");
    return c.hidden ? 0 : Number(c.textContent);
  });
}

async function waitForBell(page, n) {
  await page.waitForFunction(
    (n) => {
      const c = document.querySelector("#notif-count");
      return (c.hidden ? 0 : Number(c.textContent)) === n;
    },
    n,
    { timeout: 15000 },
  );
}

test("notification centre: unread count, list, mark read on one device clears it on the other, mark all read", { timeout: 120000 }, async () => {
  // Stored while Sara was never online.
  await api("POST", "/api/server/notify/user/sara", { kind: "info", title: "Welcome", body: "Your adviser will write to you here." });

  const laptop = await newPage(browser);
  await signIn(laptop, server.url, { user: "sara", name: "Sara Ali", role: "applicant" });
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await signIn(phone, server.url, { user: "sara", name: "Sara Ali", role: "applicant" });
  // The phone connected after the stored one was delivered: it has it from the list.
  for (const page of [laptop, phone]) await waitForBell(page, 1);

  await api("POST", "/api/server/notify/user/sara", {
    kind: "success",
    title: "Passport scan accepted",
    body: "Nothing else is needed from you.",
    link: "https://example.org/app/9",
  });
  for (const page of [laptop, phone]) await waitForBell(page, 2);
  assert.equal(await laptop.getAttribute("#notif-btn", "aria-label"), "Notifications, 2 unread");

  // The list, newest first, both unread, the link as a link.
  await laptop.click("#notif-btn");
  await laptop.locator("#notif-panel").waitFor();
  const items = laptop.locator("#notif-list .notif");
  assert.equal(await items.count(), 2);
  assert.deepEqual(await items.locator(".notif-title").allTextContents(), ["Passport scan accepted", "Welcome"]);
  assert.deepEqual(await items.evaluateAll((els) => els.map((e) => [e.dataset.kind, e.dataset.read])), [["success", "false"], ["info", "false"]]);
  assert.equal(await items.first().locator("a.notif-link").getAttribute("href"), "https://example.org/app/9");

  // Opening one on the laptop marks it read there and, through the server, on the phone.
  await items.nth(1).click();
  await laptop.locator('#notif-list .notif[data-read="true"]', { hasText: "Welcome" }).waitFor();
  await waitForBell(laptop, 1);
  await waitForBell(phone, 1);
  const unread = await phone.evaluate(() => window.earshot.listNotifications({ unread: true }));
  assert.deepEqual(unread.map((n) => n.title), ["Passport scan accepted"]);

  // Mark all read on the phone; the laptop's open list follows.
  await phone.click("#notif-btn");
  await phone.locator("#notif-panel").waitFor();
  await assertFits(phone, "the notification panel at phone width");
  await mkdir(join(REPO_ROOT, "test-artifacts"), { recursive: true });
  await phone.screenshot({ path: join(REPO_ROOT, "test-artifacts", "notifications-phone.png") });
  await phone.click("#notif-read-all");
  await waitForBell(phone, 0);
  await waitForBell(laptop, 0);
  await laptop.waitForFunction(() => [...document.querySelectorAll("#notif-list .notif")].every((e) => e.dataset.read === "true"));
  assert.equal(await phone.locator("#notif-read-all").isDisabled(), true);
  // Escape closes the panel.
  await phone.keyboard.press("Escape");
  await phone.locator("#notif-panel").waitFor({ state: "hidden" });

  // A reload shows the server's state: nothing unread.
  await laptop.reload();
  await laptop.waitForFunction(() => window.earshot?.state === "connected");
  await laptop.waitForFunction(() => document.querySelectorAll("#notif-list .notif").length === 2);
  assert.equal(await bellCount(laptop), 0);
  assert.deepEqual(laptop.errors, []);
  assert.deepEqual(phone.errors, []);
});

// An automated accessibility check (axe-core) over the demo app and the call
// monitor against the real server: the sign-in page, the chat with messages
// (own and others', a reply, a link, a read receipt), the new-conversation
// dialog, the incoming call card, the call dock with a moderator's buttons,
// the "no access" state, a phone-sized chat, and the monitor's sign-in, live
// view (a call in progress), history and call report. Every page must come
// out with no violation at all; failures name the rule, the element and the
// fix axe suggests.
import { test } from "node:test";
import { newPage, signIn, createRoom, openRoom, sendText, serverAndBrowser } from "../helpers/browser.js";
import { assertAccessible } from "../helpers/axe.js";

const PHONE = { viewport: { width: 390, height: 844 } };
const ctx = serverAndBrowser({ env: { EARSHOT_QUALITY_INTERVAL: "1s" } });

test("the demo app: sign-in, chat, new conversation, incoming call, call dock and no access have no axe violations", { timeout: 120000 }, async () => {
  const amira = await newPage(ctx.browser);
  await amira.goto(ctx.server.url);
  await amira.locator("#signin-form").waitFor();
  await assertAccessible(amira, "the sign-in page");

  await signIn(amira, ctx.server.url, { user: "amira", name: "Amira Haddad" });
  await assertAccessible(amira, "the app with no conversation yet");
  const roomId = await createRoom(amira, { title: "Visa application 12", participants: ["omar", "lina"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Visa application 12");
  await sendText(amira, "Hello, I have a question about my visa");
  await omar.locator("#messages .msg-row", { hasText: "I have a question" }).waitFor();
  const first = omar.locator("#messages .msg-row", { hasText: "I have a question" });
  await first.hover();
  await first.locator('[data-action="reply"]').click();
  await sendText(omar, "Of course. The form is at https://example.com/visa-form");
  await amira.locator("#messages .msg-row .quote").waitFor();
  await amira.locator("#messages .seen-by").waitFor();
  await sendText(amira, "Thank you!");
  await omar.locator("#messages .seen-by").waitFor();
  await assertAccessible(amira, "the chat with messages (applicant)");
  await assertAccessible(omar, "the chat with messages (professional)");
  // A message focused from the keyboard shows its actions.
  await amira.focus("#attach");
  await amira.keyboard.press("Shift+Tab");
  await amira.keyboard.press("ArrowUp");
  await assertAccessible(amira, "the chat with a focused message");

  // The new-conversation dialog, with people found by name.
  await amira.click("#new-room");
  await amira.locator("#room-find-results .find-person").first().waitFor();
  await assertAccessible(amira, "the new-conversation dialog");
  await amira.click("#room-cancel");

  // An incoming call; then the call dock, with a moderator's Mute buttons.
  const lina = await newPage(ctx.browser);
  await signIn(lina, ctx.server.url, { user: "lina", name: "Lina Park", role: "admin" });
  await amira.click("#call-start");
  await omar.locator(".incoming-call").waitFor();
  await assertAccessible(omar, "the incoming call card");
  await omar.click('.incoming-call [data-action="accept"]');
  await lina.click('.incoming-call [data-action="decline"]');
  await omar.locator("#call-state", { hasText: "Connected" }).waitFor();
  await omar.locator("#call-people .person-mod-mute").waitFor();
  await assertAccessible(omar, "the call dock (moderator)");
  await assertAccessible(amira, "the call dock (applicant)");
  // Muted: the moderator's Unmute, and the muted state icon on her side.
  await omar.click('#call-people .person[data-user-id="amira"] .person-mod-mute');
  await omar.locator('#call-people .person[data-user-id="amira"][data-muted="true"]').waitFor();
  await amira.locator('#call-people .person[data-local="true"][data-muted="true"]').waitFor();
  await assertAccessible(omar, "the call dock with someone muted (moderator)");
  await assertAccessible(amira, "the call dock, muted by the moderator");
  await openRoom(lina, "Visa application 12");
  await lina.locator("#call-strip", { hasText: "in progress" }).waitFor();
  await assertAccessible(lina, "the call strip with Join");
  await amira.click("#call-end");
  await amira.locator("#call-dock").waitFor({ state: "hidden" });

  // The same on a phone.
  const phone = await newPage(ctx.browser, PHONE);
  await signIn(phone, ctx.server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await assertAccessible(phone, "the conversation list on a phone");
  await openRoom(phone, "Visa application 12");
  await assertAccessible(phone, "the chat on a phone");

  // An outsider following the link.
  const zoe = await newPage(ctx.browser);
  await signIn(zoe, ctx.server.url, { user: "zoe", name: "Zoe Outsider" });
  await zoe.goto("about:blank");
  await zoe.goto(`${ctx.server.url}/#${encodeURIComponent(roomId)}`);
  await zoe.locator("#chat-denied").waitFor();
  await assertAccessible(zoe, "the no-access state");
});

test("the call monitor: sign-in, live calls, history and a call's report have no axe violations", { timeout: 120000 }, async () => {
  const mon = await newPage(ctx.browser);
  await mon.goto(`${ctx.server.url}/monitor.html`);
  await mon.locator("#signin-form").waitFor();
  await assertAccessible(mon, "the monitor's sign-in page");
  await mon.fill("#signin-user", "lina");
  await mon.fill("#signin-name", "Lina Park");
  await mon.selectOption("#signin-role", "admin");
  await mon.click("#signin-submit");
  await mon.locator('#live[data-state="live"]').waitFor();

  // A call in progress, with two people measured.
  const amira = await newPage(ctx.browser);
  await signIn(amira, ctx.server.url, { user: "amira7", name: "Amira Haddad" });
  await createRoom(amira, { title: "Residence permit 5", participants: ["omar7"] });
  const omar = await newPage(ctx.browser);
  await signIn(omar, ctx.server.url, { user: "omar7", name: "Omar Said", role: "professional" });
  await amira.click("#call-start");
  await omar.click('.incoming-call [data-action="accept"]');
  const card = mon.locator("#live-calls .call-card", { hasText: "Residence permit 5" });
  await card.waitFor();
  await card.locator(".prow:not(.phead)").nth(1).waitFor();
  await mon.waitForFunction(() => [...document.querySelectorAll("#live-calls .level")].some((l) => !l.classList.contains("level-none")), null, { timeout: 20000 });
  await assertAccessible(mon, "the monitor with a live call");
  await card.locator(".report-link").click();
  await mon.locator('#report[data-state="active"]').waitFor();
  await assertAccessible(mon, "a live call's report");
  await mon.click("#report .back-link");

  // Ended: the history lists it; its report.
  await amira.click("#call-end");
  await mon.locator("#live-empty").waitFor({ timeout: 15000 });
  await assertAccessible(mon, "the monitor with no live call");
  const row = mon.locator("#history-rows tr", { hasText: "Residence permit 5" });
  await mon.waitForFunction(() => [...document.querySelectorAll("#history-rows tr")].some((tr) => tr.textContent.includes("Residence permit 5") && !tr.classList.contains("ongoing")), null, { timeout: 15000 });
  await assertAccessible(mon, "the monitor's history");
  await row.click();
  await mon.locator('#report[data-state="ended"]').waitFor();
  await mon.locator('#report .chart[data-metric="mos"] path.series').first().waitFor({ state: "attached" });
  await assertAccessible(mon, "an ended call's report");

  // A phone-sized monitor.
  const phone = await newPage(ctx.browser, PHONE);
  await phone.goto(`${ctx.server.url}/monitor.html`);
  await phone.locator("#signin-form").waitFor();
  await phone.fill("#signin-user", "lina");
  await phone.fill("#signin-name", "Lina Park");
  await phone.click("#signin-submit");
  await phone.locator('#live[data-state="live"]').waitFor();
  await assertAccessible(phone, "the monitor on a phone");

  // Someone without monitoring: the access message.
  const applicant = await newPage(ctx.browser);
  await applicant.goto(`${ctx.server.url}/monitor.html`);
  await applicant.locator("#signin-form").waitFor();
  await applicant.fill("#signin-user", "amira8");
  await applicant.fill("#signin-name", "Amira Haddad");
  await applicant.selectOption("#signin-role", "applicant");
  await applicant.click("#signin-submit");
  await applicant.locator("#denied").waitFor();
  await assertAccessible(applicant, "the monitor's no-access message");
});

// (b) The server is killed and restarted on the same port and data dir in the
// middle of a conversation: both pages show that they are reconnecting, come
// back by themselves, and show what was sent meanwhile (from the other page's
// offline queue and from a third WebSocket client) exactly once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../helpers/server.js";
import { launch, newPage, signIn, createRoom, openRoom, sendText, messageRows } from "../helpers/browser.js";

let browser;
let dataDir;
const servers = [];

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "earshot-web-restart-"));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A third client: the SDK in a bare page of the server's origin, as user `lina`. */
async function thirdClientSends(page, baseUrl, roomId, texts) {
  await page.goto(`${baseUrl}/healthz`);
  return page.evaluate(
    async ({ roomId, texts }) => {
      const { EarshotClient, devToken } = await import("/earshot.js");
      const client = new EarshotClient();
      await client.connect(async () => (await devToken({ user: "lina", name: "Lina Park", role: "admin" })).token);
      await client.joinRoom(roomId);
      const sent = texts.map((t) => client.sendMessage(roomId, t));
      const deadline = Date.now() + 15000;
      while (sent.some((m) => m.status !== "sent") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      client.disconnect();
      return sent.map((m) => ({ status: m.status, seq: m.seq }));
    },
    { roomId, texts },
  );
}

test("server restart mid-conversation: reconnecting banner, automatic reconnect, no gaps, no duplicates", { timeout: 180000 }, async () => {
  let server = await startServer({ dataDir });
  servers.push(server);
  const port = server.port;

  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad" });
  const roomId = await createRoom(amira, { title: "Visa application 7", participants: ["omar"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Visa application 7");

  await sendText(amira, "Before the restart (Amira)");
  await omar.locator("#messages .msg-row", { hasText: "Before the restart (Amira)" }).waitFor();
  await sendText(omar, "Before the restart (Omar)");
  await amira.locator("#messages .msg-row", { hasText: "Before the restart (Omar)" }).waitFor();

  for (const page of [amira, omar]) {
    await page.evaluate(() => {
      window.sources = [];
      window.earshot.on("message", (m, meta) => window.sources.push([m.text, meta.source]));
    });
  }

  // Crash the server.
  await server.stop("SIGKILL");
  for (const page of [amira, omar]) {
    await page.locator('#banner[data-state="reconnecting"]', { hasText: "Reconnecting" }).waitFor({ timeout: 15000 });
  }
  assert.equal(await amira.evaluate(() => window.earshot.state), "reconnecting");

  // Omar's device also loses its network for a while: it will only come
  // back after the others have written, so it must catch up from the rejoin.
  await omar.context().setOffline(true);

  // Amira writes while the server is down: queued, shown as sending.
  await sendText(amira, "Written while the server was down");
  await amira.locator('#messages .msg-row.mine[data-status="sending"]', { hasText: "Written while the server was down" }).waitFor();

  // Same port, same data: the "same" server comes back.
  server = await startServer({ dataDir, port });
  servers.push(server);

  // A third client writes as soon as the server is back.
  const lina = await newPage(browser);
  const acks = await thirdClientSends(lina, server.url, roomId, ["Lina 1", "Lina 2", "Lina 3"]);
  assert.deepEqual(acks.map((a) => a.status), ["sent", "sent", "sent"]);

  await amira.locator("#messages .msg-row", { hasText: "Lina 3" }).waitFor({ timeout: 60000 });
  assert.equal(await omar.evaluate(() => window.earshot.state), "reconnecting");
  await omar.context().setOffline(false);

  // Both pages come back by themselves.
  for (const page of [amira, omar]) {
    await page.waitForFunction(() => window.earshot.state === "connected", null, { timeout: 60000 });
    await page.locator("#banner").waitFor({ state: "hidden", timeout: 15000 });
  }
  await amira.locator('#messages .msg-row.mine[data-status="sent"]', { hasText: "Written while the server was down" }).waitFor();

  // Live messages flow again after the re-join.
  await sendText(omar, "After the restart (Omar)");
  await amira.locator("#messages .msg-row", { hasText: "After the restart (Omar)" }).waitFor();
  await omar.locator("#messages .msg-row", { hasText: "After the restart (Omar)" }).waitFor();

  const expected = [
    "Before the restart (Amira)",
    "Before the restart (Omar)",
    "Written while the server was down",
    "Lina 1",
    "Lina 2",
    "Lina 3",
    "After the restart (Omar)",
  ];
  // Lina's messages and Amira's queued one may be stored in either order;
  // each page shows every message once, in the server's seq order.
  for (const page of [amira, omar]) {
    await page.waitForFunction((n) => document.querySelectorAll("#messages .msg-row").length >= n, expected.length);
    const rows = await messageRows(page);
    const texts = rows.map((r) => r.text);
    assert.deepEqual([...texts].sort(), [...expected].sort(), `each message exactly once: ${JSON.stringify(texts)}`);
    const seqs = rows.map((r) => Number(r.seq));
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7], "no gaps, in order");
  }
  // Omar was away while they were written: they came with the re-join
  // (`since_seq`), not as live events.
  const omarSources = Object.fromEntries(await omar.evaluate(() => window.sources));
  for (const text of ["Written while the server was down", "Lina 1", "Lina 2", "Lina 3"]) {
    assert.equal(omarSources[text], "missed", `${text} was recovered by the re-join`);
  }
  // A graceful restart: SIGTERM makes the server close every socket with
  // 1012 ("restarting: reconnect"); the pages come back the same way.
  // The listener is in place (awaited) before the server is told to stop:
  // otherwise the close could arrive before the page starts listening.
  await amira.evaluate(() => {
    window.sigtermClose = new Promise((resolve, reject) => {
      window.earshot.once("disconnected", (info) => resolve(info.code));
      setTimeout(() => reject(new Error(`no disconnected event; state ${window.earshot.state}`)), 20000);
    });
  });
  await server.stop("SIGTERM");
  assert.equal(await amira.evaluate(() => window.sigtermClose), 1012);
  await amira.locator('#banner[data-state="reconnecting"]').waitFor({ timeout: 15000 });
  server = await startServer({ dataDir, port });
  servers.push(server);
  for (const page of [amira, omar]) await page.waitForFunction(() => window.earshot.state === "connected", null, { timeout: 60000 });
  await sendText(omar, "After the graceful restart");
  // This message is the last one: once it shows, nothing else came late (no duplicates).
  for (const page of [amira, omar]) {
    await page.locator('#messages .msg-row[data-seq="8"]', { hasText: "After the graceful restart" }).waitFor();
    assert.equal((await messageRows(page)).length, expected.length + 1);
  }
  // Failed connection attempts are logged by the browser; nothing else may be.
  const unexpected = (errors) => errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|ERR_INTERNET_DISCONNECTED/.test(e));
  assert.deepEqual(unexpected(amira.errors), []);
  assert.deepEqual(unexpected(omar.errors), []);
});

test("after a 10 s outage the page is back within seconds of the server's return; presence is grey meanwhile and the banner leaves the title visible", { timeout: 180000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "earshot-web-outage-"));
  let server = await startServer({ dataDir: dir });
  servers.push(server);
  const port = server.port;
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira2", name: "Amira Haddad" });
  await createRoom(amira, { title: "Outage room", participants: ["omar2"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar2", name: "Omar Said", role: "professional" });
  // The header's presence dot for Omar, read fresh each time (the header re-renders).
  const dotIs = (color, timeout = 15000) =>
    amira.waitForFunction(
      (want) => {
        const el = document.querySelector("#chat-avatar .presence-dot");
        return !!el && el.isConnected && getComputedStyle(el).backgroundColor === want;
      },
      color,
      { timeout },
    );
  await dotIs("rgb(22, 163, 74)"); // Omar shows online

  await server.stop("SIGKILL");
  await amira.locator('#banner[data-state="reconnecting"]').waitFor({ timeout: 15000 });
  await dotIs("rgb(163, 169, 184)", 5000); // unknown while offline: grey
  const [banner, title] = [await amira.locator("#banner").boundingBox(), await amira.locator("#chat-title").boundingBox()];
  const overlap = banner.x < title.x + title.width && title.x < banner.x + banner.width && banner.y < title.y + title.height && title.y < banner.y + banner.height;
  assert.ok(!overlap, `the banner ${JSON.stringify(banner)} leaves the title ${JSON.stringify(title)} visible`);
  await amira.waitForTimeout(10000);

  server = await startServer({ dataDir: dir, port });
  servers.push(server);
  const back = Date.now();
  await amira.waitForFunction(() => window.earshot.state === "connected", null, { timeout: 30000 });
  const took = Date.now() - back;
  assert.ok(took < 3000, `reconnected ${took} ms after the server's return`);
  await dotIs("rgb(22, 163, 74)");
  for (const page of [amira, omar]) assert.deepEqual(page.errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
});

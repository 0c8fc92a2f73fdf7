// Tokens the server stops accepting (a rotated secret, a revoked or expired
// token), against the real server: with a token provider, a REST call that
// gets 401 asks the provider for a fresh token once and succeeds; with a
// fixed token, connecting gives up at the first refusal (`reconnect_failed`
// with UNAUTHENTICATED, and no retry loop).
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage, serverAndBrowser } from "../helpers/browser.js";

const ctx = serverAndBrowser();

test("a refused token: REST retries once with the provider's fresh token; a fixed token gives up with reconnect_failed", { timeout: 60000 }, async () => {
  const page = await newPage(ctx.browser);
  await page.goto(`${ctx.server.url}/healthz`);
  const result = await page.evaluate(async () => {
    const { EarshotClient, devToken } = await import("/earshot.js");
    const mint = async () => (await devToken({ user: "amira", name: "Amira Haddad", role: "applicant" })).token;
    let provided = 0;
    const client = new EarshotClient();
    await client.connect(async () => {
      provided += 1;
      return mint();
    });
    const room = await client.createRoom({ title: "Token test" });
    // The same token with its signature spoilt: the server refuses it (401).
    const good = client._token;
    const stale = good.slice(0, -6) + (good.endsWith("AAAAAA") ? "BBBBBB" : "AAAAAA");
    const refused = await fetch(`/api/rooms/${encodeURIComponent(room.id)}`, { headers: { authorization: `Bearer ${stale}` } });
    client._token = stale;
    const before = provided;
    const fetched = await client.getRoom(room.id);
    const rest = { status: refused.status, title: fetched.room.title, askedAgain: provided - before, replaced: client._token !== stale };
    client.disconnect();

    // A client with only that stale token.
    const fixed = new EarshotClient({ backoff: { initialMs: 50, maxMs: 200 } });
    const failed = new Promise((resolve) => fixed.on("reconnect_failed", (e) => resolve(e.code)));
    const connect = await fixed.connect(stale).then(
      () => "connected",
      (e) => e.code,
    );
    const failedCode = await failed;
    // It stays down: no attempts after giving up.
    let reconnecting = 0;
    fixed.on("reconnecting", () => (reconnecting += 1));
    await new Promise((r) => setTimeout(r, 1500));
    return { rest, connect, failedCode, reconnecting, state: fixed.state };
  });
  assert.deepEqual(result.rest, { status: 401, title: "Token test", askedAgain: 1, replaced: true });
  assert.equal(result.connect, "UNAUTHENTICATED");
  assert.equal(result.failedCode, "UNAUTHENTICATED");
  assert.equal(result.reconnecting, 0, "no retry loop with a token that will not get better");
  assert.equal(result.state, "disconnected");
  // The console shows the two refused requests (ours and the SDK's first
  // try), and nothing else.
  const refusals = page.errors.filter((e) => /status of 401/.test(e));
  assert.equal(refusals.length, 2, page.errors.join("\n"));
  assert.deepEqual(page.errors.filter((e) => !refusals.includes(e)), []);
});

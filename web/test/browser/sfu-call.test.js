// An sfu call through the demo app, against the real server: two people,
// then three; every page's getStats shows audio arriving from every other
// participant; mute stops that participant's audio, and so does a
// professional's mute from the dock; one leaves and the
// others carry on; a dropped socket re-joins the call by itself; screenshots
// of the app during the call are saved under test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { startServer, REPO_ROOT } from "../helpers/server.js";
import { launch, newPage, signIn, createRoom, openRoom, participantId, waitForAudioFrom, assertFits } from "../helpers/browser.js";

const OUT = join(REPO_ROOT, "test-artifacts");
let server;
let browser;

before(async () => {
  await mkdir(OUT, { recursive: true });
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** The people in the page's call dock: [{pid, user, muted, quality, speaking}]. */
function dockPeople(page) {
  return page.$$eval("#call-people .person", (els) =>
    els.map((e) => ({ pid: e.dataset.participantId, user: e.dataset.userId, muted: e.dataset.muted === "true", quality: e.dataset.quality, local: e.dataset.local === "true" })),
  );
}

async function waitForDock(page, n) {
  await page.locator('#call-dock[data-state="connected"]').waitFor({ timeout: 30000 });
  await page.waitForFunction((n) => document.querySelectorAll("#call-people .person").length === n, n, { timeout: 30000 });
}

test("sfu call: two then three people hear each other; mute; one leaves; a dropped socket re-joins", { timeout: 240000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  const roomId = await createRoom(amira, { title: "Visa application 9", type: "application", participants: ["omar", "lina"] });
  // Omar is signed in but looking at nothing in particular.
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await omar.locator("#room-list .room-btn", { hasText: "Visa application 9" }).waitFor();
  // Lina is on a phone.
  const lina = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await signIn(lina, server.url, { user: "lina", name: "Lina Park", role: "admin" });
  await openRoom(lina, "Visa application 9");

  // Amira starts a group call; Omar gets the ring and joins from it (which opens the room).
  await amira.click("#call-start");
  await waitForDock(amira, 1);
  const ring = omar.locator(".incoming-call", { hasText: "Amira Haddad" });
  await ring.waitFor();
  await ring.locator('[data-action="accept"]').click();
  await waitForDock(omar, 2);
  await waitForDock(amira, 2);
  const [a, o] = [await participantId(amira), await participantId(omar)];
  assert.ok(a && o && a !== o);
  await waitForAudioFrom(amira, [o]);
  await waitForAudioFrom(omar, [a]);

  // Lina, rung too (a group call rings every member), accepts on her phone.
  await lina.locator('.incoming-call[data-kind="group"] [data-action="accept"]').click();
  await waitForDock(lina, 3);
  const l = await participantId(lina);
  for (const [page, others] of [[amira, [o, l]], [omar, [a, l]], [lina, [a, o]]]) {
    await waitForDock(page, 3);
    await waitForAudioFrom(page, others);
  }
  // Each remote participant has one audio element, and the streams are named p-<id>.
  const elements = await amira.evaluate(() =>
    [...document.querySelectorAll("#call-audio audio")].map((el) => ({ pid: el.dataset.participantId, stream: el.srcObject?.id, live: el.srcObject?.getAudioTracks()[0]?.readyState })),
  );
  assert.deepEqual(
    elements.sort((x, y) => x.pid.localeCompare(y.pid)),
    [o, l].sort().map((pid) => ({ pid, stream: `p-${pid}`, live: "live" })),
  );

  // Output device: an unknown one is refused and changes nothing; the
  // system default ("") applies to every remote participant's element.
  const sinks = await amira.evaluate(async () => {
    const call = window.earshot.currentCall;
    const ids = () => [...document.querySelectorAll("#call-audio audio")].map((el) => el.sinkId);
    const refused = await call.setOutputDevice("no-such-output-device").then(
      () => "accepted",
      (err) => err.name,
    );
    const afterRefusal = ids();
    await call.setOutputDevice("");
    return { refused, afterRefusal, afterDefault: ids() };
  });
  assert.equal(sinks.refused, "NotFoundError");
  assert.deepEqual(sinks.afterRefusal, ["", ""]);
  assert.deepEqual(sinks.afterDefault, ["", ""]);

  // Quality: every participant gets a level from getStats; on loopback (no loss) it is good or better.
  await amira.waitForFunction(() => [...document.querySelectorAll("#call-people .person")].every((e) => e.dataset.quality), null, { timeout: 30000 });
  const people = await dockPeople(amira);
  assert.deepEqual(people.map((p) => p.user).sort(), ["amira", "lina", "omar"]);
  for (const p of people) assert.ok(["excellent", "good"].includes(p.quality), `quality of ${p.user}: ${p.quality}`);
  // The server scores everyone too (connection_quality), from the SFU's meters and our reports.
  for (const page of [amira, omar, lina]) {
    await page.waitForFunction(() => [...document.querySelectorAll("#call-people .person")].every((e) => e.dataset.serverQuality), null, { timeout: 30000 });
  }
  // Lina is an admin: she can watch every call with its live quality.
  const watched = await lina.evaluate(async (callId) => {
    const calls = await window.earshot.subscribeMonitor();
    const rest = await window.earshot.monitorCalls();
    const pick = (list) => list.find((c) => c.id === callId)?.participants.map((p) => p.user.id).sort();
    return { socket: pick(calls), rest: pick(rest) };
  }, await amira.evaluate(() => window.earshot.currentCall.id));
  assert.deepEqual(watched, { socket: ["amira", "lina", "omar"], rest: ["amira", "lina", "omar"] });
  // The fake microphone beeps: somebody shows as speaking at some point, and
  // the SFU names an active speaker (one of the call's participants).
  await amira.locator('#call-people .person[data-speaking="true"]').first().waitFor({ timeout: 30000 });
  const speaker = await amira.evaluate(
    () =>
      new Promise((resolve) => {
        const call = window.earshot.currentCall;
        if (call.activeSpeaker) return resolve(call.activeSpeaker);
        const off = call.on("active_speaker", ({ participant_id }) => {
          if (participant_id) {
            off();
            resolve(participant_id);
          }
        });
      }),
  );
  assert.ok([a, o, l].includes(speaker), `active speaker ${speaker}`);
  await amira.locator("#call-people .person.active").first().waitFor({ timeout: 30000 });

  // The call_stats report carries every other participant's inbound audio,
  // and the server takes it (no error, no "unsupported").
  const report = await amira.evaluate(() => {
    const call = window.earshot.currentCall;
    window.statsTrouble = [];
    call.on("stats_error", (e) => window.statsTrouble.push(String(e?.message ?? e)));
    window.earshot.on("call_stats_unsupported", (e) => window.statsTrouble.push(e.message));
    return new Promise((resolve) => call.once("stats", resolve));
  });
  assert.equal(report.type, "call_stats");
  assert.equal(report.codec, "opus");
  assert.ok(report.rtt_ms >= 0 && report.rtt_ms < 100, `rtt ${report.rtt_ms}`);
  assert.ok(report.outbound.packets_sent > 0 && report.outbound.bytes_sent > 0);
  assert.deepEqual(report.inbound.map((i) => i.participant_id).sort(), [o, l].sort());
  for (const i of report.inbound) assert.ok(i.bytes_received > 0 && i.packets_received > 0);

  // A screenshot of the app during the call, at laptop and phone widths.
  await amira.mouse.move(5, 400);
  for (const [page, name] of [[amira, "demo-call-desktop.png"], [lina, "demo-call-phone.png"]]) {
    const path = join(OUT, name);
    await page.screenshot({ path });
    assert.ok((await stat(path)).size > 10000, `${name} looks empty`);
    await assertFits(page, name);
  }

  // Omar mutes: the others see it and stop getting his audio; then he unmutes.
  await omar.click("#call-mute");
  await amira.locator(`#call-people .person[data-participant-id="${o}"][data-muted="true"]`).waitFor();
  await lina.locator(`#call-people .person[data-participant-id="${o}"][data-muted="true"]`).waitFor();
  await waitForAudioFrom(amira, [l], { silent: [o] });
  await omar.click("#call-mute");
  await amira.locator(`#call-people .person[data-participant-id="${o}"][data-muted="false"]`).waitFor();
  await waitForAudioFrom(amira, [l, o]);

  // Omar is staff: he mutes Amira from his dock. She is told, everyone sees
  // it, the others stop getting her audio, and unmuting herself does not lift
  // it; Omar's second press does. Amira, an applicant, has no such buttons.
  assert.equal(await amira.locator("#call-people .person-mod-mute").count(), 0);
  assert.equal(await omar.locator(`#call-people .person[data-participant-id="${o}"] .person-mod-mute`).count(), 0, "no button on himself");
  await omar.click(`#call-people .person[data-participant-id="${a}"] .person-mod-mute`);
  await amira.locator('.toast[data-kind="warning"]', { hasText: "Omar Said muted you" }).waitFor();
  for (const page of [omar, lina]) {
    await page.locator(`#call-people .person[data-participant-id="${a}"][data-muted="true"]`).waitFor();
  }
  await omar.locator(`#call-people .person[data-participant-id="${a}"] .person-mod-mute[data-action="unmute"]`).waitFor();
  await waitForAudioFrom(lina, [o], { silent: [a] });
  await amira.click("#call-mute"); // mutes herself: her own flag on too
  await amira.click("#call-mute"); // and off again; the moderator's mute holds
  await waitForAudioFrom(lina, [o], { silent: [a] });
  await omar.click(`#call-people .person[data-participant-id="${a}"] .person-mod-mute`);
  await amira.locator('.toast[data-kind="warning"]', { hasText: "Omar Said unmuted you" }).waitFor();
  await lina.locator(`#call-people .person[data-participant-id="${a}"][data-muted="false"]`).waitFor();
  await waitForAudioFrom(lina, [o, a]);

  // Omar leaves; Amira and Lina carry on.
  await omar.click("#call-leave");
  await omar.locator("#call-dock").waitFor({ state: "hidden" });
  await omar.locator("#call-strip", { hasText: "in progress" }).waitFor();
  for (const [page, other] of [[amira, l], [lina, a]]) {
    await waitForDock(page, 2);
    await waitForAudioFrom(page, [other], { silent: [o] });
  }
  assert.equal(await amira.locator(`#call-audio audio[data-participant-id="${o}"]`).count(), 0, "the leaver's audio element is gone");

  // Lina's socket drops: the SDK reconnects and joins the call again (a new participant id).
  const rejoined = lina.evaluate(() => new Promise((resolve) => window.earshot.currentCall.once("rejoined", resolve)));
  await lina.evaluate(() => window.earshot.socket.ws.close());
  const { participant_id: l2 } = await rejoined;
  assert.notEqual(l2, l);
  await waitForDock(lina, 2);
  await waitForAudioFrom(lina, [a]);
  await waitForAudioFrom(amira, [l2], { silent: [o, l] });

  // Amira ends the call for everyone.
  await amira.click("#call-end");
  for (const page of [amira, lina]) await page.locator("#call-dock").waitFor({ state: "hidden" });
  await omar.locator("#call-strip").waitFor({ state: "hidden" });
  const record = await amira.evaluate((id) => window.earshot.getRoomCalls(id), roomId);
  assert.equal(record.active, null);
  assert.equal(record.calls[0].end_reason, "ended");
  assert.equal(record.calls[0].participants.length, 4, "amira, omar, lina, lina again");
  assert.deepEqual(await amira.evaluate(() => window.statsTrouble), [], "every call_stats report was accepted");
  // The call's quality report has samples for the participants.
  const quality = await amira.evaluate(async (id) => {
    const r = await fetch(`/api/calls/${id}/report`, { headers: { authorization: `Bearer ${window.earshot._token}` } });
    return { status: r.status, body: await r.json() };
  }, record.calls[0].id);
  assert.equal(quality.status, 200, JSON.stringify(quality.body));
  assert.ok(quality.body.summary.samples > 0, JSON.stringify(quality.body.summary));
  const sampled = new Set(quality.body.samples.map((x) => x.participant_id));
  for (const pid of [a, o, l]) assert.ok(sampled.has(pid), `samples for ${pid}`);

  for (const page of [amira, omar, lina]) assert.deepEqual(page.errors, []);
});

test("sfu glare: a client offer crossing the server's gets CONFLICT, is rolled back, and the server's offer is answered; ICE restarts on a network change", { timeout: 120000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira2", name: "Amira Two", role: "applicant" });
  await createRoom(amira, { title: "Glare room", participants: ["omar2"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar2", name: "Omar Two", role: "professional" });
  await openRoom(omar, "Glare room");

  await amira.click("#call-start");
  await waitForDock(amira, 1);
  // The moment the server's offer for Omar's track reaches Amira, she offers
  // too (as an ICE restart would): her offer goes out before she handles the server's.
  await amira.evaluate(() => {
    const call = window.earshot.currentCall;
    window.glare = new Promise((resolve) => call.once("glare", resolve));
    window.serverOffers = 0;
    window.earshot.on("frame", (f) => {
      if (f.type === "sfu_offer" && f.request_id === undefined && ++window.serverOffers === 1) call.renegotiate();
    });
  });
  await omar.click('.incoming-call [data-action="accept"]');
  const glare = await amira.evaluate(() => window.glare.then((g) => ({ reason: g.reason, code: g.error?.code, message: g.error?.message })));
  assert.deepEqual(glare, { reason: "renegotiate", code: "CONFLICT", message: "offer collision: answer the server's offer" });
  const [a, o] = [await participantId(amira), await participantId(omar)];
  await waitForAudioFrom(amira, [o]);
  await waitForAudioFrom(omar, [a]);
  assert.equal(await amira.evaluate(() => window.earshot.currentCall.peerConnections[0].pc.signalingState), "stable");
  // Offers are accepted again once the server's is answered.
  const negotiated = amira.evaluate(() => new Promise((resolve) => window.earshot.currentCall.once("negotiated", resolve)));
  await amira.evaluate(() => window.earshot.currentCall.renegotiate());
  assert.equal((await negotiated).by, "client");
  await waitForAudioFrom(omar, [a]);

  // A network change on Omar's side restarts ICE towards the SFU; the audio goes on.
  const ufrag = () => omar.evaluate(() => /a=ice-ufrag:(\S+)/.exec(window.earshot.currentCall.peerConnections[0].pc.localDescription.sdp)[1]);
  const before = await ufrag();
  const restarted = omar.evaluate(() => new Promise((resolve) => window.earshot.currentCall.once("ice_restart", resolve)));
  await omar.evaluate(() => window.dispatchEvent(new Event("online")));
  assert.equal((await restarted).reason, "network change");
  await omar.waitForFunction(
    (old) => {
      const pc = window.earshot.currentCall.peerConnections[0].pc;
      return /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1] !== old && pc.signalingState === "stable" && pc.connectionState === "connected";
    },
    before,
  );
  await waitForAudioFrom(omar, [a]);
  await waitForAudioFrom(amira, [o]);

  await amira.click("#call-leave");
  await omar.click("#call-leave");
  for (const page of [amira, omar]) assert.deepEqual(page.errors, []);
});

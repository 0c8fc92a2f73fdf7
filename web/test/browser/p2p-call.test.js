// A p2p ("direct") call between two pages through the demo app, against the
// real server: it connects over 127.0.0.1 and carries audio both ways; a
// network change restarts ICE (fresh credentials) and the audio goes on;
// switching microphones keeps the call going; the call ends when the
// initiator leaves and nobody is left.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../helpers/server.js";
import { launch, newPage, signIn, createRoom, openRoom, participantId, waitForAudioFrom } from "../helpers/browser.js";

let server;
let browser;

before(async () => {
  // A short empty-call timeout, so the end of the call is seen quickly.
  server = await startServer({ env: { EARSHOT_CALL_EMPTY_TIMEOUT: "2s" } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** ICE usernames (ufrag) of the remote descriptions of the page's p2p connections, and the selected pairs' addresses. */
function iceInfo(page) {
  return page.evaluate(async () => {
    const call = window.earshot.currentCall;
    const out = [];
    for (const { pc, participantId } of call.peerConnections) {
      const ufrag = /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription?.sdp ?? "")?.[1];
      const stats = await pc.getStats();
      let pair;
      stats.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      });
      const local = pair && stats.get(pair.localCandidateId);
      const remote = pair && stats.get(pair.remoteCandidateId);
      out.push({ participantId, ufrag, state: pc.connectionState, local: local?.address, remote: remote?.address });
    }
    return out;
  });
}

test("p2p call: connects on loopback, carries audio both ways, survives an ICE restart and a microphone switch", { timeout: 180000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  const roomId = await createRoom(amira, { title: "Salon booking", participants: ["omar"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Salon booking");

  // Amira picks "Direct call" from the call menu.
  await amira.click("#call-menu-btn");
  await amira.click('#call-menu [data-mode="p2p"]');
  await amira.locator('#call-dock[data-mode="p2p"][data-state="connected"]').waitFor();
  // The room is open on Omar's screen: he is rung all the same.
  await omar.click('.incoming-call[data-kind="one-to-one"] [data-action="accept"]');
  await omar.locator('#call-dock[data-mode="p2p"][data-state="connected"]').waitFor();
  const [a, o] = [await participantId(amira), await participantId(omar)];

  // Audio flows directly, both ways, over 127.0.0.1.
  await waitForAudioFrom(amira, [o]);
  await waitForAudioFrom(omar, [a]);
  const [ia] = await iceInfo(amira);
  assert.deepEqual({ ...ia, ufrag: undefined }, { participantId: o, ufrag: undefined, state: "connected", local: "127.0.0.1", remote: "127.0.0.1" });
  // The server only relayed signals: its SFU carried nothing.
  const sfu = await omar.evaluate(async () => {
    const r = await fetch("/api/status", { headers: { authorization: `Bearer ${window.earshot._token}` } });
    return (await r.json()).sfu;
  });
  assert.equal(sfu.peers, 0, "a p2p call has no SFU peers");

  // Both see each other in the dock, with the server's quality verdicts:
  // in a p2p call the server has only the pages' call_stats reports to go on.
  for (const page of [amira, omar]) {
    await page.waitForFunction(() => document.querySelectorAll("#call-people .person").length === 2);
    await page.waitForFunction(() => [...document.querySelectorAll("#call-people .person")].every((e) => e.dataset.serverQuality), null, { timeout: 30000 });
  }

  // The network changes on Omar's side: the SDK restarts ICE and renegotiates.
  const restarted = omar.evaluate(() => new Promise((resolve) => window.earshot.currentCall.once("ice_restart", resolve)));
  await omar.evaluate(() => window.dispatchEvent(new Event("online")));
  const r = await restarted;
  assert.equal(r.participant_id, a);
  assert.equal(r.reason, "network change");
  await amira.waitForFunction(
    (old) => {
      const pc = window.earshot.currentCall.peerConnections[0].pc;
      const ufrag = /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription?.sdp ?? "")?.[1];
      return ufrag && ufrag !== old && pc.connectionState === "connected" && pc.signalingState === "stable";
    },
    ia.ufrag,
    { timeout: 30000 },
  );
  await waitForAudioFrom(amira, [o]);
  await waitForAudioFrom(omar, [a]);

  // Amira switches microphones: the same connection carries the new one.
  const mics = await amira.$$eval("#call-mic option", (os) => os.map((x) => ({ value: x.value, label: x.textContent })));
  assert.ok(mics.length >= 2, `fake devices offer several microphones: ${JSON.stringify(mics)}`);
  const target = mics.find((m) => m.label.includes("Fake Audio Input 1")) ?? mics[1];
  await amira.selectOption("#call-mic", target.value);
  await amira.waitForFunction((label) => window.earshot.currentCall.localTrack?.label === label, target.label);
  const senderLabel = await amira.evaluate(() => window.earshot.currentCall.peerConnections[0].pc.getSenders()[0].track?.label);
  assert.equal(senderLabel, target.label);
  await waitForAudioFrom(omar, [a]);

  // Omar leaves: Amira waits alone; then she leaves and the call ends by itself.
  await omar.click("#call-leave");
  await amira.waitForFunction(() => document.querySelectorAll("#call-people .person").length === 1);
  assert.equal(await amira.evaluate(() => window.earshot.currentCall.peerConnections.length), 0);
  await amira.click("#call-leave");
  await amira.locator("#call-dock").waitFor({ state: "hidden" });
  await amira.waitForFunction(async (id) => (await window.earshot.getRoomCalls(id)).active === null, roomId, { timeout: 20000, polling: 250 });
  await omar.locator("#call-strip").waitFor({ state: "hidden" });

  assert.deepEqual(amira.errors, []);
  assert.deepEqual(omar.errors, []);
});

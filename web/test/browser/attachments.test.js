// Attachments through the demo app, against the real server: files picked
// in the composer are uploaded and sent with the message; the other page
// shows the image (its thumbnail, fetched with the Authorization header and
// shown through a blob: URL) and downloads the PDF; a file type the server
// does not take is refused with a visible error. Voice messages recorded
// from the (fake) microphone arrive as `voice` messages with a player.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, REPO_ROOT } from "../helpers/server.js";
import { readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { launch, newPage, signIn, createRoom, openRoom } from "../helpers/browser.js";

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

const PDF = Buffer.from(
  "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
);

/** A 600x400 PNG drawn by the page's canvas. */
async function png(page) {
  const b64 = await page.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = 600;
    c.height = 400;
    const g = c.getContext("2d");
    g.fillStyle = "#4f46e5";
    g.fillRect(0, 0, 600, 400);
    g.fillStyle = "#fff";
    g.fillRect(60, 60, 200, 120);
    return c.toDataURL("image/png").split(",")[1];
  });
  return Buffer.from(b64, "base64");
}

test("attachments: upload, send, show through blob: URLs, download; refused types are reported", { timeout: 120000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  await createRoom(amira, { title: "Visa documents", participants: ["omar"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Visa documents");

  // Amira picks a scan and a PDF; both upload before she sends.
  await amira.setInputFiles("#file-input", [
    { name: "passport.png", mimeType: "image/png", buffer: await png(amira) },
    { name: "contract.pdf", mimeType: "application/pdf", buffer: PDF },
  ]);
  await amira.locator('#compose-files .file-chip[data-state="done"]').nth(1).waitFor();
  await amira.fill("#text", "Here are my documents");
  await amira.press("#text", "Enter");
  await amira.locator("#compose-files").waitFor({ state: "hidden" });

  // Omar sees the text, the image and the PDF.
  const row = omar.locator("#messages .msg-row", { hasText: "Here are my documents" });
  await row.waitFor();
  const shown = await (
    await omar.waitForFunction(() => {
      const el = [...document.querySelectorAll("#messages .msg-row")].find((r) => r.textContent.includes("Here are my documents"))?.querySelector("img.att-img");
      return el?.complete && el.naturalWidth > 0 && { src: el.src, w: el.naturalWidth, h: el.naturalHeight, alt: el.alt };
    })
  ).jsonValue();
  assert.match(shown.src, /^blob:/, "shown through a blob: URL");
  assert.equal(shown.alt, "passport.png");
  assert.ok(shown.w <= 320 && shown.h <= 320 && Math.abs(shown.w / shown.h - 1.5) < 0.05, `the thumbnail: ${shown.w}x${shown.h}`);
  const chip = row.locator("a.att-file", { hasText: "contract.pdf" });
  await chip.waitFor();
  // The file itself needs the Authorization header: without it, 401.
  const urls = await omar.evaluate(async () => {
    const page = await window.earshot.getMessages(decodeURIComponent(location.hash.slice(1)), { limit: 5 });
    return page.messages.at(-1).attachments.map((a) => ({ name: a.name, url: a.url, mime: a.mime_type, size: a.size }));
  });
  assert.deepEqual(urls.map((u) => [u.name, u.mime]), [["passport.png", "image/png"], ["contract.pdf", "application/pdf"]]);
  assert.equal((await fetch(`${server.url}${urls[1].url}`)).status, 401);
  // Clicking the PDF downloads exactly what Amira uploaded.
  const [download] = await Promise.all([omar.waitForEvent("download"), chip.click()]);
  assert.equal(download.suggestedFilename(), "contract.pdf");
  assert.deepEqual(await readFile(await download.path()), PDF);

  // An image on its own (no text) is an image message.
  await amira.setInputFiles("#file-input", [{ name: "photo.png", mimeType: "image/png", buffer: await png(amira) }]);
  await amira.locator('#compose-files .file-chip[data-state="done"]').waitFor();
  await amira.press("#text", "Enter");
  await omar.locator("#messages .msg-row img.att-img[alt='photo.png']").waitFor();
  const last = await omar.evaluate(async () => (await window.earshot.getMessages(decodeURIComponent(location.hash.slice(1)), { limit: 1 })).messages[0]);
  assert.equal(last.message_type, "image");
  assert.equal(last.text ?? "", "");

  await mkdir(join(REPO_ROOT, "test-artifacts"), { recursive: true });
  await omar.mouse.move(5, 400);
  await omar.screenshot({ path: join(REPO_ROOT, "test-artifacts", "demo-attachments.png") });

  // A type the server does not take: the upload is refused and Amira is told.
  await amira.setInputFiles("#file-input", [{ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("just text\n") }]);
  await amira.locator('.toast[data-kind="error"]', { hasText: "Could not upload notes.txt" }).waitFor();
  await amira.locator('#compose-files .file-chip[data-state="failed"]', { hasText: "notes.txt" }).waitFor();

  // The browser logs the refused upload (415); nothing else may be logged.
  assert.deepEqual(amira.errors.filter((e) => !/status of 415/.test(e)), []);
  assert.deepEqual(omar.errors, []);
});

test("voice message: recorded from the microphone, sent as a voice message, playable on the other page; a discarded one is not sent", { timeout: 120000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  await createRoom(amira, { title: "Voice notes", participants: ["omar"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Voice notes");

  // Record about two seconds from the (fake) microphone, then stop: it is sent.
  await amira.click("#record");
  await amira.locator('#record[aria-pressed="true"]').waitFor();
  await amira.locator('#record-status[data-state="recording"] .record-time', { hasText: "0:01" }).waitFor({ timeout: 10000 });
  assert.equal(await amira.locator("#text").isVisible(), false, "the recording replaces the text box");
  await amira.waitForTimeout(1000);
  await amira.click("#record");
  await amira.locator('#record[aria-pressed="false"]').waitFor();
  await amira.locator('#messages .msg-row.mine[data-status="sent"] .att-voice').waitFor({ timeout: 15000 });
  await amira.locator("#record-status").waitFor({ state: "hidden" });

  // Omar gets a voice message with a player whose source is the recording.
  const player = omar.locator("#messages .msg-row .att-voice audio");
  await player.waitFor();
  const stored = await omar.evaluate(async () => (await window.earshot.getMessages(decodeURIComponent(location.hash.slice(1)), { limit: 1 })).messages[0]);
  assert.equal(stored.message_type, "voice");
  assert.equal(stored.attachments.length, 1);
  assert.match(stored.attachments[0].mime_type, /^(audio\/(webm|ogg|mp4)|video\/webm)$/);
  assert.match(stored.attachments[0].name, /^voice-message-.*\.(webm|ogg|m4a)$/);
  await omar.waitForFunction(() => {
    const a = document.querySelector("#messages .msg-row .att-voice audio");
    return a?.src.startsWith("blob:") && a.readyState >= 1;
  });
  // The recording decodes as audio of about the recorded length.
  const seconds = await omar.evaluate(async () => {
    const a = document.querySelector("#messages .msg-row .att-voice audio");
    const bytes = await (await fetch(a.src)).arrayBuffer();
    const ctx = new OfflineAudioContext(1, 48000, 48000);
    const decoded = await ctx.decodeAudioData(bytes);
    return decoded.duration;
  });
  assert.ok(seconds > 1.5 && seconds < 6, `decoded ${seconds} s of audio`);
  // The player knows how long it is before anyone plays it (WebM from
  // MediaRecorder carries no duration), and is back at the start.
  await omar.waitForFunction(() => {
    const a = document.querySelector("#messages .msg-row .att-voice audio");
    return Number.isFinite(a.duration) && a.duration > 0 && a.currentTime === 0;
  }, null, { timeout: 10000 });
  const shown = await omar.evaluate(() => document.querySelector("#messages .msg-row .att-voice audio").duration);
  assert.ok(Math.abs(shown - seconds) < 1, `player says ${shown} s, the recording is ${seconds} s`);
  // The room list previews it as a voice message.
  await amira.locator(".room-item", { hasText: "Voice notes" }).locator(".preview", { hasText: "Voice message" }).waitFor();

  // A recording discarded with the cancel button is not sent.
  await amira.click("#record");
  await amira.locator('#record-status[data-state="recording"]').waitFor();
  await amira.click("#record-status .record-cancel");
  await amira.locator("#record-status").waitFor({ state: "hidden" });
  await amira.waitForTimeout(1000);
  assert.equal(await omar.locator("#messages .msg-row .att-voice").count(), 1);
  assert.equal(await amira.locator("#messages .msg-row .att-voice").count(), 1);

  await mkdir(join(REPO_ROOT, "test-artifacts"), { recursive: true });
  await omar.screenshot({ path: join(REPO_ROOT, "test-artifacts", "demo-voice-message.png") });
  assert.deepEqual(amira.errors, []);
  assert.deepEqual(omar.errors, []);
});

// Attachments through the demo app, against the real server: files picked
// in the composer, pasted into it or dropped on the conversation are
// uploaded (images with a thumbnail of the local file meanwhile) and sent
// with the message; the other page shows the image (its thumbnail, fetched
// with the Authorization header and shown through a blob: URL), opens it in
// the page's image viewer and downloads the PDF; a file type the server does
// not take is refused with a visible error. Voice messages recorded from the
// (fake) microphone arrive as `voice` messages with a player showing their
// length.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, REPO_ROOT } from "../helpers/server.js";
import { readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { launch, newPage, signIn, createRoom, openRoom, shot, assertFits } from "../helpers/browser.js";

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

  // Clicking the image opens it in the page's viewer (no new tab), full size,
  // with its name, its size and a download link; Escape closes it and the
  // focus goes back to the image.
  const opened = [];
  omar.context().on("page", (p) => opened.push(p.url()));
  const pageUrl = omar.url();
  const thumb = row.locator("button.att-image", { has: omar.locator("img[alt='passport.png']") });
  await thumb.click();
  const viewer = omar.locator("dialog.viewer[open]");
  await viewer.waitFor();
  await viewer.locator(".viewer-stage[data-state='ready']").waitFor();
  assert.equal(await viewer.locator(".viewer-name").textContent(), "passport.png");
  assert.match(await viewer.locator(".viewer-caption").textContent(), /^\d+(\.\d)? (B|KB)$/);
  const big = await viewer.locator("img.viewer-img").evaluate((img) => ({ src: img.src, w: img.naturalWidth, h: img.naturalHeight, shownW: img.getBoundingClientRect().width }));
  assert.match(big.src, /^blob:/);
  assert.deepEqual([big.w, big.h], [600, 400], "the full image, not the thumbnail");
  assert.ok(big.shownW > 320, `shown larger than in the bubble: ${big.shownW}px`);
  assert.equal(await viewer.locator(".viewer-close").evaluate((b) => b === document.activeElement), true, "focus moves into the viewer");
  await shot(omar, "demo-image-viewer-1280.png");
  // Its download link saves the image itself.
  const [saved] = await Promise.all([omar.waitForEvent("download"), viewer.locator("a.viewer-download").click()]);
  assert.equal(saved.suggestedFilename(), "passport.png");
  const savedBytes = await readFile(await saved.path());
  assert.equal(savedBytes.subarray(1, 4).toString(), "PNG");
  await viewer.waitFor(); // still open after the download
  await omar.keyboard.press("Escape");
  await omar.locator("dialog.viewer").waitFor({ state: "detached" });
  assert.equal(await thumb.evaluate((b) => b === document.activeElement), true, "focus is back on the image");
  assert.deepEqual(opened, [], "no tab or window was opened");
  assert.equal(omar.url(), pageUrl);

  // On a phone the viewer fills the screen and fits it; its close button closes it.
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await signIn(phone, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(phone, "Visa documents");
  const phoneThumb = phone.locator("#messages button.att-image", { has: phone.locator("img[alt='passport.png']") });
  await phoneThumb.click();
  const phoneViewer = phone.locator("dialog.viewer[open]");
  await phoneViewer.locator(".viewer-stage[data-state='ready']").waitFor();
  const box = await phoneViewer.evaluate((d) => {
    const r = d.getBoundingClientRect();
    const img = d.querySelector(".viewer-img").getBoundingClientRect();
    const close = d.querySelector(".viewer-close").getBoundingClientRect();
    return { w: r.width, h: r.height, imgLeft: img.left, imgRight: img.right, closeRight: close.right };
  });
  assert.deepEqual([box.w, box.h], [390, 844], "the viewer covers the screen");
  assert.ok(box.imgLeft >= 0 && box.imgRight <= 390 && box.closeRight <= 390, JSON.stringify(box));
  await assertFits(phone, "the viewer on a phone");
  await shot(phone, "demo-image-viewer-390.png");
  await phoneViewer.locator(".viewer-close").click();
  await phone.locator("dialog.viewer").waitFor({ state: "detached" });
  assert.equal(await phoneThumb.evaluate((b) => b === document.activeElement), true, "focus is back on the image");
  assert.deepEqual(phone.errors, []);
  await phone.context().close();

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
  await player.waitFor({ state: "attached" });
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
  // The recorder measured the length and sent it with the message.
  assert.equal(typeof stored.metadata?.duration_ms, "number");
  assert.ok(Math.abs(stored.metadata.duration_ms / 1000 - seconds) < 0.7, `metadata says ${stored.metadata.duration_ms} ms, the recording is ${seconds} s`);
  // Both players show that length as m:ss, before anyone plays it.
  const expected = `0:0${Math.max(1, Math.round(stored.metadata.duration_ms / 1000))}`;
  for (const p of [omar, amira]) {
    const time = p.locator("#messages .msg-row .att-voice .voice-time");
    await time.waitFor();
    assert.equal(await time.textContent(), expected);
  }
  assert.ok(Math.abs(Math.round(seconds) - Number(expected.slice(-1))) <= 1, `${expected} for ${seconds} s`);

  // Playing it: the button turns to pause and the time counts; at the end it
  // is back at the start, showing the length.
  const omarVoice = omar.locator("#messages .msg-row .att-voice");
  await omarVoice.locator("button.voice-play").click();
  await omarVoice.locator("button.voice-play[aria-label='Pause voice message']").waitFor();
  assert.equal(await omarVoice.getAttribute("data-state"), "playing");
  await omarVoice.locator(".voice-time", { hasText: ` / ${expected}` }).waitFor();
  await omar.waitForFunction(() => document.querySelector("#messages .att-voice audio").currentTime > 0.3);
  await omarVoice.locator(".voice-time", { hasText: new RegExp(`^${expected}$`) }).waitFor({ timeout: 15000 });
  assert.equal(await omarVoice.getAttribute("data-state"), "paused");
  assert.equal(await omarVoice.locator("button.voice-play").getAttribute("aria-label"), "Play voice message");

  // The same recording sent without a length (as another client might): the
  // player finds it itself instead of showing nothing or Infinity.
  await amira.evaluate(async (roomId) => {
    const a = document.querySelector("#messages .msg-row .att-voice audio");
    const blob = await (await fetch(a.src)).blob();
    const up = await window.earshot.uploadFile(new File([blob], "voice-message-bare.webm", { type: blob.type }));
    window.earshot.sendMessage(roomId, { messageType: "voice", attachments: [up] });
  }, stored.room_id);
  const bare = omar.locator("#messages .msg-row .att-voice").nth(1);
  await bare.waitFor();
  await bare.locator(".voice-time[data-known='true']").waitFor({ timeout: 10000 });
  assert.equal(await bare.locator(".voice-time").textContent(), expected);
  const bareStored = await omar.evaluate(async () => (await window.earshot.getMessages(decodeURIComponent(location.hash.slice(1)), { limit: 1 })).messages[0]);
  assert.equal(bareStored.metadata?.duration_ms, undefined);

  // The room list previews it as a voice message.
  await amira.locator(".room-item", { hasText: "Voice notes" }).locator(".preview", { hasText: "Voice message" }).waitFor();

  // A recording discarded with the cancel button is not sent.
  await amira.click("#record");
  await amira.locator('#record-status[data-state="recording"]').waitFor();
  await amira.click("#record-status .record-cancel");
  await amira.locator("#record-status").waitFor({ state: "hidden" });
  await amira.waitForTimeout(1000);
  assert.equal(await omar.locator("#messages .msg-row .att-voice").count(), 2);
  assert.equal(await amira.locator("#messages .msg-row .att-voice").count(), 2);

  await mkdir(join(REPO_ROOT, "test-artifacts"), { recursive: true });
  await omar.screenshot({ path: join(REPO_ROOT, "test-artifacts", "demo-voice-message.png") });
  assert.deepEqual(amira.errors, []);
  assert.deepEqual(omar.errors, []);
});

/** In the page: a File of a PNG drawn by its canvas (`w`x`h`, one colour). */
function pageFile(page, { name, w = 300, h = 200, color = "#16a34a" }) {
  return page.evaluateHandle(
    async ({ name, w, h, color }) => {
      const c = document.createElement("canvas");
      c.width = w;
      c.height = h;
      const g = c.getContext("2d");
      g.fillStyle = color;
      g.fillRect(0, 0, w, h);
      const blob = await new Promise((res) => c.toBlob(res, "image/png"));
      return new File([blob], name, { type: "image/png" });
    },
    { name, w, h, color },
  );
}

test("paste and drop: pasted images and files dropped on the conversation upload with a thumbnail and go with the next message", { timeout: 120000 }, async () => {
  const amira = await newPage(browser);
  await signIn(amira, server.url, { user: "amira", name: "Amira Haddad", role: "applicant" });
  await createRoom(amira, { title: "Screenshots", participants: ["omar"] });
  const omar = await newPage(browser);
  await signIn(omar, server.url, { user: "omar", name: "Omar Said", role: "professional" });
  await openRoom(omar, "Screenshots");

  // Hold uploads until the test lets them through, to see them uploading.
  let release;
  let held = new Promise((res) => (release = res));
  await amira.route("**/api/uploads", async (route) => {
    await held;
    await route.continue();
  });

  // A screenshot pasted into the message box (browsers call it image.png).
  const shotFile = await pageFile(amira, { name: "image.png", w: 400, h: 300, color: "#dc2626" });
  const pasted = await amira.evaluate((file) => {
    const dt = new DataTransfer();
    dt.items.add(file);
    const text = document.querySelector("#text");
    text.focus();
    const e = new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true });
    text.dispatchEvent(e);
    return e.defaultPrevented;
  }, shotFile);
  assert.equal(pasted, true, "the paste is taken as a file");
  const chip = amira.locator("#compose-files .file-chip").first();
  await chip.waitFor();
  // While it uploads: a thumbnail of the local file, dimmed under a spinner, and "uploading…".
  assert.equal(await chip.getAttribute("data-state"), "uploading");
  assert.match(await chip.locator(".file-name").textContent(), /^pasted-image-\d{8}-\d{6}\.png$/);
  assert.equal(await chip.locator(".file-size").textContent(), "uploading…");
  await chip.locator(".file-spinner").waitFor();
  const thumb = await (
    await amira.waitForFunction(() => {
      const img = document.querySelector("#compose-files .file-chip .file-thumb img");
      return img?.complete && img.naturalWidth > 0 && { src: img.src, w: img.naturalWidth, h: img.naturalHeight, box: img.getBoundingClientRect().width, opacity: getComputedStyle(img).opacity };
    })
  ).jsonValue();
  assert.match(thumb.src, /^blob:/, "an object URL of the local file");
  assert.deepEqual([thumb.w, thumb.h], [400, 300]);
  assert.ok(thumb.box >= 30 && thumb.box <= 60, `a thumbnail: ${thumb.box}px`);
  assert.ok(Number(thumb.opacity) < 1, "dimmed while uploading");
  await shot(amira, "demo-composer-uploading.png");
  // Sending waits for the upload: Enter does nothing yet.
  await amira.press("#text", "Enter");
  assert.equal(await amira.locator("#messages .msg-row").count(), 0);
  release();
  await amira.locator('#compose-files .file-chip[data-state="done"]').waitFor();
  assert.equal(await chip.locator(".file-spinner").isVisible(), false);
  assert.match(await chip.locator(".file-size").textContent(), /KB|B$/);

  // Removing it frees the object URL.
  await chip.locator(".file-remove").click();
  await amira.locator("#compose-files").waitFor({ state: "hidden" });
  const revoked = await amira.evaluate((src) => fetch(src).then(() => false, () => true), thumb.src);
  assert.equal(revoked, true, "the thumbnail's object URL is revoked");

  // Text pasted (even with a picture of it, as spreadsheets do) stays text.
  const asText = await amira.evaluate((file) => {
    const dt = new DataTransfer();
    dt.setData("text/plain", "A1 B1");
    dt.items.add(file);
    const e = new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true });
    document.querySelector("#text").dispatchEvent(e);
    return e.defaultPrevented;
  }, shotFile);
  assert.equal(asText, false);
  assert.equal(await amira.locator("#compose-files .file-chip").count(), 0);

  // Files dragged over the conversation show the drop zone; dragged away, it goes.
  held = new Promise((res) => (release = res));
  const drag = (type, target, file) =>
    amira.evaluate(
      ({ type, target, file }) => {
        const dt = new DataTransfer();
        dt.items.add(file);
        const e = new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true });
        document.querySelector(target).dispatchEvent(e);
        return e.defaultPrevented;
      },
      { type, target, file },
    );
  const dropped = await pageFile(amira, { name: "receipt.png", w: 320, h: 480, color: "#0ea5e9" });
  const zone = amira.locator("#drop-zone");
  assert.equal(await zone.isVisible(), false);
  assert.equal(await drag("dragenter", "#scroller", dropped), true);
  assert.equal(await drag("dragover", "#scroller", dropped), true, "the conversation takes the drop");
  await zone.waitFor();
  assert.match(await zone.textContent(), /Drop files to send/);
  await shot(amira, "demo-drop-zone.png");
  await drag("dragleave", "#scroller", dropped);
  await zone.waitFor({ state: "hidden" });
  // Dropped: it is attached (a thumbnail while it uploads), and the zone goes.
  await drag("dragenter", "#messages", dropped);
  await zone.waitFor();
  assert.equal(await drag("drop", "#messages", dropped), true);
  await zone.waitFor({ state: "hidden" });
  const dropChip = amira.locator("#compose-files .file-chip", { hasText: "receipt.png" });
  await dropChip.locator(".file-thumb img").waitFor();
  assert.equal(await dropChip.getAttribute("data-state"), "uploading");
  // A PDF dropped too: a file chip without a thumbnail.
  const pdf = await amira.evaluateHandle((bytes) => new File([new Uint8Array(bytes)], "contract.pdf", { type: "application/pdf" }), [...PDF]);
  await drag("dragenter", "#chat-pane .chat-head", pdf);
  await drag("drop", "#chat-pane .chat-head", pdf);
  const pdfChip = amira.locator("#compose-files .file-chip", { hasText: "contract.pdf" });
  await pdfChip.waitFor();
  assert.equal(await pdfChip.locator(".file-thumb").count(), 0);
  release();
  await amira.locator('#compose-files .file-chip[data-state="done"]').nth(1).waitFor();
  await amira.fill("#text", "The receipt and the contract");
  await amira.press("#text", "Enter");
  await amira.locator("#compose-files").waitFor({ state: "hidden" });

  // Omar gets both.
  const row = omar.locator("#messages .msg-row", { hasText: "The receipt and the contract" });
  await row.locator("img.att-img[alt='receipt.png']").waitFor();
  await row.locator("a.att-file", { hasText: "contract.pdf" }).waitFor();

  // Files dropped outside the conversation (on the sidebar) are not taken,
  // and the browser does not leave the app to show them.
  const before = amira.url();
  const outside = await amira.evaluate((file) => {
    const dt = new DataTransfer();
    dt.items.add(file);
    const over = new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true });
    document.querySelector("#room-list").dispatchEvent(over);
    return { prevented: over.defaultPrevented, effect: dt.dropEffect };
  }, pdf);
  assert.deepEqual(outside, { prevented: true, effect: "none" });
  assert.equal(amira.url(), before);
  assert.equal(await zone.isVisible(), false);
  assert.equal(await amira.locator("#compose-files .file-chip").count(), 0);

  // The one error logged is the fetch of the revoked thumbnail above.
  assert.deepEqual(amira.errors, ["Failed to load resource: net::ERR_FILE_NOT_FOUND"]);
  assert.deepEqual(omar.errors, []);
});

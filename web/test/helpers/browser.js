// Launches Debian's Chromium through playwright-core, headless, and drives
// the demo app like a person would.
//
// Browser tests run inside a network namespace of their own with only `lo`
// up (scripts/test-web makes it), so every ICE candidate is 127.0.0.1 and no
// test traffic can leave the machine; `assertIsolatedNetwork` refuses to run
// anywhere else.

import { networkInterfaces } from "node:os";
import { before, after } from "node:test";
import { chromium } from "playwright-core";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startServer, REPO_ROOT } from "./server.js";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  // Only 127.0.0.1 exists in the test's namespace: let WebRTC use it.
  "--allow-loopback-in-peer-connection",
];

/** Throw unless this process sees no network interface but loopback. */
export function assertIsolatedNetwork() {
  const names = Object.keys(networkInterfaces()).filter((n) => n !== "lo");
  if (names.length) {
    throw new Error(
      `browser tests must run in a network namespace with only lo up (found ${names.join(", ")}); run scripts/test-web`,
    );
  }
}

/**
 * Launch Chromium. `args`: more command-line switches, e.g. a fake
 * microphone that plays a file (`fakeAudioFile` below) instead of the beep.
 */
export function launch({ args = [] } = {}) {
  assertIsolatedNetwork();
  // playwright gives every launch a fresh temporary profile.
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...args], headless: true, timeout: 60000 });
}

/**
 * Write a WAV file (16-bit PCM, mono) of `seconds` of `sample(t)` (-1..1;
 * default: digital silence) and return the Chromium switch that makes it the
 * fake microphone (played in a loop).
 */
export async function fakeAudioFile(path, { seconds = 2, rate = 48000, sample = () => 0 } = {}) {
  const n = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + n * 2);
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write("WAVE", 8, "ascii");
  buf.write("fmt ", 12, "ascii");
  buf.writeUInt32LE(16, 16); // fmt chunk size
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28); // bytes per second
  buf.writeUInt16LE(2, 32); // block align
  buf.writeUInt16LE(16, 34); // bits per sample
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(Math.max(-1, Math.min(1, sample(i / rate))) * 32767), 44 + i * 2);
  await writeFile(path, buf);
  return `--use-file-for-fake-audio-capture=${path}`;
}

/**
 * A page in its own browser context (own storage: one person per page),
 * with console errors collected in `page.errors`.
 */
export async function newPage(browser, { viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.errors = [];
  page.on("pageerror", (err) => page.errors.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") page.errors.push(msg.text());
  });
  return page;
}

/** Sign in through the dev-mode form. */
export async function signIn(page, baseUrl, { user, name, role = "applicant" }) {
  await page.goto(baseUrl);
  await page.locator("#signin-form").waitFor();
  await page.fill("#signin-user", user);
  await page.fill("#signin-name", name ?? user);
  await page.selectOption("#signin-role", role);
  await page.click("#signin-submit");
  await page.locator("#app").waitFor();
  await page.waitForFunction(() => window.earshot?.state === "connected");
}

/** Create a conversation through the "new conversation" dialog; resolves with its room id. */
export async function createRoom(page, { title, type = "support", participants = [] }) {
  await page.click("#new-room");
  await page.fill("#room-title", title);
  await page.selectOption("#room-type", type);
  await page.fill("#room-people", participants.join(", "));
  await page.click("#room-create");
  await page.locator("#chat-title", { hasText: title }).waitFor();
  return page.evaluate(() => decodeURIComponent(location.hash.slice(1)));
}

/** Open a conversation from the sidebar by its title. */
export async function openRoom(page, title) {
  await page.locator("#room-list .room-btn", { hasText: title }).click();
  await page.locator("#chat-title", { hasText: title }).waitFor();
}

/** Type and send a message from the composer. */
export async function sendText(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** The message rows (other than separators) as {text, mine, status}. */
export function messageRows(page) {
  return page.$$eval("#messages .msg-row", (rows) =>
    rows.map((r) => ({
      text: r.querySelector(".msg-text")?.textContent ?? "",
      mine: r.classList.contains("mine"),
      status: r.dataset.status,
      seq: r.dataset.seq,
    })),
  );
}

/**
 * Inbound audio of the page's current call, by participant id:
 * `{pid: bytesReceived}` summed over the call's peer connections' getStats.
 */
export function inboundAudio(page) {
  return page.evaluate(async () => {
    const call = window.earshot.currentCall;
    if (!call) return {};
    const out = {};
    for (const r of await call.readStats()) for (const i of r.inbound) out[i.participant_id] = (out[i.participant_id] ?? 0) + (i.bytes_received ?? 0);
    return out;
  });
}

/** This page's participant id in its current call. */
export function participantId(page) {
  return page.evaluate(() => window.earshot.currentCall?.participantId ?? null);
}

/**
 * Wait until the page's bytesReceived from every participant in `expected`
 * grows by at least `minGrowth` bytes between two readings, while audio from
 * the `silent` ones (participants who left) does not grow at all. Inbound
 * audio from anyone else fails the wait.
 */
export async function waitForAudioFrom(page, expected, { silent = [], minGrowth = 2000, timeoutMs = 30000 } = {}) {
  const want = [...expected].map(String);
  const quiet = [...silent].map(String);
  const deadline = Date.now() + timeoutMs;
  let first = null;
  let last = null;
  while (Date.now() < deadline) {
    const now = await inboundAudio(page);
    last = now;
    const strangers = Object.keys(now).filter((id) => !want.includes(id) && !quiet.includes(id));
    if (strangers.length) throw new Error(`audio from unexpected participants ${strangers}: ${JSON.stringify(now)}`);
    if (!want.every((id) => id in now)) first = null;
    else if (!first) first = now;
    else if (quiet.some((id) => (now[id] ?? 0) !== (first[id] ?? 0))) first = now; // still draining: start over
    else if (want.every((id) => now[id] - first[id] >= minGrowth)) return { first, now };
    await page.waitForTimeout(250);
  }
  throw new Error(`audio from ${JSON.stringify(want)} (silent: ${JSON.stringify(quiet)}) did not behave; last ${JSON.stringify(last)}, first ${JSON.stringify(first)}`);
}

/**
 * The page fits its viewport: no horizontal scrolling, and no message bubble,
 * header, composer, room, toast or call control (nor, on the call monitor, a
 * call card, participant row, table, tile or chart) sticking out on either side.
 */
export async function assertFits(page, what = "page") {
  const problems = await page.evaluate(() => {
    const out = [];
    const width = window.innerWidth;
    if (document.documentElement.scrollWidth > width) out.push(`scrollWidth ${document.documentElement.scrollWidth} > ${width}`);
    const demo = ".bubble, .chat-head, .composer, .room-item, .toast, .call-dock, .call-controls, .call-strip, .incoming-call, .call-entry, .signin-card, .notif-panel, .notif";
    const monitor = ".mon-head, .mon-section, .call-card, .prow, .calls-table, .filters, .tile, .report-people, .chart, .chart svg";
    for (const el of document.querySelectorAll(`${demo}, ${monitor}`)) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.left < -0.5 || r.right > width + 0.5) out.push(`${el.className.split(" ")[0]} spans ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
    }
    return out;
  });
  if (problems.length) throw new Error(`${what} does not fit: ${problems.join("; ")}`);
}

/**
 * A server and a browser for a test file: started before its tests and
 * stopped after them. Read `ctx.server` and `ctx.browser` inside the tests.
 */
export function serverAndBrowser(serverOptions) {
  const ctx = { server: null, browser: null };
  before(async () => {
    ctx.server = await startServer(serverOptions);
    ctx.browser = await launch();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.server?.dispose();
  });
  return ctx;
}


/** Save a screenshot under test-artifacts/ (for a person to look at); it must not be blank. */
export async function shot(page, name) {
  const dir = join(REPO_ROOT, "test-artifacts");
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await page.screenshot({ path });
  const { size } = await stat(path);
  if (size <= 10000) throw new Error(`${name} looks empty (${size} bytes)`);
  return path;
}

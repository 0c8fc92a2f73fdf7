// Boots the real earshot binary for browser tests: dev mode, a temp data dir,
// a free port (or a given one, to restart "the same server"), and the
// address parsed from its "earshot listening addr=..." log line.

import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const REPO_ROOT = resolve(WEB_DIR, "..");

/**
 * The server binary: $WEBTEST_EARSHOT_BIN, else the newer of
 * $CARGO_TARGET_DIR (or ../target)/{release,debug}/earshot. (Not an
 * `EARSHOT_*` name: the server reads those as its configuration.)
 */
export function earshotBin() {
  if (process.env.WEBTEST_EARSHOT_BIN) return resolve(REPO_ROOT, process.env.WEBTEST_EARSHOT_BIN);
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR) : join(REPO_ROOT, "target");
  const found = ["release", "debug"]
    .map((p) => join(target, p, "earshot"))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!found.length) {
    throw new Error(`no earshot binary under ${target}: run \`cargo build --bin earshot\` or set WEBTEST_EARSHOT_BIN`);
  }
  return found[0];
}

/** The load generator built beside the server binary (`cargo build --bins`). */
export function loadgenBin() {
  const bin = join(dirname(earshotBin()), "earshot-loadgen");
  if (!existsSync(bin)) throw new Error(`no ${bin}: run \`cargo build --bin earshot-loadgen\``);
  return bin;
}

const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Start a server. Options: `dataDir` (default: a new temp dir), `port`
 * (default 0: any free port), `env` (extra environment).
 */
export async function startServer({ dataDir, port = 0, env = {}, timeoutMs = 30000 } = {}) {
  const ownDir = !dataDir;
  dataDir ??= await mkdtemp(join(tmpdir(), "earshot-web-test-"));
  const bin = earshotBin();
  const child = spawn(bin, ["--dev", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir], {
    // A directory without an earshot.toml, so only these settings apply.
    cwd: dataDir,
    env: {
      // The caller's own EARSHOT_* settings must not leak into the test server.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("EARSHOT_"))),
      RUST_LOG: "info,tower_http=warn,sqlx=warn",
      EARSHOT_WEB_DIR: WEB_DIR,
      // The SFU's UDP socket on loopback, on a free port, offering only
      // 127.0.0.1 candidates.
      EARSHOT_MEDIA_BIND: "127.0.0.1:0",
      EARSHOT_MEDIA_INCLUDE_LOOPBACK: "true",
      EARSHOT_MEDIA_CANDIDATE_IPS: '["127.0.0.1"]',
      // The shipped FAQ for the assistant (the server runs in its data dir).
      EARSHOT_ASSISTANT_FAQ_FILE: join(REPO_ROOT, "assistant", "faq.json"),
      // Browser tests send bursts (history, calls' stats): no rate limit in the way.
      EARSHOT_RATE_PER_SEC: "200",
      EARSHOT_RATE_BURST: "400",
      // Pages create conversations naming people who have not signed in
      // yet (and other applicants); the creation policy has its own tests.
      EARSHOT_ROOM_CREATION: "open",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const log = [];
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
  const addr = await new Promise((res, rej) => {
    let buf = "";
    const timer = setTimeout(() => rej(new Error(`earshot did not start within ${timeoutMs} ms:\n${log.join("\n")}`)), timeoutMs);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).replace(ANSI, "");
        buf = buf.slice(i + 1);
        log.push(line);
        const m = /earshot listening.*\baddr=(\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          res(m[1]);
        }
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`earshot exited (code ${code}, signal ${signal}) before listening:\n${log.join("\n")}`));
    });
  });
  const server = {
    addr,
    port: Number(addr.split(":").pop()),
    url: `http://${addr}`,
    wsUrl: `ws://${addr}/ws`,
    dataDir,
    child,
    log,
    exited,
    /**
     * Stop the process: SIGKILL by default (a crash), or SIGTERM (graceful).
     * A server still running `timeoutMs` after a SIGTERM is a failure: it is
     * killed and the error carries the end of its log.
     */
    async stop(signal = "SIGKILL", { timeoutMs = 25000 } = {}) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer;
      const late = new Promise((res) => (timer = setTimeout(() => res("late"), timeoutMs)));
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome === "late") {
        child.kill("SIGKILL");
        await exited;
        throw new Error(`earshot did not exit within ${timeoutMs} ms of ${signal}; log tail:\n${log.slice(-40).join("\n")}`);
      }
    },
    /** Stop, and remove the data dir if this helper made it. */
    async dispose() {
      await server.stop();
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

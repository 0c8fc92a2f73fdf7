// The SDK as an application's bundler sees it: a project that depends on
// "earshot-web" imports it by that name, esbuild resolves it through
// package.json's `exports`, and the single-file bundle it makes works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const web = join(dirname(fileURLToPath(import.meta.url)), "../..");

test("a bundler resolves earshot-web by its package name and the bundle works", async (t) => {
  const app = await mkdtemp(join(tmpdir(), "earshot-bundle-"));
  t.after(() => rm(app, { recursive: true, force: true }));
  await mkdir(join(app, "node_modules"));
  // What `npm install file:…/web` leaves: a link to the package directory.
  await symlink(web, join(app, "node_modules/earshot-web"), "dir");
  await writeFile(
    join(app, "main.js"),
    `import { EarshotClient, EarshotError } from "earshot-web";
export { EarshotClient, EarshotError };
`,
  );
  const out = join(app, "bundle.js");
  const result = await build({
    absWorkingDir: app,
    entryPoints: ["main.js"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: out,
    metafile: true,
    logLevel: "silent",
  });
  assert.deepEqual(result.errors, []);
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.some((p) => p.endsWith("earshot.js")), `the SDK entry is in the bundle: ${inputs}`);
  assert.ok(inputs.some((p) => p.includes("lib/outbox.js")), "its lib/ modules too");
  const code = await readFile(out, "utf8");
  assert.doesNotMatch(code, /from\s*["'](\.\/lib|earshot-web)/, "no import left unresolved");

  const { EarshotClient, EarshotError } = await import(pathToFileURL(out).href);
  const client = new EarshotClient({ url: "ws://127.0.0.1:9/ws" });
  assert.equal(client.state, "disconnected");
  assert.equal(new EarshotError("NOT_FOUND", "no such room").code, "NOT_FOUND");
});

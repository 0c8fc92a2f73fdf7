// Every module of the SDK and the demo app parses (the demo's modules need
// a DOM to run; a syntax error would only show as a blank page).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";

const web = join(dirname(fileURLToPath(import.meta.url)), "../..");

async function jsFiles(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await jsFiles(p)));
    else if (e.name.endsWith(".js")) out.push(p);
  }
  return out;
}

test("every .js file under web/ parses as a module", async () => {
  const files = await jsFiles(web);
  assert.ok(files.length > 20, `found ${files.length} files`);
  const bad = [];
  await Promise.all(
    files.map(async (f) => {
      try {
        await promisify(execFile)(process.execPath, ["--check", f]);
      } catch (err) {
        bad.push(`${relative(web, f)}: ${err.stderr.split("\n").slice(0, 5).join("\n")}`);
      }
    }),
  );
  assert.deepEqual(bad, []);
});

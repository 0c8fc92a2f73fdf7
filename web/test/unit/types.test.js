// The TypeScript declarations compile, and they fit a program that uses the
// SDK the way the README shows (test/types/usage.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const web = join(dirname(fileURLToPath(import.meta.url)), "../..");
const tsc = join(web, "node_modules/typescript/bin/tsc");

test("earshot.d.ts type-checks with strict settings against a usage example", async () => {
  const args = [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler", "--lib", "es2022,dom", "--skipLibCheck", "false", join(web, "earshot.d.ts"), join(web, "test/types/usage.ts")];
  try {
    await promisify(execFile)(process.execPath, args, { cwd: web });
  } catch (err) {
    assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`);
  }
});

// The voice player's time formatting and the length a message carries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { clock, metadataSeconds } from "../../ui/voice-player.js";

test("clock: m:ss, h:mm:ss past an hour, never negative", () => {
  assert.equal(clock(0), "0:00");
  assert.equal(clock(3.9), "0:03");
  assert.equal(clock(65), "1:05");
  assert.equal(clock(3600 + 62), "1:01:02");
  assert.equal(clock(-2), "0:00");
});

test("metadataSeconds: duration_ms in seconds, NaN when missing or not a length", () => {
  assert.equal(metadataSeconds({ duration_ms: 2500 }), 2.5);
  for (const m of [undefined, null, {}, { duration_ms: "2500" }, { duration_ms: 0 }, { duration_ms: -1 }, { duration_ms: Infinity }]) {
    assert.ok(Number.isNaN(metadataSeconds(m)), JSON.stringify(m));
  }
});

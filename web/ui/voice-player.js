// The player of voice messages (and other audio attachments): a play/pause
// button, a seek bar and the time, over an <audio> element without the
// browser's own controls.
//
// Chrome's MediaRecorder writes WebM without a duration, so such a file
// says its duration is Infinity until played through. The recorder sends
// the measured length with the message (`metadata.duration_ms`), shown at
// once; for a file without it, the player makes the browser find the end
// (seeking far past it) before showing a length.

import { h, icon } from "./dom.js";

/** Seconds as m:ss (h:mm:ss past an hour). */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const mm = String(Math.floor(s / 60) % 60);
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** A length to show: whole seconds, rounded, and a short clip is 0:01 rather than 0:00. */
function lengthText(seconds) {
  return clock(Math.max(1, Math.round(seconds)));
}

/**
 * Resolve with the audio's duration once it is finite: at once for most
 * files; for WebM without one, seek far past the end so the browser finds
 * it, then back to the start. NaN if it never turns up.
 */
export function findDuration(audio, timeoutMs = 8000) {
  return new Promise((resolve) => {
    if (Number.isFinite(audio.duration)) return resolve(audio.duration);
    const done = () => {
      audio.removeEventListener("durationchange", check);
      audio.removeEventListener("timeupdate", check);
      clearTimeout(timer);
      if (Number.isFinite(audio.duration)) audio.currentTime = 0;
      resolve(Number.isFinite(audio.duration) ? audio.duration : NaN);
    };
    const check = () => {
      if (Number.isFinite(audio.duration)) done();
    };
    const timer = setTimeout(done, timeoutMs);
    audio.addEventListener("durationchange", check);
    audio.addEventListener("timeupdate", check);
    audio.currentTime = 1e101;
  });
}

/** The length in `metadata.duration_ms`, in seconds, or NaN. */
export function metadataSeconds(metadata) {
  const ms = metadata?.duration_ms;
  return typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? ms / 1000 : NaN;
}

/**
 * A player for audio attachment `a`, loaded through `client.attachmentUrl`.
 * `seconds` is its known length (NaN if unknown); `onLoad` runs once it
 * has its size on screen.
 */
export function voicePlayer(client, a, { seconds = NaN, onLoad = () => {}, label = "voice message" } = {}) {
  const audio = h("audio", { class: "att-audio", preload: "metadata" });
  const play = h("button", { type: "button", class: "voice-play", "aria-label": `Play ${label}` }, icon("play"));
  const seek = h("input", { type: "range", class: "voice-seek", min: "0", max: "1", step: "0.05", value: "0", "aria-label": "Position" });
  const time = h("span", { class: "voice-time" });
  const box = h("div", { class: "att-voice", title: a.name ?? label, dataset: { state: "loading" } }, play, seek, time, audio);

  let media = NaN; // the duration the browser found
  let probing = true;
  let ready = null; // resolves once the source is set and the duration search is over

  const total = () => (Number.isFinite(seconds) ? seconds : media);
  const atRest = () => audio.paused && (probing || audio.currentTime === 0 || audio.ended);

  function update() {
    const len = total();
    const known = Number.isFinite(len);
    const playing = !audio.paused && !audio.ended;
    const cur = probing ? 0 : audio.currentTime;
    const shownLen = known ? lengthText(len) : "–:––";
    time.textContent = atRest() ? shownLen : `${clock(Math.min(cur, known ? Math.round(len) : cur))} / ${shownLen}`;
    time.dataset.known = String(known);
    box.dataset.state = playing ? "playing" : probing ? "loading" : "paused";
    play.replaceChildren(icon(playing ? "pause" : "play"));
    play.setAttribute("aria-label", `${playing ? "Pause" : "Play"} ${label}`);
    const max = Number.isFinite(media) ? media : known ? len : 1;
    seek.max = String(max);
    if (!seek.matches(":active")) seek.value = String(Math.min(cur, max));
    seek.setAttribute("aria-valuetext", `${clock(cur)} of ${shownLen}`);
  }

  const sourceSet = new Promise((resolve, reject) => {
    client.attachmentUrl(a.url).then((u) => {
      audio.src = u;
      resolve();
    }, reject);
  });
  sourceSet.catch(() => box.replaceWith(h("span", { class: "att-broken" }, a.name ?? label)));
  ready = sourceSet.then(
    () =>
      new Promise((resolve) => {
        audio.addEventListener(
          "loadedmetadata",
          () => {
            onLoad();
            findDuration(audio).then((d) => {
              media = d;
              probing = false;
              update();
              resolve();
            });
          },
          { once: true },
        );
        audio.addEventListener("error", () => {
          probing = false;
          update();
          resolve();
        }, { once: true });
      }),
  );
  ready.catch(() => {});

  play.addEventListener("click", async () => {
    if (!audio.paused) return audio.pause();
    await ready;
    // One voice message at a time.
    for (const other of document.querySelectorAll("audio.att-audio")) if (other !== audio) other.pause();
    audio.play().catch(() => {});
  });
  seek.addEventListener("input", async () => {
    const to = Number(seek.value);
    await ready;
    if (Number.isFinite(to)) audio.currentTime = to;
    update();
  });
  for (const ev of ["play", "pause", "timeupdate", "seeked"]) audio.addEventListener(ev, () => !probing && update());
  audio.addEventListener("ended", () => {
    audio.currentTime = 0;
    update();
  });

  update();
  return box;
}

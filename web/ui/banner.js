// The connection banner ("Connecting…", "Reconnecting…", "Back online",
// "Offline").

import { $ } from "./dom.js";

export class Banner {
  /**
   * @param {() => void} retryNow skip the backoff wait
   * @param {() => void} reconnect start over after giving up
   * @param {{hint?: string}} [o] what the reconnecting banner adds after the countdown
   */
  constructor(retryNow, reconnect, { hint = "Messages you send will go out once you're back." } = {}) {
    this.hint = hint;
    this.el = $("#banner");
    this.text = $("#banner-text");
    this.btn = $("#banner-retry");
    this.retryNow = retryNow;
    this.reconnect = reconnect;
    this.mode = null;
    this.hideTimer = null;
    this.tick = null;
    this.btn.addEventListener("click", () => (this.mode === "failed" ? this.reconnect() : this.retryNow()));
  }

  show(mode, text, { button = false, label = "Retry now" } = {}) {
    clearTimeout(this.hideTimer);
    clearInterval(this.tick);
    this.mode = mode;
    this.el.className = `banner banner-${mode}`;
    this.el.dataset.state = mode;
    this.text.textContent = text;
    this.btn.hidden = !button;
    this.btn.textContent = label;
    this.el.hidden = false;
    document.body.classList.add("has-banner");
  }

  hide() {
    clearInterval(this.tick);
    this.mode = null;
    this.el.hidden = true;
    this.el.dataset.state = "";
    document.body.classList.remove("has-banner");
  }

  update(state) {
    if (state === "connecting") this.show("connecting", "Connecting…");
    else if (state === "reconnecting") this.show("reconnecting", "Reconnecting…", { button: true });
    else if (state === "connected" && this.mode !== "online") this.hide();
    else if (state === "disconnected" && this.mode !== "failed") this.hide();
  }

  reconnecting({ delay }) {
    const until = Date.now() + delay;
    const render = () => {
      const s = Math.ceil((until - Date.now()) / 1000);
      this.text.textContent =
        s > 1 ? `Reconnecting… next try in ${s} s. ${this.hint}` : "Reconnecting…";
    };
    this.show("reconnecting", "Reconnecting…", { button: true });
    render();
    this.tick = setInterval(render, 500);
  }

  backOnline() {
    this.show("online", "Back online");
    this.hideTimer = setTimeout(() => this.hide(), 2000);
  }

  failed() {
    this.show("failed", "You're offline. We stopped retrying.", { button: true, label: "Reconnect" });
  }
}

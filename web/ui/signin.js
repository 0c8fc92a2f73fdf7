// Dev-mode sign-in, shared by the demo app and the call monitor: the quick
// pick personas and the form of the `#signin` card, the identity kept for
// this browser tab (so the demo and the monitor share it), and a token
// provider that mints a fresh token before every reconnect.

import { devToken } from "../earshot.js";
import { $ } from "./dom.js";

const IDENTITY_KEY = "earshot.demo.identity";

/** The identity signed in on this tab (`{user, name, role}`), or null. */
export function savedIdentity() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(IDENTITY_KEY) || "null");
    return saved?.user ? saved : null;
  } catch {
    return null;
  }
}

export function saveIdentity({ user, name, role }) {
  sessionStorage.setItem(IDENTITY_KEY, JSON.stringify({ user, name, role }));
}

export function forgetIdentity() {
  sessionStorage.removeItem(IDENTITY_KEY);
}

/**
 * Mint a token for an identity (dev mode); resolves with a provider for
 * `client.connect()` that hands out that token first, then a fresh one each
 * time. Rejects when the server refuses (the form shows why).
 */
export async function devTokenProvider({ user, name, role }) {
  const claims = { user, name: name || undefined, role };
  let first = (await devToken(claims)).token;
  return async () => {
    if (first) {
      const t = first;
      first = null;
      return t;
    }
    return (await devToken(claims)).token;
  };
}

/**
 * Wire the personas and the form: a persona fills the form and submits it;
 * submitting calls `onSignIn({user, name, role})`, and its rejection shows
 * under the form.
 */
export function setupSignInForm(onSignIn) {
  const form = $("#signin-form");
  const err = $("#signin-error");
  for (const b of document.querySelectorAll(".persona")) {
    b.addEventListener("click", () => {
      $("#signin-user").value = b.dataset.user;
      $("#signin-name").value = b.dataset.name;
      $("#signin-role").value = b.dataset.role;
      form.requestSubmit();
    });
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    const submit = $("#signin-submit");
    submit.disabled = true;
    try {
      await onSignIn({ user: $("#signin-user").value.trim(), name: $("#signin-name").value.trim(), role: $("#signin-role").value });
    } catch (e2) {
      err.textContent = e2.message || "Could not sign in";
    } finally {
      submit.disabled = false;
    }
  });
}

// The REST side of the API (docs/PROTOCOL.md, "REST"), with typed errors.

import { EarshotError } from "./errors.js";

const CODE_BY_STATUS = {
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "ACCESS_DENIED",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
  503: "UNAVAILABLE",
  507: "INSUFFICIENT_STORAGE",
};

/**
 * One JSON request. Rejects with EarshotError: the server's `code`, or one
 * derived from the status, or NETWORK when no response came.
 * @param {{fetch?: typeof fetch, baseUrl: string, token?: string, method?: string, path: string, body?: unknown}} o
 */
export async function restRequest(o) {
  const f = o.fetch ?? globalThis.fetch;
  const headers = { accept: "application/json" };
  if (o.body !== undefined) headers["content-type"] = "application/json";
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let res;
  try {
    res = await f(`${o.baseUrl}${o.path}`, {
      method: o.method ?? "GET",
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
  } catch (err) {
    throw new EarshotError("NETWORK", `${o.method ?? "GET"} ${o.path} failed: ${err?.message ?? err}`, { cause: err });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const code = (data && data.code) || CODE_BY_STATUS[res.status] || (res.status >= 500 ? "INTERNAL" : "BAD_REQUEST");
    throw new EarshotError(code, (data && data.message) || `${res.status} ${res.statusText}`, { status: res.status });
  }
  return data;
}

/**
 * Dev mode only: mint a token (`POST /api/dev/token`).
 * @param {{user: string, name?: string, role?: string, tenant?: string, rooms?: string[], ttl_secs?: number}} claims
 * @param {{baseUrl?: string, fetch?: typeof fetch}} [options]
 * @returns {Promise<{token: string, claims: object}>}
 */
export function devToken(claims, options = {}) {
  return restRequest({ ...options, baseUrl: options.baseUrl ?? "", method: "POST", path: "/api/dev/token", body: claims });
}

/**
 * `GET /api/dev/config`: `{dev: boolean, staff_roles: string[]}`.
 * @param {{baseUrl?: string, fetch?: typeof fetch}} [options]
 */
export function devConfig(options = {}) {
  return restRequest({ ...options, baseUrl: options.baseUrl ?? "", path: "/api/dev/config" });
}

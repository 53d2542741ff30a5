/**
 * rotor.js: the browser helper for rotor-server. One dependency-free ES module, no build step.
 *
 *   import { createClient } from "https://api.example.com/auth/rotor.js";
 *   const rotor = createClient({ baseUrl: "https://api.example.com/auth" });
 *   rotor.onSignedOut(() => showLogin());
 *   await rotor.login({ email, password });        // resolves to the user
 *   const res = await rotor.fetch("/me");           // a Response, like fetch()
 *
 * createClient(options) -> client
 *   options.baseUrl      where the rotor routes are mounted, e.g. "http://localhost:8000" or
 *                        "https://api.example.com/api/v1/users" (required).
 *   options.retry        { attempts = 4, baseDelayMs = 250, maxDelayMs = 4000, maxTotalWaitMs = 10000 }:
 *                        how 503, 429 and network errors are retried (exponential backoff with jitter;
 *                        a readable `Retry-After` in seconds or as an HTTP date replaces the computed
 *                        delay, still capped by maxDelayMs; no retry starts once the waits so far plus
 *                        the next one would pass maxTotalWaitMs).
 *   options.crossTabLock false (default): no lock across tabs. Tabs that refresh at the same moment
 *                        present the same refresh token, and the server answers the duplicates with
 *                        the same successor (its grace window). true: refreshes of all tabs of this
 *                        origin take turns through the Web Locks API where the browser has it, for a
 *                        server run with `refresh_grace = 0`.
 *   options.fetch        the fetch implementation (default: globalThis.fetch), for tests.
 *
 * client.login({ email | username, password })   -> Promise<user>
 * client.register({ username, email, password }) -> Promise<user>
 * client.logout()                                 -> Promise<void>, ends this session; cookies cleared
 * client.logoutAll()                              -> Promise<{ sessionsEnded }>, ends every session
 * client.refresh()                                -> Promise<void>, one shared refresh (normally implicit)
 * client.fetch(input, init)                       -> Promise<Response>
 * client.onSignedOut(callback)                    -> unsubscribe function
 *
 * client.fetch(input, init) is fetch() for API calls: a relative `input` ("/me", "me") is resolved
 * against baseUrl; `credentials: "include"` is always sent; a plain-object `init.body` is sent as
 * JSON with `Content-Type: application/json`. On a 401 it refreshes once (`POST <base>/refresh-token`,
 * no body: the HttpOnly refresh cookie rides along) and retries the call once. All concurrent
 * callers of one page share one refresh, and a call that was sent before a refresh that has
 * finished since is only retried, without another refresh. Other statuses (including a second
 * 401) come back as the Response, unchanged.
 *
 * Errors: every rejection is a RotorError with
 *   err.signedOut  true only when /refresh-token answered 401: the session is over; every
 *                  onSignedOut callback has been called once, with that error.
 *   err.retryable  true for 503, 429 and network failures that outlasted the retry budget; the
 *                  session is intact, try again later. Never signs the user out.
 *   err.status     the HTTP status, or 0 for a network failure.
 *   err.body       the parsed JSON envelope `{ statusCode, data, message, success }` when there is one.
 *   err.message    the envelope's `message`, or a description.
 * login/register/logout/logoutAll reject with a RotorError for any non-2xx answer (a wrong password
 * is `status 401`, `signedOut false`).
 *
 * Network failures are retried for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) and for the
 * helper's own refresh, login, logout and logout-all calls (the server makes a repeated refresh
 * return the same successor), not for register (a lost 201 would come back as 409 "taken"); a
 * POST/PATCH through client.fetch that failed on the network is not re-sent, since it may have
 * been applied: it rejects with `retryable: true` and the caller decides.
 * Pass `init.retry: true` to re-send it anyway, or `init.retry: false` to disable every retry.
 *
 * The helper keeps no token: the tokens live in HttpOnly cookies and the token strings of the
 * login/refresh answers are dropped. It never touches cookies and clears no state on a retryable
 * failure; only the server's 401 on /refresh-token (or a logout) ends the session.
 */

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** The one error type of this module. */
export class RotorError extends Error {
  constructor(message, { status = 0, signedOut = false, retryable = false, body = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "RotorError";
    this.status = status;
    this.signedOut = signedOut;
    this.retryable = retryable;
    this.body = body;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isRetryableStatus(status) {
  return status === 503 || status === 429;
}

/** Milliseconds from a `Retry-After` header (seconds or HTTP date), or null when absent/unreadable. */
function retryAfterMs(response) {
  let value;
  try {
    value = response.headers.get("Retry-After");
  } catch {
    return null;
  }
  if (value == null) return null;
  value = value.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

async function readEnvelope(response) {
  try {
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/** Creates a client bound to one rotor-server base URL. */
export function createClient(options = {}) {
  const { baseUrl, retry = {}, crossTabLock = false } = options;
  if (typeof baseUrl !== "string" || baseUrl === "") {
    throw new TypeError("createClient: baseUrl is required, e.g. createClient({ baseUrl: \"https://api.example.com\" })");
  }
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const policy = {
    attempts: retry.attempts ?? 4,
    baseDelayMs: retry.baseDelayMs ?? 250,
    maxDelayMs: retry.maxDelayMs ?? 4000,
    maxTotalWaitMs: retry.maxTotalWaitMs ?? 10000,
  };
  const base = new URL(baseUrl, globalThis.location?.href);
  const basePath = base.pathname.replace(/\/+$/, "");
  const listeners = new Set();
  let refreshing = null;
  let refreshes = 0; // successful refreshes so far: a 401 to a call sent before the latest one needs none

  function resolveUrl(input) {
    if (input instanceof URL) return input.href;
    if (typeof input !== "string") return input; // a Request: taken as it is
    if (/^[a-z][a-z0-9+.-]*:/i.test(input)) return input;
    const path = input.replace(/^\/+/, "");
    return `${base.origin}${basePath}/${path}`;
  }

  function buildInit(init = {}) {
    const { retry: _retry, ...rest } = init;
    const headers = new Headers(rest.headers ?? {});
    let body = rest.body;
    if (isPlainObject(body)) {
      body = JSON.stringify(body);
      if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    }
    return { ...rest, headers, body, credentials: "include" };
  }

  /**
   * One logical request with the retry policy for 503/429/network failures. Resolves to the last
   * Response for any other status; rejects with a retryable RotorError when the budget runs out.
   */
  async function sendWithRetry(input, init, { retryNetwork }) {
    const method = (init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const networkOk = retryNetwork ?? IDEMPOTENT.has(method);
    let waited = 0;
    for (let attempt = 1; ; attempt += 1) {
      let response = null;
      let failure = null;
      try {
        const request = input instanceof Request ? input.clone() : input;
        response = await fetchImpl(request, init);
      } catch (err) {
        if (err?.name === "AbortError") throw err; // the caller's own abort: not ours to retry
        failure = err;
      }
      if (response && !isRetryableStatus(response.status)) return response;
      const canRetry = attempt < policy.attempts && (response !== null || networkOk);
      let delay = null;
      if (canRetry) {
        const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
        const hinted = response ? retryAfterMs(response) : null;
        delay = Math.min(policy.maxDelayMs, hinted ?? backoff * (0.5 + Math.random() / 2));
        if (waited + delay > policy.maxTotalWaitMs) delay = null;
      }
      if (delay === null) {
        if (response) {
          const body = await readEnvelope(response);
          throw new RotorError(body?.message ?? `service unavailable (${response.status})`, {
            status: response.status,
            retryable: true,
            body,
          });
        }
        throw new RotorError(`network error: ${failure?.message ?? failure}`, {
          status: 0,
          retryable: true,
          cause: failure,
        });
      }
      if (response) {
        try {
          await response.body?.cancel();
        } catch {
          /* nothing to release */
        }
      }
      await sleep(delay);
      waited += delay;
    }
  }

  function signedOut(error) {
    for (const callback of [...listeners]) {
      try {
        callback(error);
      } catch (err) {
        setTimeout(() => {
          throw err;
        });
      }
    }
  }

  async function refreshOnce() {
    const response = await sendWithRetry(resolveUrl("refresh-token"), buildInit({ method: "POST" }), {
      retryNetwork: true,
    });
    if (response.ok) {
      refreshes += 1;
      await response.body?.cancel().catch(() => {});
      return;
    }
    const body = await readEnvelope(response);
    if (response.status === 401) {
      const error = new RotorError(body?.message ?? "signed out", { status: 401, signedOut: true, body });
      signedOut(error);
      throw error;
    }
    throw new RotorError(body?.message ?? `refresh failed (${response.status})`, {
      status: response.status,
      body,
    });
  }

  function locked(fn) {
    const locks = crossTabLock ? globalThis.navigator?.locks : undefined;
    if (!locks?.request) return fn();
    return locks.request(`rotor-refresh ${base.origin}${basePath}`, fn);
  }

  /** The page's one refresh in flight: every caller during it shares the same promise. */
  function refresh() {
    if (!refreshing) {
      refreshing = locked(refreshOnce).finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  /** An API call: refresh once on 401 and retry once. */
  async function apiFetch(input, init = {}) {
    const retryNetwork = init.retry === false ? false : init.retry === true ? true : undefined;
    const opts = { retryNetwork };
    const url = resolveUrl(input);
    const send = () => {
      const built = buildInit(init);
      if (init.retry === false) return fetchImpl(url instanceof Request ? url.clone() : url, built);
      return sendWithRetry(url, built, opts);
    };
    const sentAfter = refreshes;
    const first = await send();
    if (first.status !== 401) return first;
    await first.body?.cancel().catch(() => {});
    // Sent with the cookies from before a refresh that has finished since: retry with the new ones.
    if (refreshes === sentAfter) await refresh();
    return send();
  }

  /** A call whose non-2xx answer rejects; resolves to the envelope's `data`. */
  async function call(path, body, { authed, retryNetwork = true }) {
    const init = { method: "POST", body: body ?? undefined, retry: true };
    const response = authed
      ? await apiFetch(path, init)
      : await sendWithRetry(resolveUrl(path), buildInit(init), { retryNetwork });
    const envelope = await readEnvelope(response);
    if (!response.ok) {
      throw new RotorError(envelope?.message ?? `${path} failed (${response.status})`, {
        status: response.status,
        body: envelope,
      });
    }
    return envelope?.data ?? null;
  }

  return {
    baseUrl: `${base.origin}${basePath}`,

    async login(credentials) {
      const data = await call("login", credentials, { authed: false });
      return data?.user ?? data;
    },

    register(fields) {
      // Not re-sent after a network failure: the user may have been created, and a second try
      // would answer 409 "taken" for the person's own new account.
      return call("register", fields, { authed: false, retryNetwork: false });
    },

    async logout() {
      try {
        await call("logout", null, { authed: true });
      } catch (err) {
        if (!err.signedOut) throw err; // the session had already ended: logged out all the same
      }
    },

    async logoutAll() {
      try {
        return await call("logout-all", null, { authed: true });
      } catch (err) {
        if (!err.signedOut) throw err;
        return { sessionsEnded: 0 };
      }
    },

    refresh,

    fetch: apiFetch,

    onSignedOut(callback) {
      if (typeof callback !== "function") throw new TypeError("onSignedOut: callback must be a function");
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
  };
}

export default createClient;

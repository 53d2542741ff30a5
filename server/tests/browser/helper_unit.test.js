// The helper's rules, without a browser or a server: a scripted fetch stands in for the network.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { RotorError, createClient } from "../../static/rotor.js";

const json = (status, data, headers = {}) =>
  new Response(JSON.stringify({ statusCode: status, data, message: `m${status}`, success: status < 400 }), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });

/** A fetch that answers from `script(url, init, n)` and records every call. */
function scripted(script) {
  const calls = [];
  const fetch = async (input, init = {}) => {
    const url = typeof input === "string" ? input : input.url;
    const path = new URL(url).pathname;
    calls.push({ path, method: init.method ?? "GET", credentials: init.credentials, body: init.body, headers: new Headers(init.headers) });
    const n = calls.filter((c) => c.path === path).length;
    return script(path, init, n);
  };
  return { fetch, calls, count: (path) => calls.filter((c) => c.path === path).length };
}

const fast = { attempts: 4, baseDelayMs: 5, maxDelayMs: 50, maxTotalWaitMs: 500 };

describe("rotor.js", () => {
  test("every call includes credentials, and objects go as JSON", async () => {
    const net = scripted((path) => (path === "/api/login" ? json(200, { user: { username: "a" }, accessToken: "x", refreshToken: "y" }) : json(200, {})));
    const c = createClient({ baseUrl: "http://api.test/api/", fetch: net.fetch, retry: fast });
    const user = await c.login({ email: "a@b", password: "p" });
    assert.deepEqual(user, { username: "a" }, "login resolves to the user, without the token strings");
    await c.fetch("/things", { method: "POST", body: { a: 1 } });
    assert.ok(net.calls.every((k) => k.credentials === "include"));
    assert.equal(net.calls[0].headers.get("content-type"), "application/json");
    assert.equal(net.calls[0].body, JSON.stringify({ email: "a@b", password: "p" }));
    assert.equal(net.calls[1].path, "/api/things");
    assert.equal(net.calls[1].body, '{"a":1}');
  });

  test("a 401 refreshes once, shared by concurrent calls, and retries each call once", async () => {
    let fresh = false;
    const net = scripted((path) => {
      if (path === "/refresh-token") {
        fresh = true;
        return new Promise((r) => setTimeout(() => r(json(200, {})), 20));
      }
      return fresh ? json(200, { ok: 1 }) : json(401, null);
    });
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    const rs = await Promise.all([c.fetch("/me"), c.fetch("/me"), c.fetch("/me")]);
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200]);
    assert.equal(net.count("/refresh-token"), 1);
    assert.equal(net.calls.find((k) => k.path === "/refresh-token").body, undefined, "the refresh sends no body");
  });

  test("a 401 that arrives after a refresh finished is retried without a second refresh", async () => {
    let fresh = false;
    let slow = true;
    const net = scripted((path) => {
      if (path === "/refresh-token") {
        fresh = true;
        return json(200, {});
      }
      const answer = fresh ? json(200, {}) : json(401, null);
      // The first /me is slow: its 401 arrives after the second call's refresh finished.
      if (slow) {
        slow = false;
        return new Promise((r) => setTimeout(() => r(answer), 40));
      }
      return answer;
    });
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    const rs = await Promise.all([c.fetch("/me"), new Promise((r) => setTimeout(r, 5)).then(() => c.fetch("/me"))]);
    assert.deepEqual(rs.map((r) => r.status), [200, 200]);
    assert.equal(net.count("/refresh-token"), 1);
  });

  test("a second 401 after a good refresh comes back as the response, not as a sign-out", async () => {
    const net = scripted((path) => (path === "/refresh-token" ? json(200, {}) : json(401, null)));
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    let out = 0;
    c.onSignedOut(() => (out += 1));
    const r = await c.fetch("/admin");
    assert.equal(r.status, 401);
    assert.equal(net.count("/admin"), 2);
    assert.equal(out, 0);
  });

  test("a 401 from /refresh-token signs out: one callback, and a typed rejection", async () => {
    const net = scripted((path) => json(401, null));
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    const seen = [];
    c.onSignedOut((e) => seen.push(e));
    const rs = await Promise.allSettled([c.fetch("/me"), c.fetch("/me")]);
    for (const r of rs) {
      assert.equal(r.status, "rejected");
      assert.ok(r.reason instanceof RotorError);
      assert.equal(r.reason.signedOut, true);
      assert.equal(r.reason.retryable, false);
    }
    assert.equal(seen.length, 1);
  });

  test("503 and 429 are retried with backoff and never sign out", async () => {
    const net = scripted((path, init, n) => {
      if (path === "/refresh-token") return n <= 2 ? json(503, null, { "Retry-After": "0" }) : json(200, {});
      if (path === "/me") return net.count("/refresh-token") >= 3 ? json(200, {}) : n === 1 ? json(429, null) : json(401, null);
      return json(404, null);
    });
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    let out = 0;
    c.onSignedOut(() => (out += 1));
    const r = await c.fetch("/me");
    assert.equal(r.status, 200);
    assert.equal(net.count("/refresh-token"), 3);
    assert.equal(out, 0);
  });

  test("an outage that outlasts the budget rejects as retryable, bounded in attempts", async () => {
    const net = scripted((path) => (path === "/refresh-token" ? json(503, null) : json(401, null)));
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    let out = 0;
    c.onSignedOut(() => (out += 1));
    await assert.rejects(c.fetch("/me"), (e) => e instanceof RotorError && e.retryable && !e.signedOut && e.status === 503);
    assert.equal(net.count("/refresh-token"), 4);
    assert.equal(out, 0);
  });

  test("Retry-After is honoured up to the cap, and the total wait is capped", async () => {
    const net = scripted((path) => (path === "/refresh-token" ? json(503, null, { "Retry-After": "1" }) : json(401, null)));
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: { attempts: 10, baseDelayMs: 5, maxDelayMs: 100, maxTotalWaitMs: 250 } });
    const t0 = Date.now();
    await assert.rejects(c.refresh(), (e) => e.retryable);
    const took = Date.now() - t0;
    assert.equal(net.count("/refresh-token"), 3, "100 ms + 100 ms fit in 250 ms, a third wait does not");
    assert.ok(took >= 190 && took < 1000, `took ${took} ms`);
  });

  test("network errors: the refresh retries, a POST through fetch is not re-sent unless asked", async () => {
    let down = 2;
    const net = scripted(async (path) => {
      if (path === "/refresh-token" && down > 0) {
        down -= 1;
        throw new TypeError("Failed to fetch");
      }
      if (path === "/order") throw new TypeError("Failed to fetch");
      return json(200, {});
    });
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    await c.refresh();
    assert.equal(net.count("/refresh-token"), 3);
    await assert.rejects(c.fetch("/order", { method: "POST", body: {} }), (e) => e.retryable && e.status === 0 && !e.signedOut);
    assert.equal(net.count("/order"), 1);
    await assert.rejects(c.fetch("/order", { method: "POST", body: {}, retry: true }), (e) => e.retryable);
    assert.equal(net.count("/order"), 1 + 4);
    await assert.rejects(c.fetch("/order", { method: "GET" }), (e) => e.retryable);
    assert.equal(net.count("/order"), 5 + 4, "GET is idempotent: retried");
  });

  test("logout resolves when the session had already ended", async () => {
    const net = scripted(() => json(401, null));
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    await c.logout();
    assert.deepEqual(net.calls.map((k) => k.path), ["/logout", "/refresh-token"]);
  });

  test("a wrong password is a plain 401 error, not a sign-out", async () => {
    const net = scripted(() => json(401, null));
    const c = createClient({ baseUrl: "http://api.test", fetch: net.fetch, retry: fast });
    let out = 0;
    c.onSignedOut(() => (out += 1));
    await assert.rejects(c.login({ email: "a", password: "b" }), (e) => e.status === 401 && !e.signedOut);
    assert.equal(net.count("/refresh-token"), 0);
    assert.equal(out, 0);
  });
});

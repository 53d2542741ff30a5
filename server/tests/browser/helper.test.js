// Scenario 7: the helper as the server serves it (GET <api>/rotor.js), in a page: one refresh for
// an expired access token, and a 503 storm never signs the person out.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ACCESS_TTL, launchBrowser, newUser, openClientPage, sleep, stack, startProxy, startServer, startSite, tokenCookies } from "./lib/harness.js";

/** A 503 as the server would send it to the front end: readable (CORS) and with Retry-After. */
const unavailable = (req, retryAfter = "1") => ({
  status: 503,
  headers: {
    "Content-Type": "application/json",
    "Retry-After": retryAfter,
    "Access-Control-Allow-Origin": req.headers.origin ?? "",
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Expose-Headers": "Retry-After",
    Vary: "Origin",
  },
  body: JSON.stringify({ statusCode: 503, data: null, message: "Service unavailable", success: false, errors: [] }),
});

async function setUp(browser, t, decide) {
  const s = stack();
  t.after(() => s.stop());
  const site = s.add(await startSite());
  const server = s.add(await startServer({ origins: [site.origin] }));
  const proxy = s.add(await startProxy({ target: server.origin, decide: (req, n) => decide.current(req, n) }));
  const { context, page } = await openClientPage(browser, {
    pageUrl: `${site.origin}/`,
    baseUrl: proxy.origin,
    // ROTOR_HELPER_SOURCE=tree imports the source tree's copy from the page's own origin instead
    // (for working on the helper against a server that does not serve it yet).
    helperUrl: process.env.ROTOR_HELPER_SOURCE === "tree" ? `${site.origin}/rotor.js` : `${server.url}/rotor.js`,
  });
  s.add(() => context.close());
  const user = newUser("helper");
  await page.evaluate(async (user) => {
    await window.rotor.register(user);
    await window.rotor.login({ email: user.email, password: user.password });
  }, user);
  return { s, site, server, proxy, context, page, user };
}

const refreshCalls = (proxy, since = 0) => proxy.seen.filter((e) => e.at >= since && e.method === "POST" && e.path === "/refresh-token");

describe("the helper in a page", { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("the server serves the helper as a JavaScript module", { timeout: 30_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const server = s.add(await startServer({ origins: ["http://localhost:41020"] }));
    const res = await fetch(`${server.url}/rotor.js`, { headers: { Origin: "http://localhost:41020" } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(res.headers.get("access-control-allow-origin"), "http://localhost:41020", "importable from the listed origin (module scripts are CORS fetches)");
    const { readFileSync } = await import("node:fs");
    const { ROTOR_JS } = await import("./lib/harness.js");
    assert.equal(await res.text(), readFileSync(ROTOR_JS, "utf8"), "the served helper is static/rotor.js");
  });

  test("a call that meets an expired access token succeeds after exactly one refresh", { timeout: 60_000 }, async (t) => {
    const decide = { current: () => "forward" };
    const { proxy, page, user } = await setUp(browser, t, decide);
    await sleep(ACCESS_TTL * 1000 + 1500);
    const since = Date.now();
    const r = await page.evaluate(async () => {
      // Three calls at once: they share the one refresh.
      const all = await Promise.all([window.rotor.fetch("/me"), window.rotor.fetch("/me"), window.rotor.fetch("me")]);
      return Promise.all(all.map(async (res) => ({ status: res.status, body: await res.json() })));
    });
    for (const one of r) {
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body.data.username, user.username);
    }
    assert.equal(refreshCalls(proxy, since).length, 1, "one refresh for three calls");
    assert.deepEqual(await page.evaluate(() => window.signedOutEvents), []);
  });

  test("a service outage during refresh does not sign the person out", { timeout: 60_000 }, async (t) => {
    const decide = { current: () => "forward" };
    const { proxy, context, page, user } = await setUp(browser, t, decide);
    // The first two refreshes meet a 503 with Retry-After: 1; the third goes through.
    let refused = 0;
    decide.current = (req) => {
      if (req.method === "POST" && req.url === "/refresh-token" && refused < 2) {
        refused += 1;
        return unavailable(req);
      }
      return "forward";
    };
    await sleep(ACCESS_TTL * 1000 + 1500);
    const since = Date.now();
    const r = await page.evaluate(async () => {
      const res = await window.rotor.fetch("/me");
      return { status: res.status, body: await res.json(), signedOut: window.signedOutEvents };
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.username, user.username);
    assert.deepEqual(r.signedOut, [], "no signed-out callback");
    const calls = refreshCalls(proxy, since);
    assert.equal(calls.length, 3, `two refused refreshes, then one through: ${JSON.stringify(calls)}`);
    assert.ok(calls[1].at - calls[0].at >= 900 && calls[2].at - calls[1].at >= 900, "Retry-After: 1 was honoured");
    const jar = await tokenCookies(context);
    assert.ok(jar.access && jar.refresh, "both cookies are there");
  });

  test("a long outage ends in a retryable error, and the person stays signed in", { timeout: 60_000 }, async (t) => {
    const decide = { current: () => "forward" };
    const { proxy, context, page, user } = await setUp(browser, t, decide);
    let outage = true;
    decide.current = (req) => (outage && req.method === "POST" && req.url === "/refresh-token" ? unavailable(req) : "forward");
    await sleep(ACCESS_TTL * 1000 + 1500);
    const held = await tokenCookies(context);
    const started = Date.now();
    const r = await page.evaluate(async () => {
      try {
        const res = await window.rotor.fetch("/me");
        return { status: res.status };
      } catch (err) {
        return { error: { name: err.name, retryable: err.retryable, signedOut: err.signedOut, status: err.status, isRotorError: err instanceof window.RotorError } };
      }
    });
    const took = Date.now() - started;
    assert.deepEqual(r, { error: { name: "RotorError", retryable: true, signedOut: false, status: 503, isRotorError: true } });
    assert.ok(took < 20_000, `the retries are bounded in time (${took} ms)`);
    assert.ok(proxy.seen.filter((e) => e.status === 503).length >= 2, "it did retry");
    assert.deepEqual(await page.evaluate(() => window.signedOutEvents), [], "no signed-out callback");
    const jar = await tokenCookies(context);
    assert.equal(jar.refresh?.value, held.refresh.value, "the refresh cookie is untouched");

    // The service comes back: the next call goes through with the same session.
    outage = false;
    const back = await page.evaluate(async () => {
      const res = await window.rotor.fetch("/me");
      return { status: res.status, body: await res.json() };
    });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.data.username, user.username);
  });

  test("a refresh refused with 401 signs the person out exactly once", { timeout: 60_000 }, async (t) => {
    const decide = { current: () => "forward" };
    const { server, context, page } = await setUp(browser, t, decide);
    // The session ends elsewhere (another device logged out everywhere).
    const { refresh } = await tokenCookies(context);
    const out = await fetch(`${server.url}/logout-all`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: refresh.value }),
    });
    assert.equal(out.status, 200, await out.text());
    await sleep(ACCESS_TTL * 1000 + 1500);
    const r = await page.evaluate(async () => {
      const results = await Promise.allSettled([window.rotor.fetch("/me"), window.rotor.fetch("/me")]);
      return {
        results: results.map((x) => (x.status === "rejected" ? { signedOut: x.reason.signedOut, status: x.reason.status } : { status: x.value.status })),
        events: window.signedOutEvents.length,
      };
    });
    assert.deepEqual(r.results, [
      { signedOut: true, status: 401 },
      { signedOut: true, status: 401 },
    ]);
    assert.equal(r.events, 1, "one callback for one sign-out");
  });
});

// Scenario 1: a front end on another origin of the same site (http://localhost:A) talks to the API
// (http://localhost:B) with credentials; an origin the API does not list gets nothing.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ACCESS_TTL, launchBrowser, newUser, openClientPage, sleep, stack, startServer, startSite, tokenCookies } from "./lib/harness.js";

describe("a front end on another origin", { timeout: 90_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("signing in from the front end keeps working after the access token expires", { timeout: 60_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const site = s.add(await startSite());
    const server = s.add(await startServer({ origins: [site.origin] }));
    const { context, page } = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: server.url });
    s.add(() => context.close());

    const user = newUser("cors");
    const seenRequests = [];
    page.on("request", (r) => {
      if (r.url().startsWith(server.origin)) seenRequests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });

    const result = await page.evaluate(async (user) => {
      const registered = await window.rotor.register(user);
      const loggedIn = await window.rotor.login({ email: user.email, password: user.password });
      const me = await window.rotor.fetch("/me");
      return { registered, loggedIn, me: { status: me.status, body: await me.json() } };
    }, user);
    assert.equal(result.registered.username, user.username);
    assert.equal(result.loggedIn.username, user.username);
    assert.equal(result.me.status, 200);
    assert.equal(result.me.body.data.username, user.username);
    const before = await tokenCookies(context);
    assert.ok(before.access, "the access cookie is in the browser's jar after login");
    assert.ok(before.refresh, "the refresh cookie is in the browser's jar after login");

    await sleep(ACCESS_TTL * 1000 + 1500);
    const later = await page.evaluate(async () => {
      const me = await window.rotor.fetch("/me");
      return { status: me.status, body: await me.json(), signedOut: window.signedOutEvents };
    });
    assert.equal(later.status, 200, `/me after expiry: ${JSON.stringify(later.body)}`);
    assert.equal(later.body.data.username, user.username);
    assert.deepEqual(later.signedOut, []);
    assert.ok(seenRequests.includes("POST /refresh-token"), `the helper refreshed: ${seenRequests.join(", ")}`);
    const after = await tokenCookies(context);
    assert.ok(after.access && after.refresh, "both cookies are there after the refresh");
    assert.notEqual(after.refresh.value, before.refresh.value, "the refresh token was rotated");
  });

  test("a page on an origin the API does not list cannot read its answers", { timeout: 60_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const site = s.add(await startSite());
    const stranger = s.add(await startSite());
    const server = s.add(await startServer({ origins: [site.origin] }));
    const user = newUser("stranger");

    const context = await browser.newContext();
    s.add(() => context.close());
    // The listed front end logs in, so the browser holds a live session for the API.
    const listed = await context.newPage();
    await listed.goto(`${site.origin}/`);
    const me = await listed.evaluate(
      async ({ api, user }) => {
        const json = { "Content-Type": "application/json" };
        await fetch(`${api}/register`, { method: "POST", headers: json, body: JSON.stringify(user), credentials: "include" });
        const login = await fetch(`${api}/login`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({ email: user.email, password: user.password }),
          credentials: "include",
        });
        return login.status;
      },
      { api: server.url, user },
    );
    assert.equal(me, 200);

    const held = await tokenCookies(context);
    const page = await context.newPage();
    await page.goto(`${stranger.origin}/`);
    const outcome = await page.evaluate(async (api) => {
      const tryFetch = async (url, init) => {
        try {
          const res = await fetch(url, { credentials: "include", ...init });
          return { read: true, status: res.status, text: await res.text() };
        } catch (err) {
          return { read: false, error: String(err) };
        }
      };
      return {
        me: await tryFetch(`${api}/me`),
        health: await tryFetch(`${api}/health`),
        refresh: await tryFetch(`${api}/refresh-token`, { method: "POST" }),
        login: await tryFetch(`${api}/login`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ email: "x@example.com", password: "x" }),
        }),
      };
    }, server.url);
    for (const [route, r] of Object.entries(outcome)) {
      assert.equal(r.read, false, `${route} from an unlisted origin was readable: ${JSON.stringify(r)}`);
      assert.match(r.error, /TypeError|Failed to fetch/);
    }
    // localhost:D is the same site, so the SameSite=Strict cookies did ride along: the server
    // must have refused the state-changing POST (Origin not listed), not rotated the session.
    const now = await tokenCookies(context);
    assert.equal(now.refresh?.value, held.refresh?.value, "an unlisted origin's POST /refresh-token rotated the session");
  });

  test("the API answers CORS preflights only for listed origins, never with *", { timeout: 30_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const listedA = "http://localhost:41001";
    const listedB = "http://localhost:41002";
    const server = s.add(await startServer({ origins: [listedA, listedB] }));
    const routes = [
      ["/register", "POST"],
      ["/login", "POST"],
      ["/refresh-token", "POST"],
      ["/logout", "POST"],
      ["/logout-all", "POST"],
      ["/me", "GET"],
      ["/health", "GET"],
    ];
    for (const [route, method] of routes) {
      for (const origin of [listedA, listedB]) {
        const res = await fetch(`${server.url}${route}`, {
          method: "OPTIONS",
          headers: {
            Origin: origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,authorization",
          },
        });
        const h = (name) => res.headers.get(name);
        const where = `OPTIONS ${route} from ${origin} (${res.status})`;
        assert.ok(res.status >= 200 && res.status < 300, `${where}: status`);
        assert.equal(h("access-control-allow-origin"), origin, `${where}: Allow-Origin`);
        assert.equal(h("access-control-allow-credentials"), "true", `${where}: Allow-Credentials`);
        const methods = (h("access-control-allow-methods") ?? "").toUpperCase();
        for (const m of ["POST", "GET", "DELETE"]) assert.ok(methods.includes(m), `${where}: Allow-Methods ${methods}`);
        const allowed = (h("access-control-allow-headers") ?? "").toLowerCase();
        for (const hd of ["content-type", "authorization"]) assert.ok(allowed.includes(hd), `${where}: Allow-Headers ${allowed}`);
        assert.match(h("vary") ?? "", /origin/i, `${where}: Vary`);
      }
      const res = await fetch(`${server.url}${route}`, {
        method: "OPTIONS",
        headers: { Origin: "http://localhost:41003", "Access-Control-Request-Method": method },
      });
      assert.equal(res.headers.get("access-control-allow-origin"), null, `OPTIONS ${route} from an unlisted origin`);
      assert.equal(res.headers.get("access-control-allow-credentials"), null, `OPTIONS ${route} from an unlisted origin`);
    }
    // An actual (non-preflight) answer names the origin too.
    const res = await fetch(`${server.url}/health`, { headers: { Origin: listedB } });
    assert.equal(res.headers.get("access-control-allow-origin"), listedB);
    assert.match(res.headers.get("vary") ?? "", /origin/i);
  });
});

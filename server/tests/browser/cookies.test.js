// Scenario 2: page scripts never see a token, and the browser holds both cookies with the
// promised attributes (HttpOnly, Secure, SameSite=Strict, paths, lifetimes).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ACCESS_TTL, REFRESH_TTL, launchBrowser, newUser, openClientPage, stack, startServer, startSite, tokenCookies } from "./lib/harness.js";

function assertLifetime(cookie, ttl, loginAt, name) {
  // expires is the absolute time the browser computed from Max-Age at login.
  assert.ok(cookie.expires > 0, `${name} is a persistent cookie (Max-Age), not a session cookie`);
  const lifetime = cookie.expires - loginAt / 1000;
  assert.ok(Math.abs(lifetime - ttl) <= 3, `${name} lives ${lifetime.toFixed(1)} s, expected about ${ttl} s`);
}

async function loginScenario(browser, t, { basePath = "" } = {}) {
  const s = stack();
  t.after(() => s.stop());
  const site = s.add(await startSite());
  const server = s.add(await startServer({ origins: [site.origin], basePath }));
  const { context, page } = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: server.url });
  s.add(() => context.close());
  const user = newUser("jar");
  await page.evaluate((user) => window.rotor.register(user), user);
  const loginAt = Date.now();
  await page.evaluate((user) => window.rotor.login({ username: user.username, password: user.password }), user);
  return { s, site, server, context, page, user, loginAt };
}

describe("the tokens stay out of page scripts", { timeout: 90_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("after login, no page script can read a token and the cookies carry every promised attribute", { timeout: 60_000 }, async (t) => {
    const { server, context, page, loginAt } = await loginScenario(browser, t);

    assert.equal(await page.evaluate(() => document.cookie), "", "document.cookie on the front-end origin");
    const apiTab = await context.newPage();
    await apiTab.goto(`${server.url}/health`);
    assert.equal(await apiTab.evaluate(() => document.cookie), "", "document.cookie on the API origin");

    const { access, refresh, all } = await tokenCookies(context);
    assert.ok(access, `accessToken in the jar: ${JSON.stringify(all)}`);
    assert.ok(refresh, `refreshToken in the jar: ${JSON.stringify(all)}`);
    for (const c of [access, refresh]) {
      assert.equal(c.domain, "localhost", `${c.name} is a host-only cookie of the API host`);
      assert.equal(c.httpOnly, true, `${c.name} HttpOnly`);
      assert.equal(c.secure, true, `${c.name} Secure`);
      assert.equal(c.sameSite, "Strict", `${c.name} SameSite`);
    }
    assert.equal(access.path, "/", "accessToken Path");
    assert.equal(refresh.path, "/", "refreshToken Path is the base path (/ by default)");
    assertLifetime(access, ACCESS_TTL, loginAt, "accessToken");
    assertLifetime(refresh, REFRESH_TTL, loginAt, "refreshToken");
  });

  test("mounted under /api/v1/users, the refresh cookie follows the base path and the helper works there", { timeout: 60_000 }, async (t) => {
    const { server, context, page, user } = await loginScenario(browser, t, { basePath: "/api/v1/users" });
    const { access, refresh, all } = await tokenCookies(context);
    assert.ok(access && refresh, `both cookies: ${JSON.stringify(all)}`);
    assert.equal(access.path, "/", "accessToken Path");
    assert.equal(refresh.path, "/api/v1/users", "refreshToken Path follows ROCKET_BASE_PATH");
    const me = await page.evaluate(async () => {
      const r = await window.rotor.fetch("me");
      return { status: r.status, body: await r.json() };
    });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.data.username, user.username);
    assert.match(server.url, /\/api\/v1\/users$/);
  });
});

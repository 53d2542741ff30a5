// Scenario 4: a person who comes back after the access token expired and clicks "log out" is
// logged out: the cookies are gone from the browser and the session is over on the server.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ACCESS_TTL, api, launchBrowser, newUser, openClientPage, sleep, stack, startServer, startSite, tokenCookies } from "./lib/harness.js";

describe("logging out", { timeout: 90_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("logout after idle ends the session", { timeout: 60_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const site = s.add(await startSite());
    const server = s.add(await startServer({ origins: [site.origin] }));
    const { context, page } = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: server.url });
    s.add(() => context.close());
    const user = newUser("idle");
    await page.evaluate(async (user) => {
      await window.rotor.register(user);
      await window.rotor.login({ email: user.email, password: user.password });
    }, user);
    const before = await tokenCookies(context);
    assert.ok(before.access && before.refresh, "logged in");

    await sleep(ACCESS_TTL * 1000 + 1500);
    const idle = await tokenCookies(context);
    assert.equal(idle.access, undefined, "the browser dropped the expired access cookie");
    assert.ok(idle.refresh, "the refresh cookie is still there");

    const apiRequests = [];
    page.on("request", (r) => {
      if (r.url().startsWith(server.origin) && r.method() !== "OPTIONS") apiRequests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    const logoutStatus = [];
    page.on("response", (r) => {
      if (r.url() === `${server.url}/logout`) logoutStatus.push(r.status());
    });
    const outcome = await page.evaluate(async () => {
      try {
        await window.rotor.logout();
        return { ok: true };
      } catch (err) {
        return { ok: false, error: `${err.name}: ${err.message} (${err.status})` };
      }
    });
    assert.deepEqual(outcome, { ok: true });
    // The refresh cookie reaches /logout, so the first call does it: no refresh on the way.
    assert.deepEqual(apiRequests, ["POST /logout"], `requests of the logout: ${apiRequests.join(", ")}`);
    assert.deepEqual(logoutStatus, [200]);

    const gone = await tokenCookies(context);
    assert.equal(gone.access, undefined, `no accessToken left: ${JSON.stringify(gone.all)}`);
    assert.equal(gone.refresh, undefined, `no refreshToken left: ${JSON.stringify(gone.all)}`);

    const refresh = await page.evaluate(async (api) => {
      const r = await fetch(`${api}/refresh-token`, { method: "POST", credentials: "include" });
      return { status: r.status, body: await r.json() };
    }, server.url);
    assert.equal(refresh.status, 401, JSON.stringify(refresh.body));
    assert.equal(refresh.body.success, false);

    // And the old refresh token itself is dead on the server, not only forgotten by the browser.
    const replay = await fetch(`${server.url}/refresh-token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: before.refresh.value }),
    });
    assert.equal(replay.status, 401, "the logged-out session's refresh token still works");
  });
  test("logging out after the session was ended elsewhere still leaves no cookie behind", { timeout: 60_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const site = s.add(await startSite());
    const server = s.add(await startServer({ origins: [site.origin] }));
    const { context, page } = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: server.url });
    s.add(() => context.close());
    const user = newUser("elsewhere");
    await page.evaluate(async (user) => {
      await window.rotor.register(user);
      await window.rotor.login({ email: user.email, password: user.password });
    }, user);
    const { refresh } = await tokenCookies(context);
    const ended = await api(server, "logout-all", { body: { refreshToken: refresh.value } });
    assert.equal(ended.status, 200, ended.text);
    const out = await page.evaluate(() => window.rotor.logout().then(() => "ok", (e) => `${e.name}: ${e.message}`));
    assert.equal(out, "ok");
    const gone = await tokenCookies(context);
    assert.equal(gone.access, undefined, JSON.stringify(gone.all));
    assert.equal(gone.refresh, undefined, JSON.stringify(gone.all));
  });

  for (const basePath of ["", "/api/v1/users"]) {
    test(`logout always answers with removal cookies matching the cookies set${basePath ? ` (base path ${basePath})` : ""}`, { timeout: 30_000 }, async (t) => {
      const s = stack();
      t.after(() => s.stop());
      const server = s.add(await startServer({ basePath }));
      const expectPath = { accessToken: "/", refreshToken: basePath || "/" };
      const parse = (line) => {
        const [pair, ...attrs] = line.split(";").map((x) => x.trim());
        const [name, ...v] = pair.split("=");
        const a = {};
        for (const at of attrs) {
          const [k, ...val] = at.split("=");
          a[k.toLowerCase()] = val.length ? val.join("=") : true;
        }
        return { name, value: v.join("="), a };
      };
      const check = (res, what, removal) => {
        const set = res.headers.getSetCookie().map(parse);
        for (const name of ["accessToken", "refreshToken"]) {
          const c = set.find((x) => x.name === name);
          assert.ok(c, `${what}: Set-Cookie for ${name}: ${JSON.stringify(res.headers.getSetCookie())}`);
          assert.equal(c.a.path, expectPath[name], `${what}: ${name} Path`);
          assert.equal(c.a.httponly, true, `${what}: ${name} HttpOnly`);
          assert.equal(c.a.secure, true, `${what}: ${name} Secure`);
          assert.equal(String(c.a.samesite).toLowerCase(), "strict", `${what}: ${name} SameSite`);
          assert.equal(c.a.domain, undefined, `${what}: ${name} has no Domain`);
          if (removal) {
            assert.equal(c.value, "", `${what}: ${name} emptied`);
            assert.ok(c.a["max-age"] === "0" || (c.a.expires && Date.parse(c.a.expires) < Date.now()), `${what}: ${name} expired`);
          }
        }
      };
      const user = newUser("removal");
      assert.equal((await api(server, "register", { body: user })).status, 201);
      const login = await api(server, "login", { body: { email: user.email, password: user.password } });
      check(login, "login", false);
      const out = await api(server, "logout", { headers: { Authorization: `Bearer ${login.json.data.accessToken}` } });
      assert.equal(out.status, 200, out.text);
      check(out, "logout", true);
      // No token at all: nothing to end, but the browser's cookies (if any) still get removed.
      const bare = await api(server, "logout", {});
      check(bare, `logout without a token (${bare.status})`, true);
      const again = await api(server, "logout-all", { body: { refreshToken: login.json.data.refreshToken } });
      check(again, `logout-all with an ended session's token (${again.status})`, true);
    });
  }
});

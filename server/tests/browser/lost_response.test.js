// Scenario 6: the answer to a refresh never reaches the page (the network dropped it after the
// server committed). The page refreshes again later with the same, old cookie, and stays signed
// in. And, at HTTP level, such late replays are bounded: a stolen token used in alternation with
// the real user's gets the session revoked within a few rotations.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { GRACE, api, launchBrowser, newUser, openClientPage, sleep, stack, startProxy, startServer, startSite, tokenCookies } from "./lib/harness.js";

const refreshWith = (server, token) => api(server, "refresh-token", { body: { refreshToken: token } });

describe("a refresh answer lost on the way", { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("a page whose refresh answer was lost stays signed in when it refreshes again later", { timeout: 60_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const site = s.add(await startSite());
    const server = s.add(await startServer({ origins: [site.origin] }));
    const proxy = s.add(
      await startProxy({
        target: server.origin,
        decide: (req, n) => (req.method === "POST" && req.url === "/refresh-token" && n === 1 ? "drop" : "forward"),
      }),
    );
    // The page talks to the API through the proxy (another port of localhost: same cookies).
    const { context, page } = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: proxy.origin });
    s.add(() => context.close());
    const user = newUser("lost");
    await page.evaluate(async (user) => {
      await window.rotor.register(user);
      await window.rotor.login({ email: user.email, password: user.password });
    }, user);
    const held = await tokenCookies(context);
    assert.ok(held.refresh, "logged in");

    const first = await page.evaluate(async (api) => {
      try {
        const r = await fetch(`${api}/refresh-token`, { method: "POST", credentials: "include" });
        return { status: r.status };
      } catch (err) {
        return { error: String(err) };
      }
    }, proxy.origin);
    assert.match(first.error ?? "", /TypeError|Failed to fetch/, `the first refresh's answer was lost: ${JSON.stringify(first)}`);
    const dropped = proxy.seen.filter((e) => e.action === "drop");
    assert.equal(dropped.length, 1, "the proxy dropped one answer");
    assert.equal(dropped[0].status, 200, `the server had answered the lost refresh with 200: ${dropped[0].droppedBody}`);
    assert.equal((await tokenCookies(context)).refresh.value, held.refresh.value, "the browser still holds the old refresh cookie");

    await sleep(GRACE * 1000 + 1200);
    const second = await page.evaluate(async (api) => {
      const r = await fetch(`${api}/refresh-token`, { method: "POST", credentials: "include" });
      return { status: r.status, body: await r.json() };
    }, proxy.origin);
    const refreshes = proxy.seen.filter((e) => e.method === "POST" && e.path === "/refresh-token");
    assert.equal(refreshes.length, 2, "no silent re-send by the browser in between");
    assert.ok(refreshes[1].at - refreshes[0].at > GRACE * 1000, "the second refresh came after the grace window");
    assert.equal(second.status, 200, `the late refresh with the old cookie: ${JSON.stringify(second.body)}`);
    const lostPair = JSON.parse(dropped[0].droppedBody).data;
    assert.equal(second.body.data.refreshToken, lostPair.refreshToken, "the late refresh got the pair whose answer was lost");

    const me = await page.evaluate(async () => {
      const r = await window.rotor.fetch("/me");
      return { status: r.status, body: await r.json(), signedOut: window.signedOutEvents };
    });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.data.username, user.username);
    assert.deepEqual(me.signedOut, []);
    // The chain goes on from there.
    const third = await page.evaluate(async (api) => (await fetch(`${api}/refresh-token`, { method: "POST", credentials: "include" })).status, proxy.origin);
    assert.equal(third, 200);
  });

  test("a stolen refresh token replayed in alternation with the user's gets the session revoked", { timeout: 30_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const server = s.add(await startServer());
    const user = newUser("alt");
    assert.equal((await api(server, "register", { body: user })).status, 201);
    const login = await api(server, "login", { body: { email: user.email, password: user.password } });
    assert.equal(login.status, 200);
    const r1 = login.json.data.refreshToken;

    const u1 = await refreshWith(server, r1); // the user: R1 -> R2
    assert.equal(u1.status, 200, u1.text);
    const r2 = u1.json.data.refreshToken;
    await sleep(GRACE * 1000 + 1200);

    const a1 = await refreshWith(server, r1); // the attacker, late: R1 again while R2 is unused
    assert.equal(a1.status, 200, `one late replay of R1 is taken for a lost answer: ${a1.text}`);
    assert.equal(a1.json.data.refreshToken, r2, "the late replay gets the same successor R2");

    const u2 = await refreshWith(server, r2); // the user: R2 -> R3
    assert.equal(u2.status, 200, u2.text);
    const r3 = u2.json.data.refreshToken;
    await sleep(GRACE * 1000 + 1200);

    const a2 = await refreshWith(server, r2); // the attacker, late again: a second late replay
    assert.equal(a2.status, 401, `a second late replay in one session is reuse: ${a2.text}`);
    const u3 = await refreshWith(server, r3);
    assert.equal(u3.status, 401, `the session is revoked, R3 is dead too: ${u3.text}`);
    const me = await api(server, "me", { method: "GET", headers: { Authorization: `Bearer ${u2.json.data.accessToken}` } });
    assert.equal(me.status, 401, "the revoked session's access token is refused too");
  });
  test("a refresh answer lost for longer than the retry window is not given again", { timeout: 30_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const server = s.add(await startServer({ env: { ROCKET_REFRESH_RETRY_WINDOW: "2" } }));
    const user = newUser("window");
    assert.equal((await api(server, "register", { body: user })).status, 201);
    const login = await api(server, "login", { body: { email: user.email, password: user.password } });
    const r1 = login.json.data.refreshToken;
    const lost = await refreshWith(server, r1); // committed, answer "lost"
    assert.equal(lost.status, 200, lost.text);
    await sleep(3500); // past grace (1 s) and past the retry window (2 s)
    const late = await refreshWith(server, r1);
    assert.equal(late.status, 401, `R1 after the retry window: ${late.text}`);
    const r2 = await refreshWith(server, lost.json.data.refreshToken);
    assert.equal(r2.status, 401, "presenting R1 that late is reuse: the session is revoked");
  });
});

// Scenario 3: two tabs of one browser come back after the access token expired and both make a
// call at the same moment: both refresh, nobody is signed out.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ACCESS_TTL, launchBrowser, newUser, openClientPage, sleep, stack, startServer, startSite, tokenCookies } from "./lib/harness.js";

async function twoTabs(browser, t, clientOptions) {
  const s = stack();
  t.after(() => s.stop());
  const site = s.add(await startSite());
  const server = s.add(await startServer({ origins: [site.origin] }));
  const one = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: server.url, clientOptions });
  s.add(() => one.context.close());
  const two = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: server.url, clientOptions, context: one.context });
  const user = newUser("tabs");
  await one.page.evaluate(async (user) => {
    await window.rotor.register(user);
    await window.rotor.login({ email: user.email, password: user.password });
  }, user);
  const refreshes = [];
  one.context.on("response", (r) => {
    if (r.url() === `${server.url}/refresh-token`) refreshes.push(r.status());
  });

  await sleep(ACCESS_TTL * 1000 + 1500);
  assert.equal((await tokenCookies(one.context)).access, undefined, "the access cookie expired");

  // Both tabs wait on one shared start signal so that their calls leave together.
  const startAt = Date.now() + 500;
  const call = (page) =>
    page.evaluate(async (startAt) => {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
      try {
        const r = await window.rotor.fetch("/me");
        return { status: r.status, body: await r.json() };
      } catch (err) {
        return { error: `${err.name}: ${err.message} signedOut=${err.signedOut}` };
      }
    }, startAt);
  const [a, b] = await Promise.all([call(one.page), call(two.page)]);
  for (const [name, r] of [["tab one", a], ["tab two", b]]) {
    assert.equal(r.status, 200, `${name}: ${JSON.stringify(r)}`);
    assert.equal(r.body.data.username, user.username, name);
  }
  assert.ok(refreshes.length >= 1 && refreshes.every((st) => st === 200), `refresh answers: ${refreshes}`);

  for (const [name, page] of [["tab one", one.page], ["tab two", two.page]]) {
    const again = await page.evaluate(async () => {
      const r = await fetch(`${window.rotor.baseUrl}/me`, { credentials: "include" });
      return { status: r.status, signedOut: window.signedOutEvents };
    });
    assert.equal(again.status, 200, `${name}: /me afterwards, with the browser's cookies alone`);
    assert.deepEqual(again.signedOut, [], `${name}: nobody was signed out`);
  }
  const jar = await tokenCookies(one.context);
  assert.ok(jar.access && jar.refresh, "both cookies are in the jar");
  return { refreshes };
}

describe("two tabs", { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("two tabs refreshing at the same moment both stay signed in", { timeout: 60_000 }, async (t) => {
    // No cross-tab lock (the default): both tabs present the same refresh token at once, and
    // the server's grace window answers both with the same successor.
    const { refreshes } = await twoTabs(browser, t, {});
    assert.equal(refreshes.length, 2, `each tab refreshed once: ${refreshes}`);
  });

  test("two tabs refreshing at the same moment stay signed in with the opt-in cross-tab lock", { timeout: 60_000 }, async (t) => {
    await twoTabs(browser, t, { crossTabLock: true });
  });
});

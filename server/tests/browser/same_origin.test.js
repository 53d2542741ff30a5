// The same-origin set-up (the front end and the API behind one origin, rotor-server mounted at
// /api/v1/users, no CORS configured): the page served by the API's own origin imports the helper
// from there and signs in, stays signed in past the access expiry, and logs out.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ACCESS_TTL, launchBrowser, newUser, sleep, stack, startServer, tokenCookies } from "./lib/harness.js";

describe("a front end on the API's own origin", { timeout: 90_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("a page on the API's own origin signs in with no CORS configured, stays signed in, and logs out", { timeout: 60_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const base = "/api/v1/users";
    const server = s.add(await startServer({ basePath: base }));
    const context = await browser.newContext();
    s.add(() => context.close());
    const page = await context.newPage();
    await page.goto(`${server.url}/health`);
    const user = newUser("same");
    const first = await page.evaluate(
      async ({ base, user }) => {
        const { createClient } = await import(`${base}/rotor.js`);
        window.rotor = createClient({ baseUrl: base });
        window.signedOutEvents = [];
        window.rotor.onSignedOut(() => window.signedOutEvents.push(1));
        await window.rotor.register(user);
        const me = await window.rotor.login({ username: user.username, password: user.password });
        return { me, cookie: document.cookie };
      },
      { base, user },
    );
    assert.equal(first.me.username, user.username);
    assert.equal(first.cookie, "", "no token visible to the page");
    const jar = await tokenCookies(context);
    assert.equal(jar.refresh?.path, base);
    assert.equal(jar.access?.path, "/");

    await sleep(ACCESS_TTL * 1000 + 1500);
    const me = await page.evaluate(async () => {
      const r = await window.rotor.fetch("me");
      return { status: r.status, body: await r.json(), out: window.signedOutEvents.length };
    });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.data.username, user.username);
    assert.equal(me.out, 0);

    await page.evaluate(() => window.rotor.logout());
    const gone = await tokenCookies(context);
    assert.equal(gone.access, undefined, JSON.stringify(gone.all));
    assert.equal(gone.refresh, undefined, JSON.stringify(gone.all));
    const after = await page.evaluate(async () => (await fetch("me")).status);
    assert.equal(after, 401);
  });
});

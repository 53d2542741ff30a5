// A person (or a script) who tries too many passwords is told to wait (429), which the helper
// reports as retryable, never as a sign-out; the browser's existing session is untouched.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { launchBrowser, newUser, openClientPage, stack, startServer, startSite, tokenCookies } from "./lib/harness.js";

describe("too many login attempts", { timeout: 90_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("too many wrong passwords are answered with wait, and the person already signed in stays signed in", { timeout: 60_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const site = s.add(await startSite());
    const server = s.add(
      await startServer({ origins: [site.origin], env: { ROCKET_RATE_LOGIN_PER_ACCOUNT: "3", ACCESS_TOKEN_EXPIRY: "120" } }),
    );
    const { context, page } = await openClientPage(browser, {
      pageUrl: `${site.origin}/`,
      baseUrl: server.url,
      clientOptions: { retry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 200, maxTotalWaitMs: 500 } },
    });
    s.add(() => context.close());
    const me = newUser("me");
    const target = newUser("target");
    await page.evaluate(async ({ me, target }) => {
      await window.rotor.register(target);
      await window.rotor.register(me);
      await window.rotor.login({ email: me.email, password: me.password });
    }, { me, target });
    const held = await tokenCookies(context);

    const tries = await page.evaluate(async (email) => {
      const out = [];
      for (let i = 0; i < 5; i += 1) {
        try {
          await window.rotor.login({ email, password: `wrong ${i}` });
          out.push("ok");
        } catch (err) {
          out.push({ status: err.status, retryable: err.retryable, signedOut: err.signedOut });
        }
      }
      return { out, signedOut: window.signedOutEvents.length };
    }, target.email);
    const wrong = { status: 401, retryable: false, signedOut: false };
    const wait = { status: 429, retryable: true, signedOut: false };
    assert.deepEqual(tries.out.slice(0, 3), [wrong, wrong, wrong], JSON.stringify(tries.out));
    assert.deepEqual(tries.out.slice(3), [wait, wait], `over the limit the page reads a 429: ${JSON.stringify(tries.out)}`);
    assert.equal(tries.signedOut, 0);

    const jar = await tokenCookies(context);
    assert.equal(jar.refresh?.value, held.refresh.value, "the signed-in session is untouched");
    const who = await page.evaluate(async () => (await (await window.rotor.fetch("/me")).json()).data?.username);
    assert.equal(who, me.username);
  });
});

// The server's own 503 (its SQLite database locked by another writer), met by the helper in a
// page: a refresh during the outage waits and succeeds; a logout during it keeps the person
// signed in (the session could not be ended) and works once the database is back.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ACCESS_TTL, launchBrowser, lockDatabase, newUser, openClientPage, sleep, stack, startServer, startSite, tokenCookies, within } from "./lib/harness.js";

const patient = { attempts: 10, baseDelayMs: 300, maxDelayMs: 1000, maxTotalWaitMs: 15_000 };

async function setUp(browser, t) {
  const s = stack();
  t.after(() => s.stop());
  const site = s.add(await startSite());
  const server = s.add(
    await startServer({ origins: [site.origin], db: "busy_timeout_ms=200,connect_timeout=2", env: { ROCKET_RETRY_AFTER: "1" } }),
  );
  const { context, page } = await openClientPage(browser, {
    pageUrl: `${site.origin}/`,
    baseUrl: server.url,
    helperUrl: process.env.ROTOR_HELPER_SOURCE === "tree" ? `${site.origin}/rotor.js` : `${server.url}/rotor.js`,
    clientOptions: { retry: patient },
  });
  s.add(() => context.close());
  const user = newUser("outage");
  await page.evaluate(async (user) => {
    await window.rotor.register(user);
    await window.rotor.login({ email: user.email, password: user.password });
  }, user);
  const answers = [];
  context.on("response", (r) => {
    const u = new URL(r.url());
    if (u.origin === server.origin && r.request().method() === "POST") answers.push({ path: u.pathname, status: r.status(), at: Date.now() });
  });
  return { s, site, server, context, page, user, answers };
}

/** Waits until `n` answers with `status` for `path` were seen. */
async function seen(answers, path, status, n) {
  await within(
    15_000,
    `${n} × ${status} from ${path}`,
    (async () => {
      while (answers.filter((a) => a.path === path && a.status === status).length < n) await sleep(50);
    })(),
  );
}

describe("the database is briefly unavailable", { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("a refresh while the database is locked waits it out and the person stays signed in", { timeout: 60_000 }, async (t) => {
    const { s, server, context, page, user, answers } = await setUp(browser, t);
    await sleep(ACCESS_TTL * 1000 + 1500);
    const lock = s.add(await lockDatabase(server));

    // What a page script can see of the server's 503 (CORS headers on error answers too).
    const raw = await page.evaluate(async (api) => {
      const r = await fetch(`${api}/refresh-token`, { method: "POST", credentials: "include" });
      return { status: r.status, retryAfter: r.headers.get("Retry-After"), body: await r.json() };
    }, server.url);
    assert.equal(raw.status, 503, `a locked database: ${JSON.stringify(raw)}`);
    assert.equal(raw.body.statusCode, 503);
    t.diagnostic(`Retry-After readable by the page: ${raw.retryAfter === null ? "no (not in Access-Control-Expose-Headers)" : raw.retryAfter}`);

    const call = page.evaluate(async () => {
      try {
        const r = await window.rotor.fetch("/me");
        return { status: r.status, body: await r.json(), signedOut: window.signedOutEvents };
      } catch (err) {
        return { error: `${err.name}: ${err.message} status=${err.status} retryable=${err.retryable} signedOut=${err.signedOut}` };
      }
    });
    await seen(answers, "/refresh-token", 503, 3); // the raw one and two of the helper's
    const jar = await tokenCookies(context);
    assert.ok(jar.refresh, "the refresh cookie survives the 503s");
    await lock.release();
    const r = await call;
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.body.data.username, user.username);
    assert.deepEqual(r.signedOut, []);
    const after = await tokenCookies(context);
    assert.ok(after.access && after.refresh, "signed in, both cookies");
  });

  test("logout while the database is locked keeps the person signed in, and works once it is back", { timeout: 60_000 }, async (t) => {
    const { s, server, context, page, answers } = await setUp(browser, t);
    const held = await tokenCookies(context);
    const lock = s.add(await lockDatabase(server));
    const out = await page.evaluate(async () => {
      try {
        await window.rotor.logout();
        return { ok: true };
      } catch (err) {
        return { retryable: err.retryable, signedOut: err.signedOut, status: err.status };
      }
    });
    assert.deepEqual(out, { retryable: true, signedOut: false, status: 503 }, "a logout the server could not do is a retryable error");
    assert.ok(answers.filter((a) => a.path === "/logout" && a.status === 503).length >= 2, "the helper retried");
    const jar = await tokenCookies(context);
    // (The access cookie may have run out meanwhile: it lives 3 s. The refresh cookie is the session.)
    assert.equal(jar.refresh?.value, held.refresh.value, "no cookie was removed for a session that still lives");

    await lock.release();
    assert.deepEqual(await page.evaluate(() => window.rotor.logout().then(() => "ok")), "ok");
    const gone = await tokenCookies(context);
    assert.equal(gone.access, undefined);
    assert.equal(gone.refresh, undefined);
    const replay = await fetch(`${server.url}/refresh-token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: held.refresh.value }),
    });
    assert.equal(replay.status, 401, "the session is over on the server");
  });
});

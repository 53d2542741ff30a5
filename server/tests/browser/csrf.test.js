// Scenario 5: a page on another site (http://127.0.0.1:C) tries to plant the attacker's session in
// the victim's browser (login CSRF, by form or by no-cors fetch): the API refuses with 403 and
// the victim's browser keeps the victim's session.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { api, launchBrowser, newUser, openClientPage, stack, startServer, startSite, tokenCookies } from "./lib/harness.js";

const esc = (v) => String(v).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

function formPage(action, fields) {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join("");
  return `<!doctype html><title>win a prize</title>
<form id="f" method="post" action="${esc(action)}">${inputs}</form>
<script>document.getElementById("f").submit();</script>`;
}

async function setUp(browser, t) {
  const s = stack();
  t.after(() => s.stop());
  const front = s.add(await startSite());
  // The attacker's pages are filled in below, once the API's port is known.
  const pages = {};
  const evil = s.add(await startSite({ host: "127.0.0.1", pages }));
  // Expiry is not what this tests: a long access lifetime keeps the victim's cookies comparable.
  const server = s.add(await startServer({ origins: [front.origin], env: { ACCESS_TOKEN_EXPIRY: "120" } }));

  const attacker = newUser("mallory");
  assert.equal((await api(server, "register", { body: attacker })).status, 201);
  const attackerLogin = await api(server, "login", { body: { email: attacker.email, password: attacker.password } });
  assert.equal(attackerLogin.status, 200);
  const attackerTokens = attackerLogin.json.data;

  const victim = newUser("alice");
  const { context, page } = await openClientPage(browser, { pageUrl: `${front.origin}/`, baseUrl: server.url });
  s.add(() => context.close());
  await page.evaluate(async (user) => {
    await window.rotor.register(user);
    await window.rotor.login({ email: user.email, password: user.password });
  }, victim);
  const held = await tokenCookies(context);
  assert.ok(held.access && held.refresh, "the victim is logged in");

  pages["/refresh-form"] = formPage(`${server.url}/refresh-token`, { refreshToken: attackerTokens.refreshToken });
  pages["/login-form"] = formPage(`${server.url}/login`, { email: attacker.email, password: attacker.password });
  pages["/"] = "<!doctype html><title>nothing to see</title>";
  return { s, server, evil, context, page, victim, attacker, attackerTokens, held };
}

/** The `sub` claim of a token, read without verifying (the test only compares two of them). */
const subOf = (token) => (token ? JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sub : null);

/** What the victim's browser holds now: the same cookies, and /me shows the victim. */
async function assertVictimUntouched({ context, page, server, victim, attacker, attackerTokens, held }) {
  const jar = await tokenCookies(context);
  const attackerSub = subOf(attackerTokens.refreshToken);
  for (const c of [jar.access, jar.refresh].filter(Boolean)) {
    assert.notEqual(subOf(c.value), attackerSub, `the victim's browser now holds the attacker's ${c.name} (sub of the attacker's account: login CSRF)`);
  }
  for (const c of jar.all) {
    assert.notEqual(c.value, attackerTokens.refreshToken, `the attacker's refresh token is in the victim's jar (${c.name})`);
    assert.notEqual(c.value, attackerTokens.accessToken, `the attacker's access token is in the victim's jar (${c.name})`);
  }
  assert.equal(jar.refresh?.value, held.refresh.value, "the victim's refresh cookie is unchanged");
  assert.equal(jar.access?.value, held.access.value, "the victim's access cookie is unchanged");
  const me = await page.evaluate(async () => {
    const r = await window.rotor.fetch("/me");
    return { status: r.status, body: await r.json() };
  });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.equal(me.body.data.username, victim.username, "/me from the victim's page shows the victim");
  assert.notEqual(me.body.data.username, attacker.username);
}

/** Server-side: the attacker still has exactly the one session the test started. */
async function assertAttackerHasOneSession(server, attackerTokens) {
  const res = await api(server, "logout-all", { headers: { Authorization: `Bearer ${attackerTokens.accessToken}` } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.sessionsEnded, 1, "a cross-site login created a session for the attacker");
}

describe("a page on another site", { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("a cross-site form cannot sign the victim into the attacker's account", { timeout: 60_000 }, async (t) => {
    const ctx = await setUp(browser, t);
    const tab = await ctx.context.newPage();
    const answers = [];
    for (const [form, route] of [
      ["/refresh-form", "/refresh-token"],
      ["/login-form", "/login"],
    ]) {
      const answer = tab.waitForResponse((r) => r.url() === `${ctx.server.url}${route}` && r.request().method() === "POST", {
        timeout: 15_000,
      });
      await tab.goto(`${ctx.evil.origin}${form}`);
      const res = await answer;
      // allHeaders(): the headers as sent, with those the network stack adds (Sec-Fetch-*).
      const sent = await res.request().allHeaders();
      answers.push({ route, res, sent, text: await res.text().catch(() => "") });
    }
    // What the person would notice first: whose account the browser is signed into.
    await assertVictimUntouched(ctx);
    await assertAttackerHasOneSession(ctx.server, ctx.attackerTokens);
    for (const { route, res, sent, text } of answers) {
      assert.equal(sent["sec-fetch-site"], "cross-site", `${route}: the browser said where the form came from`);
      assert.equal(sent.origin, `${ctx.evil.origin}`, `${route}: Origin of the form post`);
      assert.equal(res.status(), 403, `${route} from a cross-site form: ${text.slice(0, 200)}`);
      const body = JSON.parse(text);
      assert.equal(body.statusCode, 403, "a 403 in the envelope");
      assert.equal(body.success, false);
    }
  });

  test("a cross-site no-cors fetch cannot sign the victim into the attacker's account", { timeout: 60_000 }, async (t) => {
    const ctx = await setUp(browser, t);
    const tab = await ctx.context.newPage();
    await tab.goto(`${ctx.evil.origin}/`);
    const statuses = {};
    const calls = [
      ["/login", { email: ctx.attacker.email, password: ctx.attacker.password }],
      ["/refresh-token", { refreshToken: ctx.attackerTokens.refreshToken }],
    ];
    for (const [route, body] of calls) {
      const answer = tab.waitForResponse((r) => r.url() === `${ctx.server.url}${route}`, { timeout: 15_000 });
      const type = await tab.evaluate(
        async ({ url, body }) => {
          const r = await fetch(url, { method: "POST", mode: "no-cors", credentials: "include", body: JSON.stringify(body) });
          return r.type;
        },
        { url: `${ctx.server.url}${route}`, body },
      );
      assert.equal(type, "opaque");
      statuses[route] = (await answer).status();
    }
    await assertVictimUntouched(ctx);
    await assertAttackerHasOneSession(ctx.server, ctx.attackerTokens);
    assert.deepEqual(statuses, { "/login": 403, "/refresh-token": 403 }, "cross-site no-cors fetches");
  });

  test("requests without browser headers (curl) still work", { timeout: 30_000 }, async (t) => {
    const s = stack();
    t.after(() => s.stop());
    const server = s.add(await startServer({ origins: ["http://localhost:41010"] }));
    const user = newUser("curl");
    assert.equal((await api(server, "register", { body: user })).status, 201);
    const login = await api(server, "login", { body: { username: user.username, password: user.password } });
    assert.equal(login.status, 200, login.text);
    const refreshed = await api(server, "refresh-token", { body: { refreshToken: login.json.data.refreshToken } });
    assert.equal(refreshed.status, 200, refreshed.text);
    const listed = await api(server, "logout", {
      headers: { Origin: "http://localhost:41010", Authorization: `Bearer ${refreshed.json.data.accessToken}` },
    });
    assert.equal(listed.status, 200, `an allow-listed Origin: ${listed.text}`);
    const foreign = await api(server, "login", {
      body: { username: user.username, password: user.password },
      headers: { Origin: "http://evil.example" },
    });
    assert.equal(foreign.status, 403, `a foreign Origin: ${foreign.text}`);
    assert.equal(foreign.json?.statusCode, 403);
    const crossSite = await api(server, "login", {
      body: { username: user.username, password: user.password },
      headers: { "Sec-Fetch-Site": "cross-site" },
    });
    assert.equal(crossSite.status, 403, `Sec-Fetch-Site: cross-site: ${crossSite.text}`);
  });
});

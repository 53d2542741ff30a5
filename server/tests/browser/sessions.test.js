// The session centre from a front end on another origin: a person signed in on two devices
// (two browser contexts) sees both sessions, ends the other one, and that device is signed out;
// a page on another site cannot end sessions.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { launchBrowser, newUser, openClientPage, stack, startServer, startSite, tokenCookies } from "./lib/harness.js";

async function twoDevices(browser, t) {
  const s = stack();
  t.after(() => s.stop());
  const site = s.add(await startSite());
  const server = s.add(await startServer({ origins: [site.origin] }));
  const laptop = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: server.url });
  s.add(() => laptop.context.close());
  const phone = await openClientPage(browser, { pageUrl: `${site.origin}/`, baseUrl: server.url });
  s.add(() => phone.context.close());
  const user = newUser("devices");
  await laptop.page.evaluate((user) => window.rotor.register(user), user);
  for (const device of [laptop, phone]) {
    await device.page.evaluate((user) => window.rotor.login({ email: user.email, password: user.password }), user);
  }
  return { s, site, server, laptop, phone, user };
}

const json = async (page, path, init) =>
  page.evaluate(
    async ({ path, init }) => {
      try {
        const r = await window.rotor.fetch(path, init);
        return { status: r.status, body: await r.json() };
      } catch (err) {
        return { error: { signedOut: err.signedOut, status: err.status } };
      }
    },
    { path, init },
  );

describe("signed in on two devices", { timeout: 120_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("ending the other device's session from the session list signs that device out", { timeout: 60_000 }, async (t) => {
    const { laptop, phone } = await twoDevices(browser, t);
    const list = await json(laptop.page, "/sessions");
    assert.equal(list.status, 200, JSON.stringify(list));
    assert.equal(list.body.data.length, 2, JSON.stringify(list.body.data));
    const mine = list.body.data.filter((x) => x.current);
    assert.equal(mine.length, 1, "exactly one session is the laptop's own");
    const other = list.body.data.find((x) => !x.current);
    assert.match(other.login.userAgent ?? "", /HeadlessChrome|Chrome/, "the list says which browser the other session is");

    const ended = await json(laptop.page, `/sessions/${other.id}`, { method: "DELETE" });
    assert.equal(ended.status, 200, `a cross-origin DELETE with credentials (preflighted): ${JSON.stringify(ended)}`);

    const phoneMe = await json(phone.page, "/me");
    assert.deepEqual(phoneMe, { error: { signedOut: true, status: 401 } }, "the phone is signed out");
    assert.equal(await phone.page.evaluate(() => window.signedOutEvents.length), 1);
    const laptopMe = await json(laptop.page, "/me");
    assert.equal(laptopMe.status, 200, "the laptop is still signed in");
    const again = await json(laptop.page, "/sessions");
    assert.equal(again.body.data.length, 1);
  });

  test("signing out the other devices keeps this one signed in", { timeout: 60_000 }, async (t) => {
    const { laptop, phone } = await twoDevices(browser, t);
    const out = await json(laptop.page, "/logout-others", { method: "POST" });
    assert.equal(out.status, 200, JSON.stringify(out));
    assert.equal(out.body.data.sessionsEnded, 1);
    assert.deepEqual(await json(phone.page, "/me"), { error: { signedOut: true, status: 401 } });
    assert.equal((await json(laptop.page, "/me")).status, 200);
    const jar = await tokenCookies(laptop.context);
    assert.ok(jar.access && jar.refresh, "the laptop keeps its cookies");
  });

  test("a page on another site cannot end the person's sessions", { timeout: 60_000 }, async (t) => {
    const { s, server, laptop } = await twoDevices(browser, t);
    const evil = s.add(await startSite({ host: "127.0.0.1" }));
    const list = await json(laptop.page, "/sessions");
    const target = list.body.data[0].id;
    const tab = await laptop.context.newPage();
    await tab.goto(`${evil.origin}/`);
    const answers = [];
    tab.on("response", (r) => {
      if (new URL(r.url()).origin === server.origin) answers.push(`${r.request().method()} ${r.status()}`);
    });
    const tries = await tab.evaluate(
      async ({ api, target }) => {
        const out = {};
        for (const [name, url, init] of [
          ["delete", `${api}/sessions/${target}`, { method: "DELETE", credentials: "include" }],
          ["others", `${api}/logout-others`, { method: "POST", mode: "no-cors", credentials: "include" }],
          ["logout-all", `${api}/logout-all`, { method: "POST", mode: "no-cors", credentials: "include" }],
        ]) {
          try {
            const r = await fetch(url, init);
            out[name] = r.type;
          } catch (err) {
            out[name] = String(err);
          }
        }
        return out;
      },
      { api: server.url, target },
    );
    assert.match(tries.delete, /TypeError/, "the DELETE is stopped at the preflight");
    const after = await json(laptop.page, "/sessions");
    assert.equal(after.status, 200, JSON.stringify(after));
    assert.equal(after.body.data.length, 2, `both sessions still there; the attacker's requests got: ${answers.join(", ")}`);
  });
});

// Test support for the browser suite: the server under test, the pages' own little servers, the
// proxies that lose or refuse answers, and the browser. Loopback only; every process and socket
// started here is ended by `stop()` in the test's `after`, and anything left is killed on exit.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROTOR_JS = path.resolve(here, "../../../static/rotor.js");

/** Access-token lifetime the server gets, in seconds: expiry happens inside the test. */
export const ACCESS_TTL = 3;
/** Grace window the server gets, in seconds. */
export const GRACE = 1;
/** The server's default refresh lifetime (10 d), which the cookie's Max-Age must match. */
export const REFRESH_TTL = 10 * 24 * 3600;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function serverBin() {
  if (process.env.ROTOR_SERVER_BIN) return path.resolve(process.env.ROTOR_SERVER_BIN);
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(process.env.CARGO_TARGET_DIR)
    : path.resolve(here, "../../../../target");
  return path.join(target, "release", "rotor-server");
}

const children = new Set();
function killChildren() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      /* gone already */
    }
  }
}
process.on("exit", killChildren);
// A test run stopped from outside (timeout(1), Ctrl-C, the test runner) leaves no server behind.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killChildren();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal] ?? 0));
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves on listen; tolerant of a port taken in between (tries a few). */
async function listen(server) {
  for (let i = 0; ; i += 1) {
    const port = await freePort();
    try {
      await new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
          server.off("error", reject);
          resolve();
        });
      });
      return port;
    } catch (err) {
      if (err.code !== "EADDRINUSE" || i >= 5) throw err;
    }
  }
}

function trackSockets(server) {
  const sockets = new Set();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/**
 * Starts a fresh rotor-server on a free loopback port with a fresh SQLite file.
 * `origins`: the CORS allow-list; `env`: extra variables (e.g. ROCKET_BASE_PATH).
 */
export async function startServer({ origins = [], env = {}, basePath = "", db = "" } = {}) {
  const bin = serverBin();
  if (!existsSync(bin)) {
    throw new Error(
      `rotor-server binary not found at ${bin}: build it with \`cargo build --release -p rotor-server\` ` +
        "or point ROTOR_SERVER_BIN at it",
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), "rotor-browser-"));
  let log = "";
  for (let tries = 0; ; tries += 1) {
    const port = await freePort();
    const childEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? dir,
      ROCKET_PROFILE: "release",
      ROCKET_ADDRESS: "127.0.0.1",
      ROCKET_PORT: String(port),
      ROCKET_DATABASES: `{rotor={url="sqlite://${dir}/rotor.db?mode=rwc"${db ? `,${db}` : ""}}}`,
      ACCESS_TOKEN_SECRET: `access-${randomBytes(24).toString("hex")}`,
      REFRESH_TOKEN_SECRET: `refresh-${randomBytes(24).toString("hex")}`,
      ACCESS_TOKEN_EXPIRY: String(ACCESS_TTL),
      ROCKET_REFRESH_GRACE: String(GRACE),
      CORS_ORIGIN: origins.join(","),
      ROCKET_LOG_LEVEL: "normal",
      ROCKET_CLI_COLORS: "false",
      ...(basePath ? { ROCKET_BASE_PATH: basePath } : {}),
      ...env,
    };
    const child = spawn(bin, [], { cwd: dir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let exited = null;
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      children.delete(child);
    });
    const append = (chunk) => {
      log += chunk.toString();
      if (log.length > 400_000) log = log.slice(-200_000);
    };
    child.stdout.on("data", append);
    child.stderr.on("data", append);

    const origin = `http://localhost:${port}`;
    const url = `${origin}${basePath}`;
    const deadline = Date.now() + 20_000;
    let healthy = false;
    while (Date.now() < deadline && exited === null) {
      // /health is one of the mounted routes; a server that ignores ROCKET_BASE_PATH still has
      // it at the root, and then the scenario (not the start-up) is what fails.
      for (const probe of new Set([`${url}/health`, `${origin}/health`])) {
        try {
          const res = await fetch(probe, { signal: AbortSignal.timeout(1000) });
          if (res.status === 200) {
            healthy = true;
            break;
          }
        } catch {
          /* not up yet */
        }
      }
      if (healthy) break;
      await sleep(100);
    }
    const stop = async () => {
      if (exited === null) {
        child.kill("SIGTERM");
        const gone = new Promise((resolve) => child.once("exit", resolve));
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await gone;
        clearTimeout(timer);
      }
    };
    if (healthy && process.env.ROTOR_DEV_CORS_SHIM === "1") {
      // Development aid only, never the default: a proxy that adds the CORS answers the spec
      // promises, to exercise the browser scenarios against a server that lacks CORS.
      const listed = new Set(origins);
      const cors = (headers, req) => {
        const o = req.headers.origin;
        if (o && listed.has(o)) {
          headers["access-control-allow-origin"] = o;
          headers["access-control-allow-credentials"] = "true";
          headers.vary = "Origin";
        }
      };
      const shim = await startProxy({
        target: origin,
        rewrite: cors,
        decide: (req) => {
          if (req.method !== "OPTIONS") return "forward";
          const headers = {};
          cors(headers, req);
          if (headers["access-control-allow-origin"]) {
            headers["access-control-allow-methods"] = "GET, POST, DELETE, OPTIONS";
            headers["access-control-allow-headers"] = "Content-Type, Authorization";
          }
          return { status: 204, headers };
        },
      });
      return {
        port: shim.port,
        origin: shim.origin,
        url: `${shim.origin}${basePath}`,
        basePath,
        dir,
        logs: () => log,
        async stop() {
          await shim.stop();
          await stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (healthy) {
      return {
        port,
        origin,
        url,
        basePath,
        dir,
        logs: () => log,
        async stop() {
          await stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await stop();
    if (tries < 2 && /address already in use|Address in use/i.test(log)) continue;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`rotor-server did not become healthy on ${url}/health (exit ${JSON.stringify(exited)}):\n${log.slice(-4000)}`);
  }
}

/**
 * Takes SQLite's write lock on the server's database (`BEGIN EXCLUSIVE` in a child python3), so
 * that every write waits `busy_timeout_ms` and then answers 503. `release()` commits and ends it.
 */
export async function lockDatabase(server) {
  const script = [
    "import sqlite3, sys",
    `c = sqlite3.connect(${JSON.stringify(path.join(server.dir, "rotor.db"))}, isolation_level=None, timeout=10)`,
    "c.execute('BEGIN EXCLUSIVE')",
    "print('locked', flush=True)",
    "sys.stdin.read()",
    "c.execute('COMMIT')",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  let err = "";
  child.stderr.on("data", (c) => (err += c));
  const exited = new Promise((resolve) => child.once("exit", (code) => (children.delete(child), resolve(code))));
  await within(
    10_000,
    "taking the SQLite lock",
    new Promise((resolve, reject) => {
      child.stdout.on("data", (c) => String(c).includes("locked") && resolve());
      exited.then((code) => reject(new Error(`python3 lock holder exited ${code}: ${err}`)));
    }),
  );
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
    stop() {
      return this.release();
    },
  };
}

/**
 * A page server of our own on http://<host>:<port>: `/rotor.js` (the helper from the source tree)
 * and the given pages (path -> HTML string or function(req) -> HTML).
 */
export async function startSite({ host = "localhost", pages = {} } = {}) {
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, "http://x");
    if (pathname === "/rotor.js") {
      res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-store" });
      res.end(readFileSync(ROTOR_JS));
      return;
    }
    const page = pages[pathname] ?? (pathname === "/" ? "<!doctype html><title>rotor test page</title><p>ready</p>" : null);
    if (page === null) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
      return;
    }
    const body = typeof page === "function" ? page(req) : page;
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
    res.end(body);
  });
  const close = trackSockets(server);
  const port = await listen(server);
  return { port, origin: `http://${host}:${port}`, stop: close };
}

/**
 * An HTTP proxy of ours in front of the server, on http://localhost:<port>. Each request is
 * offered to `decide(req, n)` (n counts requests with the same method and path), which returns:
 *   "forward"       pass it on (the default),
 *   "drop"          pass it on, let the server answer in full, then close the browser's socket
 *                   without a byte of the answer (a lost response),
 *   { status, headers, body }  answer this instead, without the server seeing it.
 * Every answer carries `Connection: close` so that no socket is reused (Chromium silently
 * re-sends a request whose reused keep-alive socket closed, which would hide the lost answer).
 */
export async function startProxy({ target, decide = () => "forward", rewrite = () => {} }) {
  const targetUrl = new URL(target);
  const counts = new Map();
  const seen = [];
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, "http://x");
    const key = `${req.method} ${pathname}`;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    const entry = { method: req.method, path: pathname, n, at: Date.now(), action: "forward", status: null };
    seen.push(entry);
    const action = decide(req, n) ?? "forward";
    entry.action = typeof action === "string" ? action : "answer";
    if (typeof action === "object") {
      req.resume();
      entry.status = action.status;
      res.writeHead(action.status, { ...action.headers, Connection: "close" });
      res.end(action.body ?? "");
      return;
    }
    const headers = { ...req.headers, host: targetUrl.host };
    delete headers.connection;
    delete headers["keep-alive"];
    const upstream = http.request(
      { host: "127.0.0.1", port: targetUrl.port, method: req.method, path: req.url, headers },
      (up) => {
        const chunks = [];
        up.on("data", (c) => chunks.push(c));
        up.on("end", () => {
          entry.status = up.statusCode;
          if (action === "drop") {
            entry.droppedBody = Buffer.concat(chunks).toString();
            entry.droppedHeaders = up.headers;
            req.socket.destroy();
            return;
          }
          const out = { ...up.headers, connection: "close" };
          rewrite(out, req);
          delete out["keep-alive"];
          delete out["transfer-encoding"];
          const body = Buffer.concat(chunks);
          out["content-length"] = String(body.length);
          res.writeHead(up.statusCode, out);
          res.end(body);
        });
      },
    );
    upstream.on("error", () => req.socket.destroy());
    req.pipe(upstream);
  });
  const close = trackSockets(server);
  const port = await listen(server);
  return { port, origin: `http://localhost:${port}`, seen, stop: close };
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The system Chromium; never a downloaded browser. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 30_000,
  });
}

/** Calls every stopper, in reverse order, whatever fails. */
export function stack() {
  const stoppers = [];
  return {
    add(thing) {
      stoppers.push(typeof thing === "function" ? thing : () => thing.stop?.() ?? thing.close?.());
      return thing;
    },
    async stop() {
      const errors = [];
      for (const stop of stoppers.reverse()) {
        try {
          await Promise.race([stop(), sleep(10_000)]);
        } catch (err) {
          errors.push(err);
        }
      }
      stoppers.length = 0;
      if (errors.length) throw errors[0];
    },
  };
}

let userSeq = 0;
/** A fresh user's fields. */
export function newUser(prefix = "user") {
  userSeq += 1;
  const tag = `${prefix}${process.pid}x${userSeq}x${randomBytes(3).toString("hex")}`;
  return { username: tag, email: `${tag}@example.com`, password: `correct horse ${tag} battery` };
}

/** Direct HTTP to the server from Node (no browser): JSON in, envelope out. */
export async function api(server, route, { method = "POST", body, headers = {}, cookie } = {}) {
  const h = { ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (cookie) h.Cookie = cookie;
  const res = await fetch(`${server.url}/${route.replace(/^\//, "")}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** The token cookies of the context, by name. */
export async function tokenCookies(context) {
  const all = await context.cookies();
  return {
    all,
    access: all.find((c) => c.name === "accessToken"),
    refresh: all.find((c) => c.name === "refreshToken"),
  };
}

/**
 * A fresh context with a page open on `pageUrl` and the helper imported there as
 * `window.rotor` (client) and `window.RotorError`, from `helperUrl` (default: the page's own
 * /rotor.js). `window.signedOutEvents` collects onSignedOut calls.
 */
export async function openClientPage(browser, { pageUrl, baseUrl, helperUrl, clientOptions = {}, context }) {
  const ctx = context ?? (await browser.newContext());
  const page = await ctx.newPage();
  await page.goto(pageUrl);
  await page.evaluate(
    async ({ helperUrl, baseUrl, clientOptions }) => {
      const mod = await import(helperUrl ?? "/rotor.js");
      window.RotorError = mod.RotorError;
      window.rotor = mod.createClient({ baseUrl, ...clientOptions });
      window.signedOutEvents = [];
      window.rotor.onSignedOut((err) => window.signedOutEvents.push({ message: err.message, status: err.status }));
    },
    { helperUrl, baseUrl, clientOptions },
  );
  return { context: ctx, page };
}

/** Runs `fn` with a bound on its time. */
export async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Shared by the client scripts: arguments, a hard time bound, REST calls,
// users, and assertions. Nothing here speaks DDP: each script drives its
// client library (or, for the mobile flow, its own socket) unchanged.
'use strict';

const crypto = require('crypto');

/** Default bound of one script, overridable with CLIENT_TIMEOUT_MS. */
const DEFAULT_TIMEOUT_MS = 90_000;

/** Where the script is in its scenario, printed on failure. */
let currentStep = 'start';
const started = Date.now();

function log(...args) {
  const ms = String(Date.now() - started).padStart(6);
  console.log(`[${ms} ms]`, ...args);
}

/** Ends the process with a clear message and a non-zero status. */
function fail(message) {
  console.error(`FAIL (${scriptName()}, step "${currentStep}"): ${message}`);
  process.exit(1);
}

function scriptName() {
  return require('path').basename(process.argv[1] || 'script');
}

function step(name) {
  currentStep = name;
  log(`-- ${name}`);
}

/**
 * Reads `<base-url>` from the command line, arms the time bound and turns
 * every unexpected error into a failure. Returns the base URL without a
 * trailing slash (`http://127.0.0.1:3000`).
 */
function start(usage) {
  const base = (process.argv[2] || '').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(base)) {
    console.error(`usage: node ${scriptName()} <base-url>   (e.g. http://127.0.0.1:3000)\n${usage || ''}`);
    process.exit(2);
  }
  const timeout = Number(process.env.CLIENT_TIMEOUT_MS || DEFAULT_TIMEOUT_MS);
  // Not unref'd: this timer is the bound, and the client libraries keep
  // their own timers (pings, reconnects) alive anyway.
  setTimeout(() => fail(`timed out after ${timeout} ms`), timeout);
  process.on('unhandledRejection', (e) => fail(`unhandled rejection: ${describe(e)}`));
  process.on('uncaughtException', (e) => fail(`uncaught exception: ${describe(e)}`));
  return base;
}

/** Runs the scenario; exits 0 when it resolves, 1 when it throws. */
function run(scenario) {
  scenario().then(
    () => {
      log(`OK: ${scriptName()} passed`);
      process.exit(0);
    },
    (e) => fail(describe(e)),
  );
}

function describe(e) {
  if (e instanceof Error) {
    // fetch hides why it failed (connection refused...) in `cause`.
    const cause = e.cause ? `\ncaused by: ${describe(e.cause)}` : '';
    return (e.stack || e.message) + cause;
  }
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function assertEq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${what}: expected ${b}, got ${a}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value (returned), or throws. */
async function eventually(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Waits `ms` and checks that `check` stayed false all along. */
async function never(what, check, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) throw new Error(`unexpected: ${what}`);
    await sleep(20);
  }
}

/**
 * One REST call. `auth` is `{userId, authToken}`; `query` an object for the
 * query string. Returns the JSON body of a 200; throws on any other status.
 */
async function rest(base, method, path, { auth, body, query, expect = 200 } = {}) {
  const url = new URL(`${base}/api/v1/${path}`);
  for (const [k, v] of Object.entries(query || {})) url.searchParams.set(k, String(v));
  const headers = { 'content-type': 'application/json' };
  if (auth) {
    headers['x-user-id'] = auth.userId;
    headers['x-auth-token'] = auth.authToken;
  }
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
  if (response.status !== expect) {
    throw new Error(`${method} ${path}: expected ${expect}, got ${response.status}: ${text.slice(0, 500)}`);
  }
  return json;
}

/** A name no earlier run against the same server used. */
function unique(prefix) {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

/**
 * Registers a new user through `users.register` and logs in through REST.
 * Returns `{username, password, userId, authToken}`.
 */
async function newUser(base, prefix) {
  const username = unique(prefix);
  const password = `pw-${crypto.randomBytes(6).toString('hex')}`;
  await rest(base, 'POST', 'users.register', {
    body: { username, email: `${username}@example.com`, pass: password, name: username },
  });
  const login = await rest(base, 'POST', 'login', { body: { user: username, password } });
  assertEq(login.status, 'success', 'REST login status');
  return { username, password, userId: login.data.userId, authToken: login.data.authToken };
}

function sha256Hex(text) {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Milliseconds of an EJSON date (`{$date: ms}`); throws on another form. */
function ejsonMs(value, what) {
  if (!value || typeof value !== 'object' || typeof value.$date !== 'number') {
    throw new Error(`${what}: expected an EJSON date {"$date": ms}, got ${JSON.stringify(value)}`);
  }
  return value.$date;
}

module.exports = {
  start,
  run,
  step,
  log,
  fail,
  assert,
  assertEq,
  eventually,
  never,
  sleep,
  rest,
  newUser,
  unique,
  sha256Hex,
  ejsonMs,
};

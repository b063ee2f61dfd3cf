// EmbeddedChat, Rocket.Chat's own embeddable React client, in a real
// headless Chromium against a running threadsync, from another origin.
//
//   node check.mjs <server-url> <admin-user> <admin-password> [screenshot.png]
//
// Builds nothing: `npm run build` (vite) must have written dist/ first. The
// page is served from a port of its own, so every call crosses origins
// (CORS) as it does on a real site. The script seeds a room's history and a
// thread over REST, then drives the UI: logs in, reads the history, sends
// from the composer, waits for a message posted elsewhere, opens the thread.
// It exits non-zero with the reason on the first check that fails, and
// prints every server call EmbeddedChat made with its status.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const [server, adminUser, adminPass, shotPath = 'embeddedchat.png'] = process.argv.slice(2);
if (!server || !adminUser || !adminPass) {
  console.error('usage: node check.mjs <server-url> <admin-user> <admin-password> [screenshot.png]');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const nonce = Date.now().toString(36);
let threadParentId = null;

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

async function rest(method, route, session, body) {
  const headers = { 'content-type': 'application/json' };
  if (session) Object.assign(headers, { 'X-User-Id': session.userId, 'X-Auth-Token': session.authToken });
  const res = await fetch(`${server}/api/v1/${route}`, { method, headers, body: body && JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok || json.success === false) fail(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
async function login(user, password) {
  const { data } = await rest('POST', 'login', null, { user, password });
  return data;
}

// The page a site embeds, served from its own origin.
function servePage() {
  const types = { '.js': 'text/javascript', '.html': 'text/html', '.css': 'text/css' };
  const srv = http.createServer((req, res) => {
    let p = new URL(req.url, 'http://page').pathname;
    if (p === '/') p = '/index.html';
    const file = path.join(dist, p);
    if (!file.startsWith(dist) || !fs.existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

// Calls Rocket.Chat itself refuses to an ordinary user, which EmbeddedChat
// survives: the check accepts exactly these.
const EXPECTED_REFUSALS = {
  // `view-privileged-setting` is an admin permission in Rocket.Chat's default
  // table; EmbeddedChat then keeps its default message size limit.
  'GET /api/v1/settings/Message_MaxAllowedSize': 403,
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForText(page, text, timeoutMs) {
  const start = Date.now();
  for (;;) {
    const found = await page.evaluate((t) => document.body.innerText.includes(t), text);
    if (found) return Date.now() - start;
    if (Date.now() - start > timeoutMs) return null;
    await sleep(25);
  }
}

async function clickButton(page, label) {
  const clicked = await page.evaluate((label) => {
    const buttons = [...document.querySelectorAll('button')].filter((b) => b.innerText.trim() === label);
    const b = buttons.pop();
    if (b) b.click();
    return Boolean(b);
  }, label);
  if (!clicked) fail(`no "${label}" button on the page`);
}

async function main() {
  if (!fs.existsSync(path.join(dist, 'index.html'))) fail('dist/ is missing: run `npm run build` first');

  // Seed: a user for the browser, a history with markup, a thread.
  const admin = await login(adminUser, adminPass);
  // The page is on another origin: the operator allows cross-origin calls,
  // as a Rocket.Chat admin does for EmbeddedChat.
  await rest('POST', 'settings/API_Enable_CORS', admin, { value: true });
  const username = `ec-${nonce}`;
  const password = `pw-${nonce}-secret`;
  await rest('POST', 'users.create', admin, { username, name: `EC ${nonce}`, email: `${username}@example.com`, password });
  const history = [`plain history ${nonce}`, `bold **history ${nonce}**`, `code \`history ${nonce}\``];
  for (const text of history) await rest('POST', 'chat.postMessage', admin, { roomId: 'GENERAL', text });
  const parent = (await rest('POST', 'chat.postMessage', admin, { roomId: 'GENERAL', text: `thread parent ${nonce}` })).message;
  const replies = [`first reply ${nonce}`, `second _reply_ ${nonce}`];
  for (const text of replies) await rest('POST', 'chat.postMessage', admin, { roomId: 'GENERAL', text, tmid: parent._id });
  threadParentId = parent._id;

  const pageServer = await servePage();
  const pageUrl = `http://127.0.0.1:${pageServer.address().port}/?host=${encodeURIComponent(server)}`;
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox'] });
  const calls = new Map();
  const queries = new Set();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    page.on('response', (r) => {
      const url = r.url();
      if (!url.startsWith(server) || r.request().method() === 'OPTIONS') return;
      const parsed = new URL(url);
      const route = parsed.pathname;
      if (route.endsWith('.messages') && parsed.searchParams.has('query')) queries.add(parsed.searchParams.get('query'));
      const key = `${r.request().method()} ${route}`;
      const seen = calls.get(key) || new Set();
      seen.add(r.status());
      calls.set(key, seen);
    });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(pageUrl);

    // Log in through EmbeddedChat's own form.
    if ((await waitForText(page, 'JOIN', 20000)) === null) fail('EmbeddedChat did not render its join button');
    await clickButton(page, 'JOIN');
    await page.waitForSelector('input[type=password]', { timeout: 10000 });
    await page.type('input[placeholder="example@example.com"]', username);
    await page.type('input[type=password]', password);
    await clickButton(page, 'Login');

    // The history, drawn from each message's `md`.
    // Markup is drawn, not shown as typed: the text reads without its markers.
    for (const text of [`plain history ${nonce}`, `bold history ${nonce}`, `code history ${nonce}`]) {
      if ((await waitForText(page, text, 20000)) === null) fail(`history text not shown: "${text}"`);
    }
    const markers = await page.evaluate((n) => document.body.innerText.includes(`**history ${n}**`), nonce);
    if (markers) fail('bold markers are shown as typed: the md tree was not drawn');
    console.log('ok: logged in and the history shows its text');

    // Send from the composer; the server's copy must keep its text.
    const typed = `from the composer ${nonce}`;
    await page.waitForSelector('textarea', { timeout: 10000 });
    await page.type('textarea', typed);
    await page.keyboard.press('Enter');
    if ((await waitForText(page, typed, 5000)) === null) fail('the composed message is not shown');
    await sleep(1500);
    if ((await waitForText(page, typed, 100)) === null) fail("the composed message lost its text once the server's copy arrived");
    const sent = await rest('GET', `channels.messages?roomId=GENERAL&count=20&sort=${encodeURIComponent('{"ts":-1}')}`, admin);
    if (!sent.messages.some((m) => m.msg === typed && m.u.username === username)) fail('the composed message is not on the server');
    console.log('ok: sent from the composer, stored, and still drawn after the server copy replaced it');

    // A message posted elsewhere arrives live.
    const live = `live from elsewhere ${nonce}`;
    const postedAt = Date.now();
    await rest('POST', 'chat.postMessage', admin, { roomId: 'GENERAL', text: live });
    const waited = await waitForText(page, live, 1000);
    if (waited === null) fail('a message posted elsewhere did not show within 1 s');
    console.log(`ok: a message posted elsewhere showed after ${Date.now() - postedAt} ms`);

    // Open the thread: its replies show with their text.
    await openThread(page, parent);
    for (const text of [`first reply ${nonce}`, `second reply ${nonce}`]) {
      if ((await waitForText(page, text, 10000)) === null) fail(`thread reply not shown: "${text}"`);
    }
    console.log('ok: the thread opens with its replies');
    await page.screenshot({ path: shotPath });
  } finally {
    console.log('calls EmbeddedChat made to the server:');
    for (const [key, statuses] of [...calls].sort()) console.log(`  ${[...statuses].join(',')} ${key}`);
    for (const query of [...queries].sort()) console.log(`  messages query: ${query}`);
    await browser.close();
    pageServer.close();
  }
  // The calls the issue names: the room's messages without thread replies,
  // a thread's replies, the slash commands, the avatars.
  const threadQuery = `{"tmid":"${threadParentId}"}`;
  for (const [what, seen] of [
    ['channels.messages with query={"tmid":{"$exists":false}}', queries.has('{"tmid":{"$exists":false}}')],
    [`channels.messages with query=${threadQuery}`, queries.has(threadQuery)],
    ['commands.list', calls.has('GET /api/v1/commands.list')],
    ['/avatar/<username>', [...calls.keys()].some((k) => k.startsWith('GET /avatar/'))],
  ]) {
    if (!seen) fail(`EmbeddedChat never called ${what}`);
  }
  const refused = [...calls].filter(
    ([key, statuses]) => !(key in EXPECTED_REFUSALS) && [...statuses].some((s) => s >= 400),
  );
  if (refused.length) fail(`calls answered with an error: ${refused.map(([k, s]) => `${k} ${[...s]}`).join('; ')}`);
  console.log('ok: every call EmbeddedChat made was answered (the one expected refusal aside)');
}

// A thread parent shows a "Reply" button with its reply and follower
// counts under its text; clicking it opens the thread beside the room.
async function openThread(page, parent) {
  const clicked = await page.evaluate((text) => {
    const message = [...document.querySelectorAll('.ec-message')].find((m) => m.innerText.includes(text));
    const button = message && [...message.querySelectorAll('.ec-message-metrics button')].find((b) => b.innerText.trim() === 'Reply');
    if (button) button.click();
    return Boolean(button);
  }, parent.msg);
  if (!clicked) fail(`no "Reply" button under the thread parent "${parent.msg}" (its tcount is not shown)`);
}

main().catch((e) => {
  if (!process.exitCode) {
    console.error(e);
    process.exitCode = 1;
  }
});

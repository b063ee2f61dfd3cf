// The mobile app's flow, frame for frame, on a plain websocket (`ws`):
//
// - REST `POST /api/v1/login`, then DDP `login {resume}` on `/websocket`;
// - the subscriptions the app makes after login and when a room opens;
// - a thread seen from the room stream alone (the app's thread view has no
//   stream of its own): replies with `tmid`, the parent with its new `tcount`,
//   `deleteMessage` events, `subscriptions-changed` for a follower;
// - the socket closes; writers keep writing through REST; the app
//   reconnects, resumes, re-subscribes and catches up with
//   `GET chat.syncMessages?roomId=&lastUpdate=<ISO of the greatest
//   _updatedAt seen>` (and its open thread with `chat.syncThreadMessages`);
// - its local copy must then equal the server's state exactly.
//
// Usage: node mobile.js <base-url>     (exits 0 on success, 1 on any failure)
'use strict';

const WebSocket = require('ws');
const crypto = require('crypto');
const lib = require('./lib');
const { step, log, assert, assertEq, eventually, rest } = lib;

const base = lib.start();

/** A DDP connection as the app's SDK drives it: frames in, frames out. */
class Ddp {
  constructor(url) {
    this.url = url;
    this.frames = [];
    this.nextId = 0;
    this.closed = false;
    this.handlers = [];
  }

  async open() {
    this.ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/websocket`);
    this.ws.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.msg === 'ping') {
        this.send({ msg: 'pong', ...(frame.id ? { id: frame.id } : {}) });
        return;
      }
      this.frames.push(frame);
      for (const handler of this.handlers) handler(frame);
    });
    this.ws.on('close', () => {
      this.closed = true;
    });
    await new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.send({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
    const connected = await this.wait('connected', (f) => f.msg === 'connected' || f.msg === 'failed');
    assertEq(connected.msg, 'connected', 'answer to connect');
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  /** The first frame (already received or to come) that matches. */
  wait(what, match, timeoutMs = 20_000) {
    const found = this.frames.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      const handler = (frame) => {
        if (match(frame)) {
          clearTimeout(timer);
          this.handlers.splice(this.handlers.indexOf(handler), 1);
          resolve(frame);
        }
      };
      this.handlers.push(handler);
    });
  }

  /** A method call: resolves with `result` (after `updated`), rejects with `error`. */
  async call(method, ...params) {
    const id = `m${++this.nextId}`;
    this.send({ msg: 'method', id, method, params });
    const result = await this.wait(`result of ${method}`, (f) => f.msg === 'result' && f.id === id);
    if (result.error) throw new Error(`${method} failed: ${JSON.stringify(result.error)}`);
    await this.wait(`updated of ${method}`, (f) => f.msg === 'updated' && f.methods.includes(id));
    return result.result;
  }

  /** A sub; resolves on its `ready`, rejects on `nosub`. */
  async sub(name, ...params) {
    const id = `s${++this.nextId}`;
    this.send({ msg: 'sub', id, name, params });
    const answer = await this.wait(
      `ready of ${name} ${JSON.stringify(params[0])}`,
      (f) => (f.msg === 'ready' && f.subs.includes(id)) || (f.msg === 'nosub' && f.id === id),
    );
    if (answer.msg !== 'ready') throw new Error(`sub ${name} ${JSON.stringify(params)} refused: ${JSON.stringify(answer)}`);
    return id;
  }

  /** Stream events of a collection and event name received so far. */
  events(collection, eventName) {
    return this.frames
      .filter((f) => f.msg === 'changed' && f.collection === collection && f.fields.eventName === eventName)
      .map((f) => f.fields.args);
  }

  close() {
    this.ws.close();
    return eventually('the socket to close', () => this.closed);
  }
}

/** A date as milliseconds: EJSON over DDP, ISO strings over REST. */
function ms(value) {
  if (value && typeof value === 'object' && typeof value.$date === 'number') return value.$date;
  if (typeof value === 'string') return Date.parse(value);
  throw new Error(`not a date: ${JSON.stringify(value)}`);
}

/** The app's 17-character message ids. */
function appId() {
  const chars = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
  return Array.from(crypto.randomBytes(17), (b) => chars[b % chars.length]).join('');
}

/**
 * The app's local copy of a room: messages by id (thread replies included,
 * as the app keeps them), and the greatest `_updatedAt` it has seen. With
 * `tmid`, the copy of one thread's replies (the thread view), fed from the
 * same room stream.
 */
class LocalRoom {
  constructor(rid, tmid) {
    this.rid = rid;
    this.tmid = tmid;
    this.messages = new Map();
    this.lastUpdate = 0;
  }

  /** A message from the stream or from a sync: the newer copy wins. */
  upsert(message) {
    const stamp = ms(message._updatedAt);
    const mine = this.messages.get(message._id);
    if (!mine || ms(mine._updatedAt) <= stamp) this.messages.set(message._id, message);
    this.lastUpdate = Math.max(this.lastUpdate, stamp);
  }

  remove(id, deletedAt) {
    this.messages.delete(id);
    if (deletedAt !== undefined) this.lastUpdate = Math.max(this.lastUpdate, ms(deletedAt));
  }

  /** Feeds it every room frame of a connection, as they arrive. */
  follow(ddp) {
    const apply = (f) => {
      if (f.msg !== 'changed') return;
      if (f.collection === 'stream-room-messages' && f.fields.eventName === this.rid) {
        const message = f.fields.args[0];
        if (!this.tmid || message.tmid === this.tmid) this.upsert(message);
      }
      if (f.collection === 'stream-notify-room' && f.fields.eventName === `${this.rid}/deleteMessage`) {
        this.remove(f.fields.args[0]._id);
      }
    };
    ddp.frames.forEach(apply);
    ddp.handlers.push(apply);
  }

  /** What a comparison looks at, dates as milliseconds. */
  snapshot() {
    return [...this.messages.values()].map(summary).sort((a, b) => (a._id < b._id ? -1 : 1));
  }
}

function summary(m) {
  return {
    _id: m._id,
    _updatedAt: ms(m._updatedAt),
    msg: m.msg,
    t: m.t || null,
    tmid: m.tmid || null,
    tcount: m.tcount === undefined ? null : m.tcount,
    tlm: m.tlm === undefined || m.tlm === null ? null : ms(m.tlm),
    editedAt: m.editedAt ? ms(m.editedAt) : null,
  };
}

/** Catches `local` up with the old form of chat.syncMessages, page by page. */
async function syncRoom(auth, local) {
  for (let page = 0; ; page += 1) {
    assert(page < 100, 'chat.syncMessages converges');
    const since = new Date(local.lastUpdate).toISOString();
    const { result } = await rest(base, 'GET', 'chat.syncMessages', {
      auth,
      query: { roomId: local.rid, lastUpdate: since },
    });
    log(`chat.syncMessages lastUpdate=${since}: ${result.updated.length} updated, ${result.deleted.length} deleted`);
    if (result.updated.length === 0 && result.deleted.length === 0) return;
    for (const m of result.updated) local.upsert(m);
    for (const d of result.deleted) local.remove(d._id, d._deletedAt);
  }
}

/**
 * The newer form (mobile app >= 7.1 talking to a server >= 7.1):
 * `type=UPDATED|DELETED&next=<ms>&count=50`, paging on `cursor.next`.
 */
async function syncRoomByCursor(auth, local, since) {
  for (const type of ['UPDATED', 'DELETED']) {
    let next = String(since);
    for (let page = 0; ; page += 1) {
      assert(page < 100, `chat.syncMessages type=${type} converges`);
      const { result } = await rest(base, 'GET', 'chat.syncMessages', {
        auth,
        query: { roomId: local.rid, type, next, count: 50 },
      });
      const items = type === 'UPDATED' ? result.updated : result.deleted;
      if (items.length === 0) break;
      if (type === 'UPDATED') items.forEach((m) => local.upsert(m));
      else items.forEach((d) => local.remove(d._id, d._deletedAt));
      assert(result.cursor && result.cursor.next, `a cursor with a page of ${type}`);
      next = result.cursor.next;
    }
  }
}

/** The server's state of the room: everything live, read from scratch. */
async function serverRoom(auth, rid) {
  const fresh = new LocalRoom(rid);
  await syncRoom(auth, fresh);
  return fresh;
}

lib.run(async () => {
  step('users, and a private group of the writer with the mobile user');
  const mobile = await lib.newUser(base, 'mobile'); // POST /api/v1/login
  const writer = await lib.newUser(base, 'writer');
  const rid = (
    await rest(base, 'POST', 'groups.create', {
      auth: writer,
      body: { name: lib.unique('mobile-room'), members: [mobile.username] },
    })
  ).group._id;
  const post = async (msg, tmid) =>
    (
      await rest(base, 'POST', 'chat.sendMessage', {
        auth: writer,
        body: { message: { rid, msg, ...(tmid ? { tmid } : {}) } },
      })
    ).message;

  /** What the app does on every `connected`: resume, then subscribe. */
  async function session() {
    const ddp = new Ddp(base);
    await ddp.open();
    const login = await ddp.call('login', { resume: mobile.authToken });
    assertEq(login.id, mobile.userId, 'resume login id');
    assertEq(login.token, mobile.authToken, 'resume answers the same token');
    assert(ms(login.tokenExpires) > Date.now(), 'tokenExpires in the future');
    // After login.
    await ddp.sub('stream-notify-all', 'public-settings-changed', { useCollection: false, args: [] });
    await ddp.sub('stream-notify-logged', 'user-status', { useCollection: false, args: [] });
    await ddp.sub('stream-roles', 'roles', { useCollection: false, args: [] });
    await ddp.sub('stream-user-presence', '', { useCollection: false, args: [] });
    for (const ev of ['message', 'notification', 'rooms-changed', 'subscriptions-changed', 'uiInteraction', 'userData']) {
      await ddp.sub('stream-notify-user', `${mobile.userId}/${ev}`, { useCollection: false, args: [] });
    }
    // The open room.
    await ddp.sub('stream-room-messages', rid, { useCollection: false, args: [rid] });
    for (const ev of ['user-activity', 'deleteMessage', 'deleteMessageBulk', 'messagesRead']) {
      await ddp.sub('stream-notify-room', `${rid}/${ev}`, { useCollection: false, args: [] });
    }
    return ddp;
  }

  step('REST login done; websocket: connect, login {resume}, subscriptions');
  let ddp = await session();
  const local = new LocalRoom(rid);
  local.follow(ddp);
  const has = (id, check = () => true) => local.messages.has(id) && check(local.messages.get(id));

  step('a thread seen from the room stream');
  const parent = await post('a parent');
  await eventually('the parent on the stream', () => has(parent._id));
  const myReply = await ddp.call('sendMessage', { _id: appId(), rid, msg: 'my reply', tmid: parent._id });
  assertEq(myReply.tmid, parent._id, 'sendMessage result tmid');
  await eventually('my reply and the parent with tcount 1', () =>
    has(myReply._id) && has(parent._id, (p) => p.tcount === 1),
  );
  const theirReply = await post('their reply', parent._id);
  await eventually('their reply and the parent with tcount 2', () =>
    has(theirReply._id, (m) => m.tmid === parent._id) && has(parent._id, (p) => p.tcount === 2),
  );
  assertEq(ms(local.messages.get(parent._id).tlm), ms(theirReply.ts), 'the parent tlm is the last reply ts');

  step('as a follower (it replied), the app is told the thread is unread');
  const changed = await ddp.wait(
    'subscriptions-changed with tunread',
    (f) =>
      f.msg === 'changed' &&
      f.fields.eventName === `${mobile.userId}/subscriptions-changed` &&
      (f.fields.args[1].tunread || []).includes(parent._id),
  );
  assertEq(changed.fields.args[0], 'updated', 'subscriptions-changed action');
  assertEq(changed.fields.args[1].rid, rid, 'subscriptions-changed room');

  step('a deletion: deleteMessage and the parent with tcount 1');
  await rest(base, 'POST', 'chat.delete', { auth: writer, body: { roomId: rid, msgId: theirReply._id } });
  await eventually('the deleteMessage event and the parent update', () =>
    ddp.events('stream-notify-room', `${rid}/deleteMessage`).some((a) => a[0]._id === theirReply._id) &&
    !has(theirReply._id) &&
    has(parent._id, (p) => p.tcount === 1),
  );

  step('the thread view: getThreadMessages on the socket, an edit of my reply');
  const thread = await ddp.call('getThreadMessages', { tmid: parent._id });
  assertEq(
    thread.map((m) => m._id),
    [parent._id, myReply._id],
    'getThreadMessages',
  );
  // The same call through the REST fallback (API_Use_REST_For_DDP_Calls).
  const viaRest = await rest(base, 'POST', 'method.call/getThreadMessages', {
    auth: mobile,
    body: { message: JSON.stringify({ msg: 'method', id: '42', method: 'getThreadMessages', params: [{ tmid: parent._id }] }) },
  });
  const restFrame = JSON.parse(viaRest.message);
  assertEq(restFrame.id, '42', 'method.call answer id');
  assertEq(restFrame.result, thread, 'method.call answer: the same as on the socket');
  const threadView = new LocalRoom(rid, parent._id);
  thread.slice(1).forEach((m) => threadView.upsert(m));
  threadView.follow(ddp);
  await ddp.call('updateMessage', { _id: myReply._id, rid, msg: 'my reply, edited' });
  await eventually('the edit on the stream', () => has(myReply._id, (m) => m.msg === 'my reply, edited' && m.editedAt));

  step('the socket closes; the writer keeps writing through REST');
  const seenBeforeClose = local.lastUpdate;
  const atClose = new LocalRoom(rid);
  local.messages.forEach((m) => atClose.upsert(m));
  await ddp.close();
  const q1 = await post('while away 1');
  const q2 = await post('while away 2');
  const r3 = await post('reply while away', parent._id);
  const r4 = await post('a reply to q2', q2._id);
  await rest(base, 'POST', 'chat.update', { auth: writer, body: { roomId: rid, msgId: q2._id, text: 'q2, edited' } });
  await rest(base, 'POST', 'chat.delete', { auth: writer, body: { roomId: rid, msgId: q1._id } });
  await rest(base, 'POST', 'chat.delete', { auth: writer, body: { roomId: rid, msgId: r3._id } });
  // A parent with replies stays, as a `t: "rm"` placeholder.
  await rest(base, 'POST', 'chat.delete', { auth: writer, body: { roomId: rid, msgId: q2._id } });
  assert(!local.messages.has(q1._id) && !local.messages.has(q2._id), 'nothing arrived while closed');

  step('reconnect: resume, re-subscribe, a live message, then chat.syncMessages from the last stamp seen');
  ddp = await session();
  local.follow(ddp);
  threadView.follow(ddp);
  const live = await post('live after the reconnect');
  await eventually('the live message', () => has(live._id));
  // The app syncs from what it had before the gap (the live message moved
  // lastUpdate past the gap: what the app remembers is the room's last
  // sync, taken before it reconnected).
  local.lastUpdate = seenBeforeClose;
  await syncRoom(mobile, local);

  step('the local copy equals the server state exactly');
  const server = await serverRoom(mobile, rid);
  assertEq(local.snapshot(), server.snapshot(), 'local room vs server room');
  const ids = new Set(local.messages.keys());
  for (const id of [parent._id, myReply._id, q2._id, r4._id, live._id]) assert(ids.has(id), `${id} is kept`);
  for (const id of [q1._id, r3._id, theirReply._id]) assert(!ids.has(id), `${id} is gone`);
  assertEq(local.messages.get(q2._id).t, 'rm', 'the deleted parent with a reply is a placeholder');
  assertEq(local.messages.get(parent._id).tcount, 1, 'parent tcount after the gap');

  step('the same catch-up with the cursor form of chat.syncMessages');
  await syncRoomByCursor(mobile, atClose, seenBeforeClose);
  assertEq(atClose.snapshot(), server.snapshot(), 'room caught up by cursor vs server room');

  step('the open thread catches up with chat.syncThreadMessages');
  const { messages } = await rest(base, 'GET', 'chat.syncThreadMessages', {
    auth: mobile,
    query: { tmid: parent._id, updatedSince: new Date(seenBeforeClose).toISOString() },
  });
  log(`chat.syncThreadMessages: ${messages.update.length} updated, ${messages.remove.length} removed`);
  for (const m of messages.update) threadView.upsert(m);
  for (const m of messages.remove) threadView.remove(m._id, m._deletedAt);
  const serverThread = await rest(base, 'GET', 'chat.getThreadMessages', {
    auth: mobile,
    query: { tmid: parent._id, count: 100 },
  });
  assertEq(
    threadView.snapshot(),
    serverThread.messages.map(summary).sort((a, b) => (a._id < b._id ? -1 : 1)),
    'local thread vs server thread',
  );
  assertEq(
    threadView.snapshot().map((m) => m._id),
    [myReply._id],
    'the thread after the gap: my reply (theirs and the one written while away were deleted)',
  );

  await ddp.close();
});

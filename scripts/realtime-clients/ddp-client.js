// The web app's DDP client, @rocket.chat/ddp-client, unchanged: connect,
// log in with a sha-256 digest (the result's tokenExpires must be an EJSON
// date: the client destructures it), use its REST client with the token it
// got, subscribe to `stream-room-messages` and `stream-notify-room`, receive
// messages posted through REST, be refused a room it may not read, follow
// another user's presence as the web app does (stream-user-presence with
// {added}, user-status, users.presence) while that user's own client logs in,
// goes idle, chooses busy and closes, and after a reconnect resume its login
// and its subscriptions by itself.
//
// The client opens its socket with the global `WebSocket`, which browsers
// and Node.js 22 have; on Node.js 20 (no global WebSocket without
// --experimental-websocket) the `ws` package stands in for it.
//
// Usage: node ddp-client.js <base-url>     (exits 0 on success, 1 on any failure)
'use strict';

const lib = require('./lib');
const { step, log, assert, assertEq, eventually, rest } = lib;

const base = lib.start();

lib.run(async () => {
  if (typeof globalThis.WebSocket === 'undefined') {
    globalThis.WebSocket = require('ws');
    log('no global WebSocket in this Node.js: using the ws package');
  }
  const { DDPSDK } = require('@rocket.chat/ddp-client');

  step('register users; a private group with the web user, and one without');
  const web = await lib.newUser(base, 'web');
  const other = await lib.newUser(base, 'other');
  const room = (
    await rest(base, 'POST', 'groups.create', {
      auth: other,
      body: { name: lib.unique('web-room'), members: [web.username] },
    })
  ).group._id;
  const secret = (await rest(base, 'POST', 'groups.create', { auth: other, body: { name: lib.unique('secret') } }))
    .group._id;

  step('connect (DDP 1)');
  // The client turns http://host into ws://host/websocket itself.
  const sdk = DDPSDK.create(base, { retryCount: 0, retryTime: 100 });
  await sdk.connection.connect();
  assertEq(sdk.connection.status, 'connected', 'connection status');
  assert(typeof sdk.connection.session === 'string' && sdk.connection.session.length > 0, 'a session id');

  step('login with a sha-256 digest; tokenExpires is read as an EJSON date');
  // The web app hashes the password before handing it to the client.
  await sdk.account.loginWithPassword(web.username, lib.sha256Hex(web.password));
  assertEq(sdk.account.uid, web.userId, 'account uid');
  const expires = sdk.account.user.tokenExpires;
  assert(expires instanceof Date && !Number.isNaN(expires.getTime()), `tokenExpires is a valid Date (${expires})`);
  const days = (expires.getTime() - Date.now()) / 86_400_000;
  assert(days > 80 && days <= 91, `tokenExpires about 90 days ahead (${days.toFixed(1)} days)`);
  const token = sdk.account.user.token;
  assert(typeof token === 'string' && token.length > 0, 'a login token');

  step("the client's REST side works with the DDP login");
  const me = await sdk.rest.get('/v1/me');
  assertEq(me._id, web.userId, 'GET /v1/me through the client, with the DDP token');

  step('subscribe stream-room-messages and stream-notify-room <rid>/deleteMessage');
  const messages = [];
  const deletions = [];
  const roomSub = sdk.stream('room-messages', room, (message) => messages.push(message));
  const deleteSub = sdk.stream('notify-room', `${room}/deleteMessage`, (event) => deletions.push(event));
  await roomSub.ready();
  await deleteSub.ready();

  step('a room the user may not read: the subscription is refused');
  const refused = sdk.stream('room-messages', secret, () => lib.fail('a message from a room the user may not read'));
  let refusal;
  await refused.ready().then(
    () => lib.fail('subscribing a private room of others became ready'),
    (error) => {
      refusal = error;
    },
  );
  assertEq(refusal && refusal.error, 'not-allowed', 'error of the refused subscription');

  step('messages posted through REST arrive on the stream');
  const fromOther = (
    await rest(base, 'POST', 'chat.sendMessage', { auth: other, body: { message: { rid: room, msg: 'from REST' } } })
  ).message;
  const fromSelf = (await sdk.rest.post('/v1/chat.sendMessage', { message: { rid: room, msg: 'from the web app' } }))
    .message;
  await eventually('both messages on the stream', () =>
    [fromOther._id, fromSelf._id].every((id) => messages.some((m) => m._id === id)),
  );
  const received = messages.find((m) => m._id === fromOther._id);
  assertEq(received.msg, 'from REST', 'text on the stream');
  assertEq(received.rid, room, 'rid on the stream');
  assertEq(received.u.username, other.username, 'author on the stream');
  lib.ejsonMs(received.ts, 'ts on the stream');
  lib.ejsonMs(received._updatedAt, '_updatedAt on the stream');

  step('a thread reply through a method call: the reply, then its parent with tcount 1');
  const reply = await sdk.call('sendMessage', { rid: room, msg: 'a reply', tmid: fromOther._id });
  assertEq(reply.tmid, fromOther._id, 'sendMessage result tmid');
  await eventually('the reply and the updated parent', () =>
    messages.some((m) => m._id === reply._id) && messages.some((m) => m._id === fromOther._id && m.tcount === 1),
  );
  const parent = messages.filter((m) => m._id === fromOther._id).pop();
  assertEq(lib.ejsonMs(parent.tlm, 'tlm'), lib.ejsonMs(reply.ts, 'reply ts'), 'the parent tlm is the reply ts');
  const thread = await sdk.call('getThreadMessages', { tmid: fromOther._id });
  assertEq(
    thread.map((m) => m._id),
    [fromOther._id, reply._id],
    'getThreadMessages: the parent, then the replies',
  );

  step('a deletion through REST: deleteMessage on stream-notify-room');
  await rest(base, 'POST', 'chat.delete', { auth: web, body: { roomId: room, msgId: reply._id } });
  await eventually('the deleteMessage event', () => deletions.some((d) => d._id === reply._id));

  step("presence: the web app's stream-user-presence listener and user-status follow another user's sockets");
  // As the web app does: one `stream-user-presence` sub with {added}, the
  // events read from the collection, the current status from users.presence.
  const presence = [];
  const statuses = [];
  const stopPresence = sdk.client.onCollection('stream-user-presence', (data) => {
    if (data.msg === 'changed' && data.fields && data.fields.eventName === other.userId) {
      presence.push(data.fields.args[0]);
    }
  });
  const listener = sdk.client.subscribe('stream-user-presence', '', { added: [other.userId] });
  await listener.ready();
  const statusSub = sdk.stream('notify-logged', 'user-status', (entry) => statuses.push(entry));
  await statusSub.ready();
  const statusOf = async () =>
    (await rest(base, 'GET', 'users.presence', { auth: web, query: { ids: other.userId } })).users.map((u) => u.status);
  assertEq(await statusOf(), [], 'users.presence before the other user connects (offline users are left out)');
  const otherSdk = DDPSDK.create(base, { retryCount: 0, retryTime: 100 });
  await otherSdk.connection.connect();
  await otherSdk.account.loginWithToken(other.authToken);
  await eventually('the other user online on the listener', () =>
    presence.some((p) => p[0] === other.username && p[1] === 1),
  );
  await eventually('user-status online', () => statuses.some((s) => s[0] === other.userId && s[2] === 1));
  assertEq(await statusOf(), ['online'], 'users.presence once the other user has a socket');
  assertEq(await otherSdk.call('UserPresence:away'), true, 'UserPresence:away');
  await eventually('away on the listener', () => presence.some((p) => p[0] === other.username && p[1] === 2));
  assertEq(await otherSdk.call('UserPresence:setDefaultStatus', 'busy'), true, 'UserPresence:setDefaultStatus');
  await eventually('busy on the listener', () => presence.some((p) => p[0] === other.username && p[1] === 3));
  otherSdk.connection.close();
  await eventually('offline on the listener once the socket closed', () =>
    presence.some((p) => p[0] === other.username && p[1] === 0),
  );
  assertEq(await statusOf(), [], 'users.presence after the socket closed');
  stopPresence();
  listener.stop();
  statusSub.stop();

  step('reconnect: the client resumes its login and its subscriptions');
  sdk.connection.close();
  await eventually('the connection to close', () => sdk.connection.status === 'closed');
  const loggedInAgain = new Promise((resolve) => {
    const stop = sdk.account.on('user', (user) => {
      if (user && user.token === token) {
        stop();
        resolve();
      }
    });
  });
  await sdk.connection.connect();
  await loggedInAgain;
  assertEq(sdk.account.uid, web.userId, 'uid after the resume');
  const afterReconnect = (
    await rest(base, 'POST', 'chat.sendMessage', { auth: other, body: { message: { rid: room, msg: 'after' } } })
  ).message;
  await eventually('a message after the reconnect', () => messages.some((m) => m._id === afterReconnect._id));

  step('logout ends the token');
  roomSub.stop();
  deleteSub.stop();
  await sdk.account.logout();
  await rest(base, 'GET', 'me', { auth: { userId: web.userId, authToken: token }, expect: 401 });
  sdk.connection.close();
});

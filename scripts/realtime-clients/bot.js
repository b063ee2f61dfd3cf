// A Hubot-style bot on @rocket.chat/sdk 0.2.9's `driver`, used as such bots
// use it: connect, log in with a plain password, join GENERAL, listen to
// `__my_messages__`, answer what people say (in the room and in a thread),
// answer direct messages, edit its own message, log out.
//
// The SDK is installed unchanged. Its `asteroid` dependency is npm's
// asteroid 0.6.1 instead of the GitHub fork the SDK names (see
// docs/realtime-clients.md): the SDK only calls `loginWithPassword`, which
// both versions implement with the same `login` method call.
//
// Usage: node bot.js <base-url>     (exits 0 on success, 1 on any failure)
'use strict';

const lib = require('./lib');
const { step, log, assert, assertEq, eventually, never, rest } = lib;

const base = lib.start();

lib.run(async () => {
  const { driver } = require('@rocket.chat/sdk');
  // The SDK logs every call on the console; keep its lines, marked.
  driver.useLog({
    debug: () => {},
    info: (...a) => log('[sdk]', ...a.map(String)),
    warn: (...a) => log('[sdk warn]', ...a.map(String)),
    warning: (...a) => log('[sdk warn]', ...a.map(String)),
    error: (...a) => log('[sdk error]', ...a.map((x) => JSON.stringify(x))),
  });

  step('register a human and the bot through REST');
  const human = await lib.newUser(base, 'human');
  const bot = await lib.newUser(base, 'bot');

  step('connect (DDP pre2 over /websocket)');
  const host = base.replace(/^https?:\/\//, '');
  await driver.connect({ host, useSsl: base.startsWith('https'), timeout: 20_000 });

  step('login with a plain password');
  const uid = await driver.login({ username: bot.username, password: bot.password });
  assertEq(uid, bot.userId, 'login result id');

  step('join GENERAL by name (getRoomIdByNameOrId, then joinRoom)');
  await driver.joinRooms(['GENERAL']);
  assertEq(driver.joinedIds, ['GENERAL'], 'joined room ids');
  assertEq(await driver.getRoomName('GENERAL'), 'general', 'getRoomNameById');

  step('subscribe to __my_messages__');
  await driver.subscribeToMessages();

  // Everything the stream delivers, for the checks below (reactToMessages
  // sees every frame; respondToMessages filters like a bot would).
  const stream = [];
  driver.reactToMessages((err, message, meta) => {
    if (err) lib.fail(`reactToMessages error: ${JSON.stringify(err)}`);
    stream.push({ message, meta });
  });

  const answered = [];
  const replies = {};
  await driver.respondToMessages(
    async (err, message, meta) => {
      if (err) lib.fail(`respondToMessages error: ${JSON.stringify(err)}`);
      // Other runs against the same server talk in GENERAL too.
      if (message.u._id !== human.userId) return;
      answered.push(message._id);
      try {
        if (meta.roomType === 'd') {
          replies.direct = await driver.sendToRoomId(`got your DM, @${message.u.username}`, message.rid);
          return;
        }
        if (message.msg === `hello @${bot.username}`) {
          // The usual bot answer in the room, then one in the thread.
          replies.room = await driver.sendToRoom(`hello @${message.u.username}`, 'GENERAL');
          replies.thread = await driver.sendToRoom({ msg: 'answering in the thread', tmid: message._id }, 'GENERAL');
        }
      } catch (e) {
        lib.fail(`the bot could not answer: ${JSON.stringify(e)}`);
      }
    },
    { rooms: ['GENERAL'], dm: true },
  );

  step('a human says hello in GENERAL through REST; the bot answers');
  const hello = (
    await rest(base, 'POST', 'chat.postMessage', {
      auth: human,
      body: { roomId: 'GENERAL', text: `hello @${bot.username}` },
    })
  ).message;
  await eventually('the bot to answer in the room and in the thread', () => replies.room && replies.thread);
  assertEq(answered, [hello._id], 'messages the bot responded to');

  step('the answers are saved as sent');
  assertEq(replies.room.rid, 'GENERAL', 'room answer rid');
  assertEq(replies.room.u._id, bot.userId, 'room answer author');
  lib.ejsonMs(replies.room.ts, 'sendMessage result ts');
  assertEq(replies.thread.tmid, hello._id, 'thread answer tmid');
  const saved = (await rest(base, 'GET', 'chat.getMessage', { auth: human, query: { msgId: replies.room._id } })).message;
  assertEq(saved.msg, `hello @${human.username}`, 'room answer text, read back through REST');
  const thread = await rest(base, 'GET', 'chat.getThreadMessages', { auth: human, query: { tmid: hello._id } });
  assertEq(
    thread.messages.map((m) => m._id),
    [replies.thread._id],
    'replies of the thread, read back through REST',
  );
  const parent = (await rest(base, 'GET', 'chat.getMessage', { auth: human, query: { msgId: hello._id } })).message;
  assertEq(parent.tcount, 1, 'tcount of the human message');

  step('__my_messages__ delivered the message, both answers and the parent update');
  const general = { roomParticipant: true, roomType: 'c', roomName: 'general' };
  await eventually('the thread parent with tcount 1 on the stream', () =>
    stream.some((s) => s.message._id === hello._id && s.message.tcount === 1),
  );
  const byId = (id) => stream.filter((s) => s.message._id === id);
  for (const [what, id] of [
    ['the human message', hello._id],
    ['the room answer', replies.room._id],
    ['the thread answer', replies.thread._id],
  ]) {
    const seen = byId(id);
    assert(seen.length >= 1, `${what} (${id}) arrived on __my_messages__`);
    assertEq(seen[0].meta, general, `room details sent with ${what}`);
    lib.ejsonMs(seen[0].message.ts, `${what} ts`);
    lib.ejsonMs(seen[0].message._updatedAt, `${what} _updatedAt`);
  }
  assertEq(byId(replies.thread._id)[0].message.tmid, hello._id, 'the thread answer carries tmid on the stream');

  step('an edit reaches the stream, and the bot does not answer it again');
  await rest(base, 'POST', 'chat.update', {
    auth: human,
    body: { roomId: 'GENERAL', msgId: hello._id, text: `hello @${bot.username} (edited)` },
  });
  await eventually('the edited message on the stream', () =>
    stream.some((s) => s.message._id === hello._id && s.message.editedAt),
  );
  const edited = stream.find((s) => s.message._id === hello._id && s.message.editedAt).message;
  lib.ejsonMs(edited.editedAt, 'editedAt');
  await never('the bot answering an edited message', () => answered.length > 1, 500);

  step('the bot edits its own answer (updateMessage)');
  await driver.editMessage({ _id: replies.room._id, rid: 'GENERAL', msg: 'hello again (edited by the bot)' });
  const reread = (await rest(base, 'GET', 'chat.getMessage', { auth: human, query: { msgId: replies.room._id } }))
    .message;
  assertEq(reread.msg, 'hello again (edited by the bot)', 'the bot edit, read back through REST');
  assert(reread.editedAt, 'the bot edit has editedAt');

  step('a direct message to the bot: a new room reaches __my_messages__ and the bot answers');
  const dm = (await rest(base, 'POST', 'dm.create', { auth: human, body: { username: bot.username } })).room;
  const ask = (await rest(base, 'POST', 'chat.postMessage', { auth: human, body: { roomId: dm._id, text: 'psst' } }))
    .message;
  await eventually('the bot to answer the direct message', () => replies.direct);
  assertEq(replies.direct.rid, dm._id, 'the DM answer room');
  const dmSeen = byId(ask._id);
  assert(dmSeen.length >= 1, 'the direct message arrived on __my_messages__');
  assertEq(dmSeen[0].meta.roomType, 'd', 'roomType of the direct message');
  assertEq(dmSeen[0].meta.roomParticipant, true, 'roomParticipant of the direct message');

  step('the bot joins a channel after subscribing: its messages arrive; after leaveRoom they stop');
  const channel = (
    await rest(base, 'POST', 'channels.create', { auth: human, body: { name: lib.unique('bot-channel') } })
  ).channel;
  await driver.joinRoom(channel.name);
  const inChannel = (
    await rest(base, 'POST', 'chat.postMessage', {
      auth: human,
      body: { roomId: channel._id, text: 'anyone here?' },
    })
  ).message;
  await eventually('the channel message on __my_messages__', () => byId(inChannel._id).length > 0);
  assertEq(
    byId(inChannel._id)[0].meta,
    { roomParticipant: true, roomType: 'c', roomName: channel.name },
    'room details of the joined channel',
  );
  // By id: the 0.2.9 driver looks the argument up in `joinedIds`, which
  // holds ids, so leaving by name never calls the server.
  await driver.leaveRoom(channel._id);
  const members = await rest(base, 'GET', 'channels.members', { auth: human, query: { roomId: channel._id } });
  assert(!members.members.some((m) => m._id === bot.userId), 'the bot is no longer a member');
  const afterLeaving = (
    await rest(base, 'POST', 'chat.postMessage', {
      auth: human,
      body: { roomId: channel._id, text: 'gone?' },
    })
  ).message;
  // A message posted later in a room the bot is still in arrives; the one
  // in the channel it left must not have arrived before it.
  const marker = (
    await rest(base, 'POST', 'chat.postMessage', { auth: human, body: { roomId: dm._id, text: 'marker' } })
  ).message;
  await eventually('a later message in the DM', () => byId(marker._id).length > 0);
  assertEq(byId(afterLeaving._id).length, 0, 'deliveries from a channel the bot left');

  step('the bot opens a direct message itself (createDirectMessage)');
  const sent = await driver.sendDirectToUser('a note from the bot', human.username);
  assertEq(sent.rid, dm._id, 'sendDirectToUser uses the existing DM room');

  step('the socket drops: the SDK reconnects, resumes its login and re-subscribes');
  // A network failure, as the SDK sees one: its socket closes under it.
  // ddp.js reopens it, asteroid resumes with the stored token and
  // subscribes `__my_messages__` again.
  const reconnected = new Promise((resolve) => driver.events.once('reconnected', resolve));
  driver.asteroid.ddp._socket.close();
  await reconnected;
  await eventually('the resumed login', () => driver.asteroid.loggedIn && driver.asteroid.userId === bot.userId);
  await eventually('the re-established subscription', () =>
    Object.values(driver.asteroid.subscriptions).some((s) => s.ready.isFulfilled()),
  );
  replies.room = replies.thread = undefined;
  const again = (
    await rest(base, 'POST', 'chat.postMessage', {
      auth: human,
      body: { roomId: 'GENERAL', text: `hello @${bot.username}` },
    })
  ).message;
  await eventually('the bot to answer after the reconnect', () => replies.room && replies.thread);
  assertEq(replies.thread.tmid, again._id, 'thread answer after the reconnect');

  step('disconnect: unsubscribe and log out');
  await driver.disconnect();
});

// Writes the differential corpus for crates/markup: every input with the
// options used and the tree the pinned @rocket.chat/message-parser returns
// (`null` when it throws). Deterministic: a seeded generator, no clock.
// Run: node gen-corpus.js   (from scripts/markup-corpus, after npm ci)
'use strict';
const fs = require('fs');
const path = require('path');
const { parse } = require('@rocket.chat/message-parser');

const SERVER = { colors: true, emoticons: true, customDomains: [], katex: { dollarSyntax: false, parenthesisSyntax: true } };
const VARIANTS = {
  server: SERVER,
  dollar: { colors: true, emoticons: true, customDomains: [], katex: { dollarSyntax: true, parenthesisSyntax: true } },
  plain: { colors: false, emoticons: false, customDomains: [] },
  intranet: { colors: true, emoticons: true, customDomains: ['intranet', 'corp.local'], katex: { dollarSyntax: false, parenthesisSyntax: true } },
};

const run = (input, variant) => {
  let expected;
  try {
    expected = JSON.parse(JSON.stringify(parse(input, VARIANTS[variant])));
  } catch (e) {
    expected = null;
  }
  return { input, options: variant, expected };
};

// Hand-written cases: every construct and its edges.
const HAND = [
  'hello world', 'a', ' ', '  lead and trail  ', '\n', 'a\n', 'a\nb', 'a\n\nb', 'a\r\nb', 'a\rb', '\n\n\n', '\t', 'tab\tbetween',
  '*bold*', '**bold**', '*bo ld*', '* not bold *', '*unclosed', 'un*closed', '*a**b*', '***', '* *', '** **', '*\n*',
  '_italic_', '__italic__', '_it al_', 'snake_case_word', '_a_b', '__a__b', '_unclosed', '_ _', '__ __', 'a_b_c', 'x__y',
  '~strike~', '~~strike~~', '~ ~', '~~ ~~', '~a~b', '~unclosed',
  '*bold _italic_ bold*', '_italic *bold* italic_', '~strike *bold* _it_~', '*_~all~_*', '_*nested*_', '*~x~*', '**_x_**',
  '`code`', '``', '`a`b`', '`unclosed', '`multi\nline`', 'a `b` c', '`*not bold*`', '```', '````',
  '```\ncode\n```', '```js\nconsole.log(1)\n```', '```\n\n```', '```\na\n\nb\n```', '```js\na\n```after', '```\nunclosed',
  '``` lang with spaces\nx\n```', '```\n```\n```', 'text\n```\ncode\n```\nmore',
  '# h1', '## h2', '### h3', '#### h4', '##### h5', '#nospace', '# ', '#\th', '# h\nnext', '# *not bold*',
  '> quote', '> a\n> b', '>no space', '> *bold* in quote', '>> nested', '> a\nb', '>',
  '- item', '- a\n- b', '* star item', '* a\n* b', '-no space', '- ', '- *bold* item', '* *bold* item', '* a*', '- a\n* b',
  '1. one', '1. a\n2. b', '0. zero', '10. ten', '1.no space', '99999999999999999999. big', '1. a\n1. b\n3. c',
  '- [ ] todo', '- [x] done', '- [X] upper', '- [ ]no space', '- [ ] a\n- [x] b', '- [] empty',
  '[label](https://rocket.chat)', '[](https://rocket.chat)', '[a *b*](http://x.y)', '[a](not a url)', '[a](+5511999999999)',
  '<https://rocket.chat|Rocket.Chat>', '<https://a.b|>', '[a]', '[a](b', '[[a](http://x.co)]', '[a](http://x.co) [b](http://y.co)',
  '![alt](https://x.com/a.png)', '![](https://x.com/a.png)', '![a b](http://x.y/z)',
  'https://rocket.chat', 'http://example.com/path?q=1#frag', 'visit rocket.chat now', 'x.com', 'foo.bar', 'foo.invalidtld',
  'https://rocket.chat.', 'https://rocket.chat, and', '(https://rocket.chat)', 'http://localhost:3000', 'localhost', 'localhost:3000/x',
  'ftp://files.example.org/a', 'https://user:pw@host.com/x', 'http://192.168.0.1/a', '192.168.0.1', 'http://a.b.c.d.e.com',
  'HTTPS://EXAMPLE.COM', 'Foo.COM', 'www.google.com', 'mail.intranet', 'http://server.intranet/x', 'app.corp.local',
  'a.b', 'v1.2.3', 'file.txt', 'x.co.uk', 'x.blogspot.com', 'http://a.com:99999', 'http://a[b.com', 'https://ex.com/a_b*c',
  'me@rocket.chat', 'mailto:me@rocket.chat', 'a.b@c.org', 'me@local', 'x@y', 'first.last+tag@sub.example.co.uk',
  '+5511999999999', '+55 11 99999', '+1-555', '+(11)99999-9999', '+123', '+12345', 'call +1 (555) 123',
  '@user', '@all', '@here', '@user.name', '@user-name_1', '@user:server.org', '@@double', 'a@b', 'mail@', '@', '@ user', '@João',
  '#channel', '#general-chat', '#', '# not channel', 'a#b', '#a.b', '#ção', 'issue #42',
  ':smile:', ':+1:', ':smile::smile:', 'a :smile: b', 'a:smile:b', ':not emoji', '::', ':a-b_c.d+e:',
  '😀', '😀😀😀', '😀😀😀😀', ' 😀 ', '😀 text', '👍🏽', '👨‍👩‍👧', '🇧🇷', '☀️', '❤', '⌚', '🚀', '🦀', '🏳️‍🌈',
  ':)', ':) :)', 'hi :)', ':D', '<3', '</3', ':-)', ';)', ':P', 'B)', 'D:', ':/', 'http://x.com :/', '(y)', '\\0/', '-_-', 'O:)',
  'a:)', ':)a', '*:)*', '_:)_', ':smile: :)', '😀 :)',
  'color:#ff0000', 'color:#f00', 'color:#ff000080', 'color:#f008', 'color:#gg0000', 'color:#ff0000x', 'color:#fff.', 'color:#1234567',
  '\\(x^2\\)', '\\[x^2\\]', '$x$', '$$x$$', '\\(unclosed', 'a \\(b\\) c', '\\[\na\n\\]', '$5 and $6',
  '<t:1234567890>', '<t:1234567890:R>', '<t:1234567890:x>', '<t:123>', 'at <t:1630360800:f> ok', '~<t:1234567890:d>~',
  '\\*not bold\\*', '\\_', '\\~', '\\`', '\\#', '\\.', '\\a', '\\\\',
  'ção ñ 中文 العربية', '日本語の*太字*', 'emoji in *bold 😀*', '_italic 👍_',
  '*a\nb*', '_a\nb_', '~a\nb~', 'a  b', 'a\t\tb', ' \n ', '  \n', '\u00a0', 'zero\u200bwidth',
];

function mulberry32(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(15);
const pick = (a) => a[Math.floor(rand() * a.length)];
const ATOMS = [
  '*', '**', '_', '__', '~', '~~', '`', '```', '#', '##', '> ', '- ', '* ', '1. ', '- [ ] ', '- [x] ', '[', ']', '(', ')', '](',
  ':', '@', '#', '$', '$$', '\\', '\\(', '\\)', '\\[', '\\]', '|', '<', '>', '!', '.', ',', '?', '=', '-', '+', '/',
  ' ', ' ', ' ', '  ', '\t', '\n', '\n', '\r\n',
  'a', 'b', 'word', 'hello', 'Rocket', 'x', '1', '42', '2024', 'é', 'ção', '中', 'ж', 'ا', '😀', '👍🏽', '🇧🇷', '☀', '\u200d', '\u00a0',
  ':smile:', ':)', ':D', '<3', ';)', ':P', '(y)', '@user', '@all', '@here', '#general', 'rocket.chat', 'https://rocket.chat',
  'http://x.co/a_b', 'a@b.com', '+5511999999', 'color:#f00', 'color:#00ff00', '<t:1234567890:R>', 'localhost', 'x.intranet',
];
const GEN = [];
for (let i = 0; i < 4500; i++) {
  const n = 1 + Math.floor(rand() * 12);
  let s = '';
  for (let k = 0; k < n; k++) s += pick(ATOMS);
  GEN.push(s);
}

// A second, harsher mix: longer strings, URL/e-mail/host fragments, and
// random code points from several Unicode planes.
const URLISH = [
  'http://', 'https://', 'ftp://', 'mailto:', 'www.', '.com', '.org', '.co.uk', '.io', '.dev', '.xyz', '.local', '.intranet',
  ':8080', ':99999', '/path', '?q=1', '#frag', 'user:pw@', '_', '-', '..', '@', 'a', 'b1', 'ex-ample', 'EXAMPLE', 'ü', 'xn--p1ai',
  '[', ']', '(', ')', '|', '<', '>', '%20', ' ', '\n', '.', ',', '!', '*', '~', '=', '+1', '+55 (11) 9999-9999',
];
const codePoint = () => {
  const r = rand();
  if (r < 0.3) return String.fromCodePoint(0x20 + Math.floor(rand() * 0x5f));
  if (r < 0.5) return String.fromCodePoint(0xa0 + Math.floor(rand() * 0x700));
  if (r < 0.6) return String.fromCodePoint(0x2000 + Math.floor(rand() * 0x800));
  if (r < 0.7) return String.fromCodePoint(0x3000 + Math.floor(rand() * 0x7000));
  if (r < 0.85) return String.fromCodePoint(0x1f300 + Math.floor(rand() * 0x400));
  if (r < 0.9) return String.fromCodePoint(0x1f1e6 + Math.floor(rand() * 26));
  return String.fromCodePoint(0xfe00 + Math.floor(rand() * 0x200));
};
const HARSH = [];
for (let i = 0; i < 3000; i++) {
  const n = 4 + Math.floor(rand() * 36);
  let s = '';
  for (let k = 0; k < n; k++) {
    const r = rand();
    s += r < 0.45 ? pick(ATOMS) : r < 0.75 ? pick(URLISH).replace('\\n', '\n') : codePoint();
  }
  HARSH.push(s);
}

const hand = [];
for (const input of HAND) for (const v of Object.keys(VARIANTS)) hand.push(run(input, v));
const generated = GEN.map((input, i) => run(input, i % 5 === 4 ? pick(['dollar', 'plain', 'intranet']) : 'server'));

const dir = path.join(__dirname, '../../crates/markup/tests/corpus');
fs.mkdirSync(dir, { recursive: true });
const write = (name, rows) => fs.writeFileSync(path.join(dir, name), '[\n' + rows.map((r) => JSON.stringify(r)).join(',\n') + '\n]\n');
write('handwritten.json', hand);
write('generated.json', generated);
// The adversarial shapes of crates/markup/benches/pathological.rs at 1,000
// characters (the reference parser needs seconds for some at 5,000).
const PATHO_UNITS = ['*', '_', '~', '`', '[', '](', '*_~', '*a ', '_a ', '_*', '[a](', '\\(', '@', '#', ':', 'a.', 'a', '1',
  'a-', 'a@', '<', '+1', '> ', '- ', '\n', '😀', '*_~`[](<>@#:$\\ a.b '];
const patho = PATHO_UNITS.map((u) => run([...u.repeat(Math.ceil(1000 / [...u].length))].slice(0, 1000).join(''), 'server'));
write('pathological.json', patho);
write('harsh.json', HARSH.map((input, i) => run(input, i % 4 === 3 ? pick(['dollar', 'plain', 'intranet']) : 'server')));
fs.writeFileSync(path.join(dir, 'options.json'), JSON.stringify(VARIANTS, null, 2) + '\n');
console.log(`handwritten: ${hand.length} cases (${HAND.length} inputs x ${Object.keys(VARIANTS).length} option sets), generated: ${generated.length}, harsh: ${HARSH.length}`);

// The benchmark mix for crates/markup (written to crates/markup/benches/mix.json
// with --write) and the reference parser's throughput on it, the ceiling the
// Rust figures in BENCHMARKS.md are compared with. Run: node bench-npm.js [--write]
'use strict';
const fs = require('fs');
const path = require('path');
// The production build, as a Rocket.Chat server loads it.
process.env.NODE_ENV = 'production';
const { parse } = require('@rocket.chat/message-parser');

const OPTIONS = { colors: true, emoticons: true, customDomains: [], katex: { dollarSyntax: false, parenthesisSyntax: true } };

// Realistic chat traffic: mostly short plain sentences, some with mentions,
// links, emphasis, emoji, code and lists, a few long messages.
function mulberry32(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(2026);
const pick = (a) => a[Math.floor(rand() * a.length)];
const WORDS = ['the', 'deploy', 'is', 'done', 'can', 'you', 'check', 'thread', 'sync', 'works', 'again', 'today', 'tomorrow',
  'review', 'please', 'merged', 'build', 'failed', 'on', 'main', 'ok', 'thanks', 'ção', 'später', 'ok', 'lgtm', 'why', 'not'];
const sentence = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const SHAPES = [
  () => sentence(4 + Math.floor(rand() * 12)),
  () => sentence(6),
  () => `@${pick(['alice', 'bob', 'carol'])} ${sentence(6)}`,
  () => `${sentence(5)} https://github.com/org/repo/pull/${Math.floor(rand() * 9999)} ${sentence(3)}`,
  () => `${sentence(3)} *${sentence(2)}* and _${sentence(2)}_ ${sentence(3)}`,
  () => `${sentence(4)} :+1: 😀`,
  () => `\`${pick(['cargo test', 'npm ci', 'git push'])}\` ${sentence(5)}`,
  () => `\`\`\`rust\nfn main() {\n    println!("{}", 42);\n}\n\`\`\``,
  () => `- ${sentence(3)}\n- ${sentence(4)}\n- ${sentence(2)}`,
  () => `> ${sentence(8)}\n${sentence(5)}`,
  () => `#${pick(['general', 'dev', 'ops'])} ${sentence(6)} ~${sentence(1)}~`,
  () => Array.from({ length: 8 }, () => sentence(12)).join('\n'),
];
const mix = Array.from({ length: 2000 }, () => pick(SHAPES)());
if (process.argv.includes('--write')) {
  fs.writeFileSync(path.join(__dirname, '../../crates/markup/benches/mix.json'), JSON.stringify(mix) + '\n');
}
const bytes = mix.reduce((n, s) => n + Buffer.byteLength(s), 0);
for (let i = 0; i < 1; i++) for (const s of mix) parse(s, OPTIONS); // warm-up (JIT)
const rounds = 3;
const t0 = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) for (const s of mix) parse(s, OPTIONS);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`npm @rocket.chat/message-parser: ${mix.length} messages, ${bytes} bytes; ${(bytes * rounds / secs / 1e6).toFixed(2)} MB/s`);

// The same pathological 5,000-character inputs as crates/markup/benches/pathological.rs
// (a subset), through the npm parser: time per parse.
if (process.argv.includes('--pathological')) {
  const rep = (unit) => unit.repeat(Math.floor(5000 / unit.length)).slice(0, 5000);
  const cases = { asterisks: '*', underscores: '_', backticks: '`', brackets: '[', 'nested emphasis': '*_~',
    'open bold words': '*a ', alternating: '_*', 'links unclosed': '[a](', 'one long word': 'a', dots: 'a.', newlines: '\n' };
  for (const [name, unit] of Object.entries(cases)) {
    const input = rep(unit);
    const t = process.hrtime.bigint();
    let ok = true;
    try { parse(input, OPTIONS); } catch (e) { ok = false; }
    console.log(`npm pathological ${name}: ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(1)} ms${ok ? '' : ' (threw)'}`);
  }
}

// Markdown helpers: a moat tool written in JavaScript (see guest-examples/js).
//
// componentize-js builds this module against wit/world.wit: each export of the
// world is an exported function here (kebab-case names become camelCase), and
// each import is a module named after its interface. Throwing a string returns
// the WIT `err` case, which moat sends to the client as a tool error.

import { log } from 'moat:host/logging@0.1.0';
import { report } from 'moat:host/progress@0.1.0';
import { ask } from 'moat:host/elicitation@0.1.0';

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

// ASCII punctuation but `-` and `_` (the engine has no Unicode property classes).
const PUNCTUATION = /[\x21-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e]/g;

// Latin letters with diacritics, folded to ASCII for slugs.
const FOLD = Object.fromEntries(
  [
    ['a', 'àáâãäåā'], ['c', 'çćč'], ['d', 'ď'], ['e', 'èéêëēėęě'], ['g', 'ğ'], ['i', 'ìíîïī'],
    ['l', 'ł'], ['n', 'ñńň'], ['o', 'òóôõöøō'], ['r', 'ř'], ['s', 'śšş'], ['t', 'ť'],
    ['u', 'ùúûüūůű'], ['y', 'ýÿ'], ['z', 'źżž'], ['ae', 'æ'], ['oe', 'œ'], ['ss', 'ß'],
  ].flatMap(([ascii, letters]) => Array.from(letters, (letter) => [letter, ascii])),
);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(text) {
  return text.toLowerCase().replace(PUNCTUATION, '').trim().replace(/\s/g, '-');
}

export function outline(markdown) {
  const lines = markdown.split(/\r?\n/);
  const headings = [];
  const seen = new Map();
  let fence = null;
  lines.forEach((line, i) => {
    if (i % 1000 === 999) report(i + 1, lines.length, undefined);
    const marker = FENCE.exec(line);
    if (marker) {
      if (fence === null) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = null;
      return;
    }
    if (fence !== null) return;
    const match = ATX.exec(line);
    if (!match) return;
    const text = (match[2] ?? '').trim();
    const base = anchorOf(text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    const anchor = '#' + (count === 0 ? base : `${base}-${count}`);
    headings.push({ level: match[1].length, text, anchor });
  });
  log('debug', 'outlined', [
    { name: 'lines', value: String(lines.length) },
    { name: 'headings', value: String(headings.length) },
  ]);
  return headings;
}

export function slugify(text, maxLength) {
  // Accents come off (é → e); what is not an ASCII letter or digit then
  // separates words. (The engine is built without ICU: no String.normalize.)
  let slug = Array.from(text.toLowerCase(), (ch) => FOLD[ch] ?? ch)
    .join('')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (slug === '') throw `no letters or digits in ${JSON.stringify(text.slice(0, 80))}`;
  if (maxLength > 0 && slug.length > maxLength) {
    const cut = slug.slice(0, maxLength);
    const hyphen = cut.lastIndexOf('-');
    slug = hyphen > 0 ? cut.slice(0, hyphen) : cut;
  }
  return slug;
}

const CHEAT_SHEET = '# Markdown\n\n`# Title`, `**bold**`, `_italic_`, `[link](https://example.com)`, `- item`\n';

export function cheatSheet() {
  return { uri: 'markdown://cheat-sheet', mimeType: 'text/markdown', body: { tag: 'text', val: CHEAT_SHEET } };
}

export function slugifyConfirmed(title) {
  const schema = { type: 'object', properties: { title: { type: 'string', default: title } }, required: ['title'] };
  const answer = ask(`Make a slug of this title?`, JSON.stringify(schema));
  if (answer.action !== 'accept' || answer.content === undefined) throw 'the user chose not to answer';
  return slugify(JSON.parse(answer.content).title, 60);
}

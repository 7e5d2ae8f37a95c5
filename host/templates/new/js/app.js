// {{name}}: the tools of wit/world.wit, in JavaScript.
//
// componentize-js builds this module into a component: each export of the
// world is an exported function here (kebab-case names become camelCase), each
// import a module named after its interface. Throwing a string returns the WIT
// `err` case, which the client receives as a tool error.

import { log } from 'moat:host/logging@0.1.0';
import { report } from 'moat:host/progress@0.1.0';

const GREETINGS = [['Hello, ', '!'], ['Bonjour, ', ' !'], ['Hallo, ', '!'], ['Hola, ', '!'], ['Ciao, ', '!']];

export function greet(name, languages) {
  if (languages < 1 || languages > 5) throw `languages must be between 1 and 5, not ${languages}`;
  log('info', 'greeting', [{ name: 'name', value: name }]);
  const greetings = GREETINGS.slice(0, languages).map(([before, after]) => `${before}${name}${after}`);
  greetings.forEach((_, i) => report(i + 1, greetings.length, undefined));
  return greetings;
}

export function greetingCard(name) {
  const text = `Write a short, warm greeting card for ${name}, in English and French.`;
  return [{ role: 'user', content: { kind: { tag: 'text', val: text }, annotations: undefined } }];
}

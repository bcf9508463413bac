/** Shell-like word splitting of ip xfrm lines: quotes, escapes, comments, empty words, positions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteXfrmWord, tokenizeXfrmLine } from '../../src/xfrm/index.js';
import { xfrmError } from './helpers.js';

const words = (line: string): string[] => tokenizeXfrmLine(line).map((t) => t.text);

test('blanks separate words; quotes keep parentheses, commas and blanks; positions are 1-based', () => {
  const toks = tokenizeXfrmLine(`  aead 'rfc7539esp(chacha20,poly1305)'\t"a b" x`);
  assert.deepEqual(
    toks.map((t) => [t.text, t.word, t.column]),
    [
      ['aead', 1, 3],
      ['rfc7539esp(chacha20,poly1305)', 2, 8],
      ['a b', 3, 40],
      ['x', 4, 46],
    ],
  );
});

test('empty quoted words, joined quote parts, backslashes and double-quote escapes', () => {
  assert.deepEqual(words(`enc cipher_null ""`), ['enc', 'cipher_null', '']);
  assert.deepEqual(words(`enc cipher_null ''`), ['enc', 'cipher_null', '']);
  assert.deepEqual(words(`'hmac('sha1')' ab"c d"e`), ['hmac(sha1)', 'abc de']);
  assert.deepEqual(words(`a\\ b "q\\"x\\\\y\\n"`), ['a b', 'q"x\\y\\n']);
  assert.deepEqual(words(`'it''s' "it's"`), ['its', "it's"]);
});

test('# starts a comment only at the start of a word', () => {
  assert.deepEqual(words('state list # all of them'), ['state', 'list']);
  assert.deepEqual(words('# whole line'), []);
  assert.deepEqual(words('key a#b'), ['key', 'a#b']);
  assert.deepEqual(words(`'#quoted'`), ['#quoted']);
});

test('unterminated quotes and a trailing backslash are errors at the word they start', () => {
  const e = xfrmError(() => tokenizeXfrmLine(`enc aes 'abc`));
  assert.equal(e.message, `line (word 3, column 9): unterminated ' quote; close the quote with '`);
  const d = xfrmError(() => tokenizeXfrmLine(`a "b`));
  assert.deepEqual([d.position?.word, d.position?.column], [2, 3]);
  const b = xfrmError(() => tokenizeXfrmLine('abc \\'));
  assert.equal(b.position?.column, 5);
});

test('quoteXfrmWord gives words back unchanged through the tokenizer', () => {
  for (const w of ['', 'plain', 'hmac(sha256)', 'rfc7539esp(chacha20,poly1305)', "it's", 'a b', '#x', '"q"', '\\']) {
    assert.deepEqual(words(quoteXfrmWord(w)), [w], w);
  }
  assert.equal(quoteXfrmWord('192.0.2.1/24'), '192.0.2.1/24');
  assert.equal(quoteXfrmWord(''), '""');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSettings } from '../../src/config/settings-parser.js';
import { resolveReferences } from '../../src/config/settings-references.js';
import { ConfigError } from '../../src/config/config-error.js';
import { valueOf, type SettingsSection } from '../../src/config/settings-tree.js';
import { memoryFiles } from './memory-files.js';

function sec(root: SettingsSection, dotted: string): SettingsSection {
  let s: SettingsSection | undefined = root;
  for (const p of dotted.split('.')) s = s?.sections.get(p);
  assert.ok(s, `section ${dotted} exists`);
  return s;
}

function parse(text: string, files: Record<string, string> = {}) {
  return parseSettings(text, { filename: '/etc/swanctl/swanctl.conf', readInclude: memoryFiles(files) });
}

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('sections, keys, comments and indentation-free layout', () => {
  const { root } = parse(
    [
      '# leading comment',
      'a = b',
      'section-one {',
      '  somevalue = asdf   # trailing comment',
      '  subsection { othervalue = xxx }',
      '\tyetanother = zz',
      '}',
      'section-two',
      '{',
      'x = 12 }',
    ].join('\n'),
  );
  assert.equal(valueOf(root, 'a'), 'b');
  assert.equal(valueOf(sec(root, 'section-one'), 'somevalue'), 'asdf');
  assert.equal(valueOf(sec(root, 'section-one.subsection'), 'othervalue'), 'xxx');
  assert.equal(valueOf(sec(root, 'section-one'), 'yetanother'), 'zz');
  assert.equal(valueOf(sec(root, 'section-two'), 'x'), '12');
  assert.deepEqual(sec(root, 'section-one').keys.get('somevalue')?.origin, {
    file: '/etc/swanctl/swanctl.conf',
    line: 4,
    column: 3,
  });
  assert.deepEqual(sec(root, 'section-one').keys.get('somevalue')?.valueOrigin.column, 15);
});

test('values: unquoted parts are joined by one space, quotes keep spaces, # and } end a value', () => {
  const { root } = parse(
    'a = one   two\t three\nb = "  padded  " tail\nc = x#comment\ns { d = in }\ne = "has # and }"\nf = {=:,.\n',
  );
  assert.equal(valueOf(root, 'a'), 'one two three');
  assert.equal(valueOf(root, 'b'), '  padded   tail');
  assert.equal(valueOf(root, 'c'), 'x');
  assert.equal(valueOf(sec(root, 's'), 'd'), 'in');
  assert.equal(valueOf(root, 'e'), 'has # and }');
  assert.equal(valueOf(root, 'f'), '{=:,.');
});

test('quoted strings: escapes, line continuation and multi-line values', () => {
  const { root } = parse(
    'a = "tab\\there\\nnl \\"q\\" back\\\\slash \\z"\nb = "line one\nline two"\nc = "joined \\\n  here"\nd = 1\n',
  );
  assert.equal(valueOf(root, 'a'), 'tab\there\nnl "q" back\\slash z');
  assert.equal(valueOf(root, 'b'), 'line one\nline two');
  assert.equal(valueOf(root, 'c'), 'joined   here');
  // line numbers continue correctly after a multi-line value
  assert.equal(root.keys.get('d')?.origin.line, 6);
});

test('carriage returns are ignored (CRLF files)', () => {
  const { root } = parse('a = b\r\ns {\r\n  c = "d"\r\n}\r\n');
  assert.equal(valueOf(root, 'a'), 'b');
  assert.equal(valueOf(sec(root, 's'), 'c'), 'd');
});

test('empty assignment clears a key; a repeated key keeps its place and takes the last value', () => {
  const { root } = parse('a = 1\nb = 2\na = 3\nc =\nc2 = ""\n');
  assert.deepEqual([...root.keys.keys()], ['a', 'b', 'c', 'c2']);
  assert.equal(valueOf(root, 'a'), '3');
  assert.equal(root.keys.get('a')?.origin.line, 3);
  assert.equal(root.keys.get('c')?.value, null);
  assert.equal(valueOf(root, 'c'), undefined);
  assert.equal(valueOf(root, 'c2'), '');
});

test('a section opened twice extends the first one', () => {
  const { root } = parse('s { a = 1\n t { x = 1 } }\ns { b = 2\n t { x = 2\n y = 3 } }\n');
  const s = sec(root, 's');
  assert.deepEqual([...s.keys.keys()], ['a', 'b']);
  assert.equal(valueOf(sec(root, 's.t'), 'x'), '2');
  assert.equal(valueOf(sec(root, 's.t'), 'y'), '3');
  assert.equal(s.origin.line, 1);
});

test('include: relative to the including file, wildcards sorted, settings added to the enclosing section', () => {
  const files = {
    '/etc/swanctl/conf.d/b.conf': 'conn-b { x = b }\n',
    '/etc/swanctl/conf.d/a.conf': 'conn-a { x = a }\ninclude ../sub/inner.conf\n',
    '/etc/swanctl/conf.d/skip.txt': 'broken {',
    '/etc/swanctl/sub/inner.conf': 'conn-c { x = c }\n',
    '/etc/swanctl/extra.conf': 'somevalue = replaced\n',
  };
  const {
    root,
    files: read,
    warnings,
  } = parse('somevalue = before\nconnections {\n  include conf.d/*.conf\n}\ninclude "extra.conf"\n', files);
  assert.deepEqual([...sec(root, 'connections').sections.keys()], ['conn-a', 'conn-c', 'conn-b']);
  assert.equal(valueOf(root, 'somevalue'), 'replaced');
  assert.deepEqual(read, [
    '/etc/swanctl/swanctl.conf',
    '/etc/swanctl/conf.d/a.conf',
    '/etc/swanctl/sub/inner.conf',
    '/etc/swanctl/conf.d/b.conf',
    '/etc/swanctl/extra.conf',
  ]);
  assert.deepEqual(sec(root, 'connections.conn-c').keys.get('x')?.origin, {
    file: '/etc/swanctl/sub/inner.conf',
    line: 1,
    column: 10,
  });
  assert.equal(warnings.length, 0);
});

test('include: escaped spaces in patterns, absolute paths, and a pattern that matches nothing warns', () => {
  const files = { '/opt/my conf/x.conf': 'k = v\n' };
  const { root, warnings } = parse(
    'include /opt/my\\ conf/*.conf\ninclude /nowhere/*.conf\ninclude missing.conf\n',
    files,
  );
  assert.equal(valueOf(root, 'k'), 'v');
  assert.equal(warnings.length, 2);
  assert.equal(warnings[0]?.message, "no files match include '/nowhere/*.conf'");
  assert.equal(warnings[0]?.origin.line, 2);
  assert.equal(warnings[1]?.message, "include file '/etc/swanctl/missing.conf' not found");
});

test('include = x is a key named include, not an include statement', () => {
  const { root } = parse('include = yes\n');
  assert.equal(valueOf(root, 'include'), 'yes');
});

test('include loops and includes without a reader are errors', () => {
  const e = errorOf(() => parse('include self.conf\n', { '/etc/swanctl/self.conf': 'include self.conf\n' }));
  assert.equal(e.diagnostics[0]?.origin.file, '/etc/swanctl/self.conf');
  assert.match(e.message, /include loop: '\/etc\/swanctl\/self.conf' includes itself/);
  const e2 = errorOf(() => parseSettings('include x.conf\n', { filename: 'a.conf' }));
  assert.equal(e2.message, "a.conf:1:1: cannot include 'x.conf' here (includes need a file system to read from)");
});

test('section references inherit keys and subsections; own values and empty assignments win', () => {
  const { root } = parse(
    [
      'conn-defaults { version = 2\n rekey_time = 1h\n local { auth = psk } children { c1 { mode = tunnel } } }',
      'connections {',
      '  a : conn-defaults {',
      '    rekey_time = 2h',
      '    version =',
      '    children { c1 { start_action = trap } c2 { } }',
      '  }',
      '  b : connections.a { }',
      '}',
    ].join('\n'),
  );
  const r = resolveReferences(root);
  const a = sec(r, 'connections.a');
  assert.equal(valueOf(a, 'rekey_time'), '2h');
  assert.equal(valueOf(a, 'version'), undefined, 'own empty assignment hides the inherited value');
  assert.equal(valueOf(sec(a, 'local'), 'auth'), 'psk');
  assert.equal(valueOf(sec(a, 'children.c1'), 'mode'), 'tunnel');
  assert.equal(valueOf(sec(a, 'children.c1'), 'start_action'), 'trap');
  assert.deepEqual([...sec(a, 'children').sections.keys()], ['c1', 'c2']);
  const b = sec(r, 'connections.b');
  assert.equal(valueOf(b, 'rekey_time'), '2h');
  assert.equal(valueOf(sec(b, 'local'), 'auth'), 'psk');
  // inherited keys keep the origin of their definition
  assert.equal(sec(b, 'local').keys.get('auth')?.origin.line, 3);
});

test('references: several, left to right, and across newlines', () => {
  const { root } = parse('x { k = 1\n m = x }\ny { k = 2\n n = y }\nz : x,\n  y { }\n');
  const z = sec(resolveReferences(root), 'z');
  assert.deepEqual(
    [...z.keys.values()].map((k) => `${k.name}=${k.value}`),
    ['k=1', 'm=x', 'n=y'],
  );
});

test('references: unknown names and cycles are errors with file:line', () => {
  const e = errorOf(() =>
    resolveReferences(parse('conn-defaults { }\nconnections {\n a : conn-default { }\n}\n').root),
  );
  assert.equal(
    e.message,
    "/etc/swanctl/swanctl.conf:3:6: section 'a' references 'conn-default', which is not defined (did you mean 'conn-defaults'?)",
  );
  const c = errorOf(() => resolveReferences(parse('a : b { }\nb : a { }\n').root));
  assert.match(c.message, /^\/etc\/swanctl\/swanctl.conf:1:1: section 'a' inherits from itself \(a -> b -> a\)/);
});

const syntaxErrors: [string, string][] = [
  [
    's {\n a = 1\n',
    "/etc/swanctl/swanctl.conf:1:1: section 's' is not closed (add '}' before the end of swanctl.conf)",
  ],
  ['a = 1\n}\n', "/etc/swanctl/swanctl.conf:2:1: unexpected '}' (remove it, or open a section with name { before it)"],
  [
    'a = "open\n\n',
    '/etc/swanctl/swanctl.conf:1:5: unterminated quoted string (add the closing " (a quoted value may span lines))',
  ],
  [
    's { "x" = 1 }',
    '/etc/swanctl/swanctl.conf:1:5: unexpected quoted string (quotes are only allowed in values, after =)',
  ],
  [
    'a.b = 1\n',
    "/etc/swanctl/swanctl.conf:1:2: '.' is not allowed in the name 'a....' (names may not contain . , : { } = \" # or spaces; nest sections instead of writing 'a.b = c')",
  ],
  [
    's {\n  lonely\n}\n',
    "/etc/swanctl/swanctl.conf:3:1: expected '=' or '{' after 'lonely', found '}' (write lonely = value, or lonely { ... })",
  ],
  [
    's : { }',
    "/etc/swanctl/swanctl.conf:1:5: expected a section name after ':', found '{' (write name : other-section[, more.sections] { ... })",
  ],
  [
    '= 1\n',
    "/etc/swanctl/swanctl.conf:1:1: unexpected '=' (expected a key (key = value), a section (name { ... }) or include)",
  ],
  [
    'include ""\n',
    '/etc/swanctl/swanctl.conf:1:1: include without a file name (write include FILE or include "dir/*.conf")',
  ],
];

for (const [text, message] of syntaxErrors) {
  test(`syntax error: ${JSON.stringify(text)}`, () => {
    assert.equal(errorOf(() => parse(text)).message, message);
  });
}

test('a syntax error in an included file names that file and line', () => {
  const e = errorOf(() =>
    parse('connections {\n include c.conf\n}\n', { '/etc/swanctl/c.conf': 'ok = 1\n\n  bad bad\n' }),
  );
  assert.deepEqual(e.origin, { file: '/etc/swanctl/c.conf', line: 3, column: 7 });
});

/** `ip xfrm policy ...` lines: selectors, dir, priority, action, tmpl, del/list/flush. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXfrmLine } from '../../src/xfrm/index.js';
import type { XfrmPolicyAdd } from '../../src/xfrm/index.js';
import { strip, xfrmError } from './helpers.js';

function add(line: string): XfrmPolicyAdd {
  const c = parseXfrmLine(line);
  assert.equal(c.object, 'policy');
  assert.equal(c.verb, 'add');
  return c as XfrmPolicyAdd;
}

test('policy add with selector, dir, priority and a tunnel template', () => {
  const line =
    'ip xfrm policy add src 203.0.113.0/24 dst 198.51.100.0/24 proto udp dport 53 dir out priority 100 tmpl src 192.0.2.1 dst 198.51.100.2 proto esp mode tunnel reqid 7';
  const c = add(line);
  assert.deepEqual(strip(c), {
    object: 'policy',
    verb: 'add',
    sel: { src: '203.0.113.0/24', dst: '198.51.100.0/24', proto: 17, dport: 53 },
    dir: 'out',
    priority: 100,
    action: 'allow',
    tmpls: [{ src: '192.0.2.1', dst: '198.51.100.2', proto: 'esp', mode: 'tunnel', reqid: 7 }],
  });
  assert.deepEqual(c.tmpls[0]!.at, { word: 17, column: line.indexOf('tmpl') + 1 });
});

test('arguments in any order; transport templates without addresses; ah; spi and level required', () => {
  const c = add(
    // As in iproute2, src/dst right after a tmpl belong to the template, so the selector comes first here.
    'policy add src 192.0.2.0/24 dst 192.0.2.7 dir in tmpl proto ah reqid 3 spi 0x2000 level required ptype main',
  );
  assert.deepEqual(strip(c.tmpls), [{ proto: 'ah', spi: 0x2000, mode: 'transport', reqid: 3 }]);
  assert.deepEqual(c.sel, { src: '192.0.2.0/24', dst: '192.0.2.7/32' });
  assert.equal(c.dir, 'in');
});

test('action allow without tmpl, action block, fwd, IPv6 selectors, ICMPv6 type', () => {
  assert.deepEqual(strip(add('policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir fwd action allow')), {
    object: 'policy',
    verb: 'add',
    sel: { src: '192.0.2.0/24', dst: '198.51.100.0/24' },
    dir: 'fwd',
    action: 'allow',
    tmpls: [],
  });
  assert.equal(add('policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir in action block').action, 'block');
  assert.deepEqual(add('policy add src 2001:db8::/32 dst 2001:db8:1::1 proto ipv6-icmp type 135 dir out').sel, {
    src: '2001:db8::/32',
    dst: '2001:db8:1::1/128',
    proto: 58,
    type: 135,
  });
  assert.deepEqual(add('policy add dst 198.51.100.0/24 dir out').sel, { src: '0.0.0.0/0', dst: '198.51.100.0/24' });
});

test('policy del by selector or index, list filters, flush', () => {
  assert.deepEqual(parseXfrmLine('policy del src 192.0.2.0/24 dst 198.51.100.0/24 dir out'), {
    object: 'policy',
    verb: 'del',
    sel: { src: '192.0.2.0/24', dst: '198.51.100.0/24' },
    dir: 'out',
  });
  assert.deepEqual(parseXfrmLine('policy delete index 9 dir in'), {
    object: 'policy',
    verb: 'del',
    index: 9,
    dir: 'in',
  });
  assert.deepEqual(parseXfrmLine('policy list'), { object: 'policy', verb: 'list' });
  assert.deepEqual(parseXfrmLine('policy show dst 198.51.100.0/24 dir out action block priority 5'), {
    object: 'policy',
    verb: 'list',
    sel: { dst: '198.51.100.0/24' },
    dir: 'out',
    action: 'block',
    priority: 5,
  });
  assert.deepEqual(parseXfrmLine('policy flush'), { object: 'policy', verb: 'flush' });
  assert.match(
    xfrmError(() => parseXfrmLine('policy del src 192.0.2.0/24 dst 198.51.100.0/24')).message,
    /argument 'dir'.*missing/,
  );
});

test('refusals: bundles, level use, tunnel tmpl without endpoints, sub policies, marks, bad values', () => {
  const refused: [string, RegExp][] = [
    [
      'policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out tmpl proto ah reqid 1 tmpl proto esp reqid 1',
      /SA bundles/,
    ],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out tmpl proto esp reqid 1 level use', /level use/],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out tmpl proto esp mode tunnel reqid 1', /tunnel endpoints/],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out ptype sub', /policy type 'sub'/],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out mark 1', /marks are not supported/],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir sideways', /unknown direction 'sideways'/],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out action reject', /unknown action 'reject'/],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out priority -1', /not a number/],
    ['policy add dir out', /argument 'selector'.*missing/],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24', /argument 'dir'.*missing/],
    ['policy add src 192.0.2.0/24 dir out dst 198.51.100.0/24', /selector must be written in one piece/],
    ['policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out tmpl proto comp', /not comp/],
    [
      'policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out tmpl src 192.0.2.1 dst 2001:db8::1 proto esp',
      /different address families/,
    ],
    ['policy get src 192.0.2.0/24 dst 198.51.100.0/24 dir out', /'policy get' is not supported/],
  ];
  for (const [line, re] of refused) assert.match(xfrmError(() => parseXfrmLine(line)).message, re, line);
});

/** The daemon's sans-I/O parts on their own: reqids, connection actions, up waiters, the route source rule. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nullLogger } from '../../src/common/log.js';
import { ConnectionActions, KEYING_RETRY_MS } from '../../src/daemon/connection-actions.js';
import type { ActionCommand } from '../../src/daemon/connection-actions.js';
import { hostOf, PolicyInstaller, routeSource } from '../../src/daemon/policy-installer.js';
import { memoryIo } from '../../src/daemon/memory-io.js';
import type { KernelIpsec } from '../../src/kernel/kernel-ipsec.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import { ReqidRegistry } from '../../src/daemon/reqid-registry.js';
import { UpWaiters } from '../../src/daemon/up-waiters.js';
import { conf, configOf } from './memory-daemons.js';

test('reqids: one per CHILD_SA, kept across a rekey, a trap reqid taken over once', () => {
  const r = new ReqidRegistry();
  const net = { conn: 'lab', child: 'net' };
  const a = r.assign(10, net);
  const b = r.assign(11, net);
  assert.notEqual(a, b, 'two CHILD_SAs of one child config (two peers) have distinct reqids');
  assert.equal(r.assign(12, net, 10), a, 'the rekey of 10 keeps its reqid');
  assert.deepEqual(r.release(10), { reqid: a, unused: false, trap: false }, 'still used by its successor');
  assert.deepEqual(r.release(12), { reqid: a, unused: true, trap: false });
  assert.equal(r.reqidOf(12), undefined);

  const web = { conn: 'lab', child: 'web' };
  const trap = r.trap(web);
  assert.equal(r.trap(web), trap, 'one trap reqid per child config');
  assert.deepEqual(r.trapOf(trap), web);
  assert.equal(r.assign(20, web), trap, 'the first CHILD_SA takes the unused trap reqid');
  assert.notEqual(r.assign(21, web), trap, 'a second one gets its own');
  assert.deepEqual(r.release(20), { reqid: trap, unused: true, trap: true }, 'the trap keeps its policies');
  assert.equal(r.assign(22, web), trap, 'and is taken over again');
  assert.equal(r.trapOf(a), undefined);
});

test('reqids: a CHILD_SA with the selectors and peer of one in use (a reauthentication) shares its reqid', () => {
  const r = new ReqidRegistry();
  const net = { conn: 'lab', child: 'net' };
  const a = r.assign(10, net, undefined, 'peer-1 selectors-x');
  assert.equal(r.assign(11, net, undefined, 'peer-1 selectors-x'), a, 'same selectors, same peer: shared');
  assert.notEqual(r.assign(12, net, undefined, 'peer-2 selectors-y'), a, 'another peer: its own');
  assert.notEqual(r.assign(13, { conn: 'lab', child: 'web' }, undefined, 'peer-1 selectors-x'), a, 'another child');
  assert.deepEqual(r.release(10), { reqid: a, unused: false, trap: false }, 'the old one goes, the policies stay');
  assert.deepEqual(r.release(11), { reqid: a, unused: true, trap: false });
  assert.notEqual(r.assign(14, net, undefined, 'peer-1 selectors-x'), a, 'a released reqid is not reused');
});

function drain(a: ConnectionActions): ActionCommand[] {
  const out: ActionCommand[] = [];
  for (let c = a.nextCommand(); c !== undefined; c = a.nextCommand()) out.push(c);
  return out;
}

/** The registry's rules as a plain scan over every reqid (the reference the indexed registry must agree with). */
class ScanModel {
  next = 1;
  entries: { reqid: number; ref: string; trap: boolean; ids: Set<number>; same: string | undefined }[] = [];
  byChild = new Map<number, (typeof this.entries)[number]>();
  trap(ref: string): number {
    const t = this.entries.find((e) => e.trap && e.ref === ref);
    if (t !== undefined) return t.reqid;
    const e = { reqid: this.next++, ref, trap: true, ids: new Set<number>(), same: undefined };
    this.entries.push(e);
    return e.reqid;
  }
  assign(id: number, ref: string, rekeyOf: number | undefined, same: string | undefined): number {
    const existing = this.byChild.get(id);
    if (existing !== undefined) return existing.reqid;
    const previous = rekeyOf === undefined ? undefined : this.byChild.get(rekeyOf);
    const twin =
      same === undefined ? undefined : this.entries.find((e) => e.ids.size > 0 && e.same === same && e.ref === ref);
    const trap = this.entries.find((e) => e.trap && e.ref === ref);
    let e = previous ?? twin ?? (trap !== undefined && trap.ids.size === 0 ? trap : undefined);
    if (e === undefined) {
      e = { reqid: this.next++, ref, trap: false, ids: new Set<number>(), same: undefined };
      this.entries.push(e);
    }
    if (same !== undefined) e.same = same;
    e.ids.add(id);
    this.byChild.set(id, e);
    return e.reqid;
  }
  release(id: number): number | undefined {
    const e = this.byChild.get(id);
    if (e === undefined) return undefined;
    this.byChild.delete(id);
    e.ids.delete(id);
    if (e.ids.size === 0 && !e.trap) this.entries.splice(this.entries.indexOf(e), 1);
    return e.reqid;
  }
}

test('reqids: the indexed registry agrees with a scan over every reqid through 5,000 random steps', () => {
  const r = new ReqidRegistry();
  const m = new ScanModel();
  let seed = 7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const refs = ['a/x', 'a/y', 'b/x'];
  const live: number[] = [];
  let nextId = 1;
  for (let step = 0; step < 5000; step++) {
    const refText = refs[rand(refs.length)] ?? 'a/x';
    const [conn = '', child = ''] = refText.split('/');
    const ref = { conn, child };
    const op = rand(10);
    if (op === 0) assert.equal(r.trap(ref), m.trap(refText), `trap at step ${step}`);
    else if (op < 6 || live.length === 0) {
      const id = nextId++;
      const rekeyOf = live.length > 0 && rand(4) === 0 ? live[rand(live.length)] : undefined;
      const same = rand(3) === 0 ? undefined : `peer-${rand(4)}`;
      assert.equal(r.assign(id, ref, rekeyOf, same), m.assign(id, refText, rekeyOf, same), `assign at step ${step}`);
      live.push(id);
    } else {
      const id = live.splice(rand(live.length), 1)[0] ?? 0;
      assert.equal(r.release(id)?.reqid, m.release(id), `release at step ${step}`);
    }
  }
});

test('connection actions: keyingtries on deadlines, final on authentication failure or our own delete', () => {
  const config = configOf(conf('left', { conn: 'keyingtries = 2', child: 'close_action = start\n dpd_action = trap' }));
  const a = new ConnectionActions(() => config, nullLogger);
  a.initiated(1, 'lab', ['net'], false);
  a.ikeSaDeleted(1, 'lab', 'peerDead', 'peer not responding', 5_000);
  assert.equal(a.nextDeadlineMs(), 5_000 + KEYING_RETRY_MS);
  a.handleTimer(5_999);
  assert.deepEqual(drain(a), [], 'not before the deadline');
  a.handleTimer(6_000);
  assert.deepEqual(drain(a), [{ kind: 'initiate', conn: 'lab', children: ['net'], retry: true, why: 'keyingtries' }]);
  a.initiated(2, 'lab', ['net'], true);
  a.ikeSaDeleted(2, 'lab', 'peerDead', 'peer not responding', 7_000);
  assert.equal(a.nextDeadlineMs(), undefined, 'two tries in all');

  a.initiated(3, 'lab', undefined, false);
  a.ikeSaDeleted(3, 'lab', 'authFailed', 'AUTHENTICATION_FAILED', 8_000);
  a.initiated(4, 'lab', undefined, false);
  a.ikeSaDeleted(4, 'lab', 'local', 'terminated', 8_000);
  assert.equal(a.nextDeadlineMs(), undefined);
  assert.deepEqual(drain(a), []);
});

test('connection actions: close_action and dpd_action follow the typed cause of an established SA', () => {
  const config = configOf(conf('left', { child: 'close_action = start\n dpd_action = trap' }));
  const a = new ConnectionActions(() => config, nullLogger);
  a.initiated(1, 'lab', undefined, false);
  a.established(1);
  a.ikeSaDeleted(1, 'lab', 'peerDeleted', 'deleted by peer', 0);
  assert.deepEqual(drain(a), [{ kind: 'initiate', conn: 'lab', children: ['net'], retry: false, why: 'close_action' }]);
  a.ikeSaDeleted(2, 'lab', 'peerDead', 'peer not responding', 0);
  assert.deepEqual(drain(a), [{ kind: 'trap', conn: 'lab', child: 'net' }]);
  for (const cause of ['replaced', 'expired', 'local', 'failed'] as const) a.ikeSaDeleted(3, 'lab', cause, '', 0);
  assert.deepEqual(drain(a), [], 'a rekey, an expiry or our own delete is no loss');
  a.childSaDeleted({ conn: 'lab', child: 'net' }, 'peerDeleted', true);
  assert.equal(drain(a)[0]?.kind, 'initiate');
  a.childSaDeleted({ conn: 'lab', child: 'net' }, 'peerDeleted', false);
  assert.deepEqual(drain(a), [], 'the IKE_SA went too: its own close_action decides');
  a.expire(7, false);
  a.expire(8, true);
  assert.deepEqual(drain(a), [
    { kind: 'rekeyChild', childSaId: 7 },
    { kind: 'expireChild', childSaId: 8 },
  ]);
  a.stop();
  a.ikeSaDeleted(9, 'lab', 'peerDeleted', '', 0);
  assert.deepEqual(drain(a), [], 'nothing once stopping');
});

test('up waiters: resolved by an install, rejected by a failure or their deadline', async () => {
  const w = new UpWaiters();
  const one = w.wait('net', 'lab', 1_000, 'too late');
  const all = w.wait('lab', 'lab', 2_000, 'too late for lab');
  const info = { name: 'net' } as Parameters<UpWaiters['installed']>[2];
  w.installed('net', 'lab', info);
  assert.deepEqual(await one.done, [info]);
  assert.deepEqual(await all.done, [info]);
  const late = w.wait('net', 'lab', 3_000, 'no CHILD_SA');
  assert.equal(w.nextDeadlineMs(), 3_000);
  w.handleTimer(2_999);
  w.handleTimer(3_000);
  await assert.rejects(late.done, /no CHILD_SA/);
  const failing = w.wait('net', 'lab', 9_000, '');
  w.fail('lab', undefined, 'NO_PROPOSAL_CHOSEN');
  await assert.rejects(failing.done, /NO_PROPOSAL_CHOSEN/);
  assert.equal(w.nextDeadlineMs(), undefined);
});

test('route source: the one local host of the route family, else none', () => {
  assert.equal(hostOf('192.0.2.1/32'), '192.0.2.1');
  assert.equal(hostOf('192.0.2.1'), '192.0.2.1');
  assert.equal(hostOf('2001:db8::1/128'), '2001:db8::1');
  assert.equal(hostOf('192.0.2.0/24'), undefined);
  assert.equal(routeSource('203.0.113.0/24', ['198.51.100.1/32']), '198.51.100.1');
  assert.equal(routeSource('203.0.113.0/24', ['198.51.100.0/24']), undefined, 'a subnet has no one source');
  assert.equal(routeSource('203.0.113.0/24', ['198.51.100.1/32', '198.51.100.2/32']), undefined);
  assert.equal(routeSource('203.0.113.0/24', ['198.51.100.1/32', '2001:db8::1/128']), '198.51.100.1');
  assert.equal(routeSource('2001:db8:b::/48', ['198.51.100.1/32']), undefined, 'no host of that family');
});

test('policy installer: shared routes are counted, a later source replaces none, removal undoes each install', async () => {
  const io = memoryIo({ network: new MemoryNetwork(), address4: '192.0.2.1' });
  const policies: number[] = [];
  let nextId = 1;
  const kernel = {
    addPolicies: (args: readonly unknown[]) =>
      Promise.resolve(
        args.map(() => {
          policies.push(nextId);
          return nextId++;
        }),
      ),
    delPolicies: (ids: readonly number[]) => {
      for (const id of ids) policies.splice(policies.indexOf(id), 1);
      return Promise.resolve();
    },
  } as unknown as KernelIpsec;
  const p = new PolicyInstaller(kernel, io, io.tun.name, nullLogger);
  const selector = { local: '192.0.2.1', remote: '192.0.2.2' };
  const drop = await p.install({
    label: 'drop',
    policies: [{ direction: 'out', selector, action: 'discard' }],
    routes: [{ prefix: '192.0.2.2/32', locals: [] }],
  });
  assert.deepEqual([...io.routes], [['192.0.2.2/32', undefined]]);
  const trap = await p.install({
    label: 'trap',
    policies: [{ direction: 'out', selector, action: 'protect', reqid: 1 }],
    routes: [{ prefix: '192.0.2.2/32', locals: ['192.0.2.1/32'] }],
  });
  assert.deepEqual([...io.routes], [['192.0.2.2/32', '192.0.2.1']], 'the trap names the source');
  assert.deepEqual(policies, [1, 2]);
  await p.remove(drop);
  assert.deepEqual([...io.routes], [['192.0.2.2/32', '192.0.2.1']], 'still used by the trap');
  assert.deepEqual(policies, [2]);
  await p.remove(trap);
  assert.equal(io.routes.size, 0);
  assert.deepEqual(policies, []);
});

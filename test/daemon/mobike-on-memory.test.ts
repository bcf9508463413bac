/**
 * MOBIKE in the daemon on memory I/O: `local_addrs = %any` initiates from the route lookup's source; a kernel
 * address event whose route lookup gives a new source makes the client send UPDATE_SA_ADDRESSES, and the IKE_SA
 * (same SPIs) is listed at the new address once the gateway answered. Memory sockets keep their address, so the
 * datagrams still leave from the old one, which the update's NAT detection reports as a NAT on the client's side
 * (the namespace tests in test/interop/mobike.test.ts move real packets).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IkeSaInfo } from '../../src/control/schema.js';
import { conf, LEFT, settle, TwoDaemons } from './memory-daemons.js';

const ANY_LOCAL = conf('left').replace(`local_addrs = ${LEFT.outer}`, 'local_addrs = %any');

async function only(sas: Promise<{ ikeSas: IkeSaInfo[] }>): Promise<IkeSaInfo> {
  const { ikeSas } = await sas;
  assert.equal(ikeSas.length, 1, JSON.stringify(ikeSas));
  return ikeSas[0]!;
}

test('local_addrs = %any: the client initiates from the source its route lookup gives; none: up says why', async () => {
  assert.notEqual(ANY_LOCAL, conf('left'));
  const t = await TwoDaemons.start(ANY_LOCAL, conf('right'));
  try {
    const route = t.left.io.sources[4];
    delete t.left.io.sources[4];
    await assert.rejects(t.left.daemon.up('net', 10), /no route to \S+ to initiate 'lab' from \(local_addrs = %any\)/);
    if (route !== undefined) t.left.io.sources[4] = route;
    await t.left.daemon.up('net', 10);
    await settle();
    assert.equal((await only(t.left.daemon.sas())).localAddr, LEFT.outer);
  } finally {
    await t.stop();
  }
});

test('an address event with a new source: UPDATE_SA_ADDRESSES, the same IKE_SA listed at the new address', async () => {
  const t = await TwoDaemons.start(conf('left'), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const before = await only(t.left.daemon.sas());
    t.left.io.addressesChanged(); // an event, the same source: nothing to do
    await settle();
    assert.equal((await only(t.left.daemon.sas())).localAddr, LEFT.outer);
    t.left.io.sources[4] = '192.0.2.99';
    t.left.io.addressesChanged();
    await settle();
    const after = await only(t.left.daemon.sas());
    assert.deepEqual([after.spiI, after.spiR], [before.spiI, before.spiR], 'the same IKE_SA');
    assert.equal(after.localAddr, '192.0.2.99');
    assert.equal(after.children[0]?.spiIn, before.children[0]?.spiIn, 'the same CHILD_SA');
    const right = await only(t.right.daemon.sas());
    assert.deepEqual([right.spiI, right.spiR], [before.spiI, before.spiR]);
    const leftLog = t.left.logs.join('\n');
    assert.match(leftLog, /local address changed to 192\.0\.2\.99: updating the peer/);
    // The memory socket still sent from 192.0.2.1: to the gateway's NAT detection that is a NAT on our side, so IKE
    // goes on at port 4500 and the CHILD_SA switches to UDP encapsulation on both sides.
    assert.match(
      leftLog,
      /addresses updated: IKE_SA now 192\.0\.2\.99\[4500\]\.\.\.192\.0\.2\.2\[4500\], NAT local true/,
    );
    assert.match(leftLog, /CHILD_SA net\{\d+\}: UDP encapsulation on/);
    assert.equal(after.children[0]?.encap, true);
    assert.equal((await only(t.right.daemon.sas())).children[0]?.encap, true);
    assert.match(t.right.logs.join('\n'), /peer updated its addresses/);
    assert.equal((leftLog.match(/local address changed/g) ?? []).length, 1, 'one update, not one per event');
  } finally {
    await t.stop();
  }
});

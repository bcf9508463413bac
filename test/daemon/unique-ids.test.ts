/** `unique` decisions: the same peer again is a duplicate; EAP users are told apart by their EAP identity. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueVictims } from '../../src/daemon/unique-ids.js';

const sa = (id: number, remoteId: string, remoteEapId?: string) => ({
  id,
  localId: 'gw.lab',
  remoteId,
  remoteAddress: `198.51.100.${id}`,
  ...(remoteEapId !== undefined ? { remoteEapId } : {}),
});

test('replace deletes the older IKE_SA of the same identity, keep refuses the new one, never keeps both', () => {
  const all = [sa(1, 'carol@lab'), sa(2, 'dave@lab'), sa(3, 'carol@lab')];
  assert.deepEqual(uniqueVictims('replace', sa(3, 'carol@lab'), all), { delete: [1], refused: false, pending: [] });
  assert.deepEqual(uniqueVictims('keep', sa(3, 'carol@lab'), all), { delete: [3], refused: true, pending: [] });
  assert.deepEqual(uniqueVictims('never', sa(3, 'carol@lab'), all), { delete: [], refused: false, pending: [] });
});

test('EAP users sharing an IKE identity are different users; the same EAP user from another IKE identity is not', () => {
  const all = [sa(1, '192.0.2.10', 'carol'), sa(2, '192.0.2.10', 'dave')];
  assert.deepEqual(uniqueVictims('replace', sa(2, '192.0.2.10', 'dave'), all), {
    delete: [],
    refused: false,
    pending: [],
  });
  const again = [...all, sa(3, '192.0.2.11', 'carol')];
  assert.deepEqual(uniqueVictims('replace', sa(3, '192.0.2.11', 'carol'), again), {
    delete: [1],
    refused: false,
    pending: [],
  });
  // An EAP user named like another peer's IKE identity is not that peer.
  const mixed = [sa(4, 'carol'), sa(5, 'carol', 'carol')];
  assert.deepEqual(uniqueVictims('replace', sa(5, 'carol', 'carol'), mixed), {
    delete: [],
    refused: false,
    pending: [],
  });
});

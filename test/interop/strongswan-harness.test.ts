/**
 * The harness itself: two strongSwan peers in a lab pass a ping through a kernel-libipsec tunnel. If this
 * fails, the machine (not the project) is at fault, and the interop tests that follow would say nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';

const skip = labSkip('strongswan');

function conf(local: string, remote: string, lts: string, rts: string, me: string, peer: string): string {
  return `connections { lab { version = 2
  local_addrs = ${local}
  remote_addrs = ${remote}
  encap = yes
  proposals = aes128gcm16-prfsha256-x25519
  local { auth = psk
    id = ${me} }
  remote { auth = psk
    id = ${peer} }
  children { net { local_ts = ${lts}
    remote_ts = ${rts}
    esp_proposals = aes128gcm16 } } } }
secrets { ike-lab { secret = "harness-psk-0123456789" } }
`;
}

test('lab harness: strongSwan to strongSwan over kernel-libipsec', { skip, timeout: 60_000 }, async () => {
  const lab = await Lab.create('harness');
  try {
    const { left, right } = lab;
    await StrongSwan.start(lab, right, conf(right.outer4, left.outer4, right.inner4, left.inner4, 'right', 'left'));
    const l = await StrongSwan.start(
      lab,
      left,
      conf(left.outer4, right.outer4, left.inner4, right.inner4, 'left', 'right'),
    );
    const out = await l.swanctl('--initiate', '--child', 'net');
    assert.match(out, /initiate completed successfully/);
    const ping = await lab.exec(left, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', left.inner4, right.inner4]);
    assert.match(ping, /2 received/);
    assert.match(await l.listSas(), /net: #\d+, reqid \d+, INSTALLED, TUNNEL-in-UDP/);
  } finally {
    await lab.destroy();
  }
});

/** swanctl.conf text for the namespace tests: one PSK connection between two lab hosts. */
import type { LabHost } from './lab.js';

export interface ChildSpec {
  name?: string;
  /** Default: the host's inner IPv4 address /32; null leaves the key out (strongSwan's `dynamic`). */
  localTs?: string | null;
  remoteTs?: string | null;
  /** Any further `key = value` lines of the child section. */
  settings?: Record<string, string>;
}

export interface PskConnection {
  me: LabHost;
  peer: LabHost;
  /** Connection name (default `lab`). */
  name?: string;
  /** Outer addresses: IPv4 (default) or IPv6. */
  outer?: 4 | 6;
  /** remote_addrs (default: the peer's outer address; `%any` for a responder behind which NAT hides the peer). */
  remoteAddrs?: string;
  /** Identities (default: the outer addresses). */
  meId?: string;
  peerId?: string;
  /** Further connection-level `key = value` lines (proposals, encap, rekey_time, ...). */
  settings?: Record<string, string>;
  children?: ChildSpec[];
  secret?: string;
}

function lines(settings: Record<string, string> | undefined, indent: string): string {
  return Object.entries(settings ?? {})
    .map(([k, v]) => `${indent}${k} = ${v}\n`)
    .join('');
}

export function pskConfig(c: PskConnection): string {
  const outer = (h: LabHost) => (c.outer === 6 ? h.outer6 : h.outer4);
  const children = (c.children ?? [{}])
    .map(
      (ch) =>
        `      ${ch.name ?? 'net'} {\n` +
        (ch.localTs === null ? '' : `        local_ts = ${ch.localTs ?? `${c.me.inner4}/32`}\n`) +
        (ch.remoteTs === null ? '' : `        remote_ts = ${ch.remoteTs ?? `${c.peer.inner4}/32`}\n`) +
        lines(ch.settings, '        ') +
        `      }\n`,
    )
    .join('');
  return (
    `connections {\n  ${c.name ?? 'lab'} {\n` +
    `    local_addrs = ${outer(c.me)}\n    remote_addrs = ${c.remoteAddrs ?? outer(c.peer)}\n` +
    lines(c.settings, '    ') +
    `    local {\n      auth = psk\n      id = ${c.meId ?? outer(c.me)}\n    }\n` +
    `    remote {\n      auth = psk\n      id = ${c.peerId ?? outer(c.peer)}\n    }\n` +
    `    children {\n${children}    }\n  }\n}\n` +
    `secrets {\n  ike-lab {\n    secret = "${c.secret ?? 'lab-psk-0123456789abcdef'}"\n  }\n}\n`
  );
}

/**
 * A PSK road-warrior gateway `rw` on `gw`: any peer (`remote.id` unset), an IPv4 address from the pool `rw4`,
 * the gateway's inner IPv4 address behind it, ESP in UDP.
 */
export function pskGatewayConfig(gw: LabHost, pool4: string, secret: string, outer: 4 | 6 = 4): string {
  return `connections {
  rw {
    local_addrs = ${outer === 4 ? gw.outer4 : gw.outer6}
    pools = rw4
    encap = yes
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = gw.lab
    }
    remote {
      auth = psk
    }
    children {
      net {
        local_ts = ${gw.inner4}/32
        esp_proposals = aes128gcm16
      }
    }
  }
}
pools {
  rw4 {
    addrs = ${pool4}
  }
}
secrets {
  ike-rw {
    secret = "${secret}"
  }
}
`;
}

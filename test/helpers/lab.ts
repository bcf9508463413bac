import fs from 'node:fs';
import path from 'node:path';
import type { Lab, LabHost } from '../../src/demo/lab.js';

export { LEFT_TO_THIRD, Lab, canRunLab, waitFor } from '../../src/demo/lab.js';
export type { LabHost, LabOptions } from '../../src/demo/lab.js';

/**
 * `ip netns exec` shows /etc/netns/NAME/ as the namespace's /etc: a client's resolv.conf goes there. Makes the
 * folder for `host` and removes it with the lab (and /etc/netns itself when the lab made it and it is left empty).
 */
export function netnsEtc(lab: Lab, host: LabHost): string {
  const etc = path.join('/etc/netns', host.ns);
  const hadNetnsDir = fs.existsSync('/etc/netns');
  fs.mkdirSync(etc, { recursive: true });
  lab.onDestroy(() => {
    fs.rmSync(etc, { recursive: true, force: true });
    if (!hadNetnsDir && fs.readdirSync('/etc/netns').length === 0) fs.rmdirSync('/etc/netns');
  });
  return etc;
}

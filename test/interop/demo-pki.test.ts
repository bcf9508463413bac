/** `tsipsec demo --pki`: the demo tunnel authenticated with certificates from a demo CA, a ping through it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labSkip } from '../helpers/prerequisites.js';
import { run } from '../../src/cli/run.js';

const skip = labSkip();

test(
  'tsipsec demo --pki brings the tunnel up on certificates and pings through it',
  { skip, timeout: 120_000 },
  async () => {
    let out = '';
    let err = '';
    const code = await run(['demo', '--pki'], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    });
    assert.equal(code, 0, err + out);
    assert.match(out, /A demo CA issued a certificate to each/);
    assert.match(out, /3 packets transmitted, 3 received/);
    assert.match(out, /authenticated each other with certificates from C=CH, O=ts-ipsec demo, CN=Demo CA/);
    assert.match(out, /Removed the namespaces and daemons/);
  },
);

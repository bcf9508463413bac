import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLineLogger, LogLevel } from '../../src/common/log.js';

test('line logger filters by subsystem level and formats like charon', () => {
  const lines: string[] = [];
  const log = createLineLogger({
    level: LogLevel.CONTROL,
    levels: { knl: LogLevel.SILENT },
    write: (l) => lines.push(l),
  });
  log.log('ike', LogLevel.CONTROL, 'IKE_SA lab[1] established', 'lab[1]');
  log.log('ike', LogLevel.DETAIL, 'not shown');
  log.log('knl', LogLevel.AUDIT, 'not shown either');
  log.log('cfg', LogLevel.AUDIT, 'loaded');
  assert.deepEqual(lines, ['01[IKE] <lab[1]> IKE_SA lab[1] established', '00[CFG] loaded']);
  assert.equal(log.enabled('ike', LogLevel.PRIVATE), false);
  assert.equal(log.enabled('ike', LogLevel.AUDIT), true);
});

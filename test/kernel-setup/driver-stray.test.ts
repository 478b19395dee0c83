import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const driver = path.resolve(__dirname, '..', '..', '..', 'kernel-setup', 'driver.py');

function unhandledIn(text: string): string | null {
  const code = [
    'import importlib.util, json, sys',
    `spec = importlib.util.spec_from_file_location('driver', ${JSON.stringify(driver)})`,
    'd = importlib.util.module_from_spec(spec); spec.loader.exec_module(d)',
    'found = d.unhandled_in(sys.stdin.read())',
    'print(json.dumps(None if found is None else found.group(1)))',
  ].join('\n');
  const res = spawnSync('/usr/bin/python3', ['-c', code], { input: text, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout) as string | null;
}

test("the driver ignores tslab's own report of a stray ZeroMQ message but not a cell's rejection after it", () => {
  assert.equal(unhandledIn('UnhandledPromiseRejection: Error: message missing delimiter\n    at ZmqMessage.fromRaw (jupyter.js:88:19)\n'), null);
  assert.equal(
    unhandledIn('UnhandledPromiseRejection: Error: message missing delimiter\n    at x\nUnhandledPromiseRejection: Error: boom\n    at y\n'),
    'UnhandledPromiseRejection: Error: boom\n    at y\n',
  );
  assert.equal(unhandledIn('log line\nUncaughtException: Error: late\n'), 'UncaughtException: Error: late\n');
  assert.equal(unhandledIn('nothing to see\n'), null);
});

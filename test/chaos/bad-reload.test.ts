/**
 * Chaos 6: HUP with a broken config file, with app code that throws at import, and with the
 * config file deleted, under a steady load: the old workers keep serving (zero failed requests),
 * the error is logged with the file and the reason, the master stays up; once the fault is
 * repaired, the next HUP rolls the workers as usual.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, isAlive, tmpDir, writeConfig } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { settled } from '../support/proc.js';
import { launch, type Ld, loadFigures, RATE, record, since, timeUntil, useChaos } from './chaos.js';

let ld: Ld;

useChaos((v) => (ld = v));

type Fault = 'broken-config' | 'app-throws-at-import' | 'config-deleted';

const cases: [Fault, RegExp][] = [
  // The config file is named, with the syntax error.
  ['broken-config', /Reload failed, keeping the running workers: .*supervisor\.config\.mjs[^\n]*(SyntaxError|Unexpected|syntax)[^\n]*/i],
  // The app file is named, with what it threw.
  ['app-throws-at-import', /Reload failed: new workers cannot boot \(.*app\.mjs.*boom at import.*\); keeping the running workers/],
  // The missing config file is named.
  ['config-deleted', /Reload failed, keeping the running workers: [^\n]*supervisor\.config\.mjs[^\n]*/],
];

test.each(cases)('HUP with %s: the old workers keep serving, the error names the file and the reason, the master stays up', async (fault, says) => {
  const dir = tmpDir();
  const port = await freePort();
  const app = path.join(dir, 'app.mjs');
  fs.copyFileSync(path.join(FIXTURES, 'apps', 'basic.mjs'), app);
  const pidfile = path.join(dir, 'ldsup.pid');
  const configText = `export default { app: './app.mjs', workers: 2, bind: '127.0.0.1:${port}', pidfile: ${JSON.stringify(pidfile)} };\n`;
  const cfg = writeConfig(dir, 'supervisor.config.mjs', configText);
  const l = launch(ld, ['-c', cfg]);
  await l.ready();
  const before = await settled(pidfile, 2);
  const run = load({ port, rate: RATE, durationMs: 180_000, maxRequests: RATE * 180, sockets: 8, timeoutMs: 30_000 });
  await timeUntil('the load to be answered', () => run.answered >= 50, CI_TIMEOUT);

  if (fault === 'broken-config') fs.writeFileSync(cfg, `export default {\n  app: './app.mjs',\n  workers: 2,,\n};\n`);
  else if (fault === 'app-throws-at-import') fs.writeFileSync(app, `throw new Error('boom at import');\n`);
  else fs.rmSync(cfg);
  const t0 = Date.now();
  l.signal('SIGHUP');
  const line = (await l.waitFor(says, 60_000))[0];
  const reportedMs = since(t0);
  // The old workers are still the ones serving, and the master is up.
  const still = await settled(pidfile, 2, [], 60_000);
  expect(still.sort()).toEqual([...before].sort());
  const target = run.answered + RATE;
  await timeUntil('load after the failed reload', () => run.answered >= target, CI_TIMEOUT);
  expect(isAlive(l.pid)).toBe(true);

  // Repair, HUP: the workers are replaced as usual.
  fs.writeFileSync(cfg, configText);
  fs.copyFileSync(path.join(FIXTURES, 'apps', 'basic.mjs'), app);
  const t1 = Date.now();
  l.signal('SIGHUP');
  await settled(pidfile, 2, before, 90_000);
  const repairedMs = since(t1);
  const target2 = run.answered + RATE;
  await timeUntil('load after the repaired reload', () => run.answered >= target2, CI_TIMEOUT);
  const r = await run.stop();
  record(`6-hup-${fault}`, { ...loadFigures(r), errorLine: line.replace(/^\[[^\]]*\] \[\d+\] /, ''), reportedAfterMs: reportedMs, reloadAfterRepairMs: repairedMs, masterUp: isAlive(l.pid) });
  expect(r.failures).toEqual([]);
  expect(r.sent).toBe(r.answered);
  // The error is reported once, not once per retry.
  expect(l.output.split(line).length - 1).toBe(1);
}, 240_000);

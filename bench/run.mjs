#!/usr/bin/env node
// ldsup benchmark suite (issue #5). Usage (from the repo root, after `npm run build` and
// `npm install --prefix bench`):
//   node bench/run.mjs [--smoke] [--rounds N] [--seconds S] [--warm S] [--reloads N]
//                      [--only throughput,startup,reload,idle] [--apps json,cpu,flag] [--soak SECONDS]
//                      [--ldsup-ref GITREF | --ldsup-worktree] [--md FILE]
// ldsup is benchmarked from a frozen build of a git ref (default HEAD) under bench/out/, unless
// --ldsup-worktree (the work tree's own dist/, which must be built and must not change meanwhile).
// Writes bench/out/results-<time>.json and bench/results.md, or --md FILE (e.g. a second Node's run;
// smoke: bench/out/results-smoke.md).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BENCH, ROOT, hasPm2, hasReusePort, unsupported } from './lib/configs.mjs';
import { endStartedOnExit, killAllStartedSync, machine } from './lib/proc.mjs';
import { checkWrk } from './lib/wrk.mjs';
import { throughputRun } from './throughput.mjs';
import { startupRun, STARTUP_CONFIGS } from './startup.mjs';
import { reloadRun, RELOAD_CONFIGS } from './reload.mjs';
import { idleRun, soakRun } from './idle.mjs';
import { renderMarkdown, RESULTS_MD } from './report.mjs';
import { snapshotLdsup } from './lib/snapshot.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => { const i = argv.indexOf(`--${name}`); return i >= 0 && argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[i + 1] : def; };
const smoke = argv.includes('--smoke');
const P = {
  smoke,
  rounds: Number(opt('rounds', smoke ? 1 : 3)),
  seconds: Number(opt('seconds', smoke ? 1 : 5)),
  warm: Number(opt('warm', smoke ? 0.5 : 2)),
  reloads: Number(opt('reloads', smoke ? 2 : 20)),
  startupRounds: Number(opt('startup-rounds', smoke ? 1 : 15)), // 5-round medians moved by ±10 % between runs
  idleSeconds: Number(opt('idle-seconds', smoke ? 1 : 30)),
  only: opt('only', 'throughput,startup,reload,idle').split(','),
  apps: opt('apps', 'json,cpu,flag').split(','),
  modes: opt('modes', 'keepalive,close').split(','),
  configs: opt('configs', `plain,rr,none,pm2,ldsup,ldsup-nobal${hasReusePort ? ',reuseport' : ''}`).split(','),
  soak: argv.includes('--soak') ? Number(opt('soak', 600)) : 0,
};
P.warm = Math.max(1, Math.round(P.warm)); // wrk takes whole seconds

const log = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
endStartedOnExit(log);

for (const why of P.configs.map(unsupported).filter(Boolean)) {
  console.error(`bench: --configs: ${why}`);
  process.exit(2);
}
let wrkVersion;
try { wrkVersion = checkWrk(); } catch (e) { console.error(`bench: ${e.message}`); process.exit(2); }
if (!hasPm2()) {
  console.error('bench: pm2 is not installed for the bench: run `npm install --prefix bench` (pm2 is AGPL, kept out of the root package.json)');
  process.exit(2);
}

const outDir = path.join(BENCH, 'out');
const logDir = path.join(outDir, 'logs');
fs.mkdirSync(logDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const jsonFile = opt('into') ? opt('into') : smoke ? 'results-smoke.json' : `results-${stamp}.json`;
const t0 = Date.now();
const mdFile = smoke ? path.join(outDir, 'results-smoke.md') : path.resolve(opt('md', RESULTS_MD));

let ldsup = { dir: ROOT, sha: 'work tree' };
if (argv.includes('--ldsup-worktree')) {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.cjs'))) { console.error('bench: dist/ missing: run `npm run build` first'); process.exit(2); }
} else ldsup = snapshotLdsup(ROOT, outDir, opt('ldsup-ref', opt('into') ? JSON.parse(fs.readFileSync(path.join(outDir, opt('into')), 'utf8')).ldsup.ref : 'HEAD'));
process.env.BENCH_LDSUP_DIR = ldsup.dir;

const calibration = JSON.parse(execFileSync(process.execPath, [path.join(BENCH, 'apps', 'calibrate.mjs'), '50'], { encoding: 'utf8' }));
process.env.BENCH_CPU_ITERS = String(calibration.iters);
const data = {
  command: `node bench/run.mjs ${argv.join(' ')}`.trim(),
  startedAt: new Date().toISOString(),
  params: P,
  jsonFile,
  calibration,
  ldsup: { ref: ldsup.sha, dir: path.relative(ROOT, ldsup.dir) || '.' },
  machine: {
    cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGB: os.totalmem() / 2 ** 30, kernel: `Linux ${os.release()}`,
    node: process.version, wrk: wrkVersion,
    pm2: JSON.parse(fs.readFileSync(path.join(BENCH, 'node_modules', 'pm2', 'package.json'), 'utf8')).version,
    loadStart: machine().loadavg,
  },
  throughput: [], startup: [], reload: [], idle: [],
};
// --into FILE: add the sections run now to an earlier results file (same JSON, same results.md).
if (opt('into')) {
  const prev = JSON.parse(fs.readFileSync(path.join(outDir, opt('into')), 'utf8'));
  for (const k of ['throughput', 'startup', 'reload', 'idle']) if (!P.only.includes(k)) data[k] = prev[k] ?? [];
  if (!P.soak && prev.soak) data.soak = prev.soak;
  Object.assign(data, { command: `${prev.command}; then ${data.command}`, startedAt: prev.startedAt, jsonFile: opt('into'), calibration: prev.calibration, ldsup: prev.ldsup, params: { ...prev.params, reloads: P.reloads, idleSeconds: P.idleSeconds } });
  data.machine.loadStart = prev.machine.loadStart;
}
const save = () => {
  data.tookS = (Date.now() - t0) / 1000;
  data.machine.loadEnd = machine().loadavg;
  fs.writeFileSync(path.join(outDir, jsonFile), JSON.stringify(data, null, 1));
  fs.writeFileSync(mdFile, renderMarkdown(data));
};

try {
  if (P.only.includes('startup')) {
    for (let round = 1; round <= P.startupRounds; round++) {
      const order = round % 2 ? STARTUP_CONFIGS : [...STARTUP_CONFIGS].reverse();
      for (const cfg of order) {
        const r = await startupRun(cfg, logDir);
        log(`startup r${round} ${cfg.id}: first ${r.firstMs.toFixed(0)} ms, all ${r.allMs.toFixed(0)} ms`);
        data.startup.push({ round, ...r, loadavg: machine().loadavg });
      }
    }
    save();
  }
  if (P.only.includes('throughput')) {
    for (let round = 1; round <= P.rounds; round++) {
      for (const app of P.apps) for (const mode of P.modes) {
        // rotate the config order each round so no config always runs first/last
        const cfgs = P.configs.map((_, i) => P.configs[(i + round - 1) % P.configs.length]);
        for (const name of cfgs) {
          try {
            const r = await throughputRun({ name, app, close: mode === 'close', warm: P.warm, seconds: P.seconds, logDir });
            data.throughput.push({ round, ...r });
            log(`r${round} ${app}/${mode} ${name}: ${r.rps.toFixed(0)} req/s p99 ${r.p99} ms, server ${r.serverUsPerReq.toFixed(1)} µs/req, foreign ${r.foreignPct.toFixed(0)} %`);
          } catch (e) {
            log(`r${round} ${app}/${mode} ${name}: FAILED ${e.message}`);
            data.throughput.push({ round, name, app, mode, error: e.message, rps: NaN, workerCpuS: [], workerRssMB: [], errors: {}, loadavg: [] });
          }
        }
        save();
      }
    }
  }
  if (P.only.includes('reload')) {
    for (const cfg of RELOAD_CONFIGS) {
      const r = await reloadRun(cfg, { reloads: P.reloads, logDir });
      log(`reload ${cfg.id}: ${r.failed} failed of ${r.sent} over ${r.reloads} reloads (per reload ${r.perReload.join(',')}), reload ${r.medianReloadMs} ms`);
      data.reload.push(r);
      save();
    }
  }
  if (P.only.includes('idle')) {
    for (const name of ['ldsup', 'rr', 'pm2']) {
      const r = await idleRun(name, { seconds: P.idleSeconds, logDir });
      log(`idle ${name}: ${r.cpuPct.toFixed(2)} % CPU, ${r.rssMB?.toFixed(1)} MB`);
      data.idle.push(r);
    }
    if (P.soak) data.soak = await soakRun({ seconds: P.soak, logDir });
    save();
  }
} finally {
  save();
  killAllStartedSync();
}
log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${path.relative(ROOT, mdFile)}, bench/out/${jsonFile}`);

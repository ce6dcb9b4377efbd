// Turns the results JSON into bench/results.md: medians over rounds, ratios within each round.
import { median, fmt, ratio } from './lib/stats.mjs';
import { baseConfig } from './lib/configs.mjs';

/** Where a full run's report goes unless --md says otherwise. */
export const RESULTS_MD = new URL('./results.md', import.meta.url).pathname;

const LABEL = {
  plain: '1. plain node (1 process)',
  rr: '2. node:cluster ×2, SCHED_RR',
  none: '3. node:cluster ×2, SCHED_NONE',
  pm2: '4. pm2 cluster -i 2',
  ldsup: '5. ldsup -w 2 (shared fd)',
  'ldsup-nobal': '5b. ldsup -w 2 (shared fd, --keep-alive-balance false)',
  reuseport: '6. node:cluster ×2, reusePort (Node ≥ 22.12)',
};
/** The configs present in `runs`, in LABEL's order, each followed by its A/A copies (`name@N`). */
function configsIn(runs) {
  const names = [...new Set(runs.map((r) => r.name))];
  const order = Object.keys(LABEL);
  const key = (n) => [order.indexOf(baseConfig(n)), Number(n.split('@')[1] ?? 1)];
  return names.filter((n) => order.includes(baseConfig(n))).sort((a, b) => { const [x, i] = key(a), [y, j] = key(b); return x - y || i - j; });
}
const labelOf = (cfg) => { const [base, copy] = cfg.split('@'); return copy ? `${LABEL[base]}, again (A/A control ${copy})` : LABEL[base]; };
/** The raw node:cluster policies: "best cluster" is the best of those run in the same round (not their A/A copies). */
const CLUSTER = ['rr', 'none', 'reuseport'];
const APPS = { json: 'trivial JSON', cpu: '~50 µs CPU per request', flag: "example app's /flag (flag evaluation)" };
const MODES = { keepalive: 'keep-alive (wrk -t1 -c64)', close: 'new connection per request (Connection: close)' };

/** cfg's figure over the reference's (the best of several) in the same round, one per round. */
function roundRatios(runs, cfg, ref, key = 'rps') {
  const rs = [];
  for (const r of runs.filter((x) => x.name === cfg)) {
    const refs = runs.filter((x) => x.round === r.round && (Array.isArray(ref) ? ref.includes(x.name) : x.name === ref));
    if (!refs.length) continue;
    rs.push(ratio(r[key], Math.max(...refs.map((x) => x[key]))));
  }
  return rs.filter(Number.isFinite);
}
const roundRatio = (...a) => median(roundRatios(...a));
/** Median and, over several rounds, the range of the per-round ratios: how much noise there was. */
function ratioWithRange(runs, cfg, ref) {
  const rs = roundRatios(runs, cfg, ref);
  if (rs.length < 2) return fmt(median(rs), 2);
  return `${fmt(median(rs), 2)} (${fmt(Math.min(...rs), 2)}–${fmt(Math.max(...rs), 2)})`;
}

function throughputTables(d) {
  const out = [];
  const tp = d.throughput ?? [];
  for (const app of Object.keys(APPS)) for (const mode of Object.keys(MODES)) {
    const runs = tp.filter((r) => r.app === app && r.mode === mode);
    if (!runs.length) continue;
    const rounds = new Set(runs.map((r) => r.round)).size;
    out.push(`### ${APPS[app]}, ${MODES[mode]}\n`);
    out.push(`Medians of ${rounds} interleaved round(s) × ${d.params.seconds} s (after ${d.params.warm} s warm-up). Ratios are medians of per-round ratios (same round); in brackets the lowest and highest per-round ratio. "best cluster" = the best of the raw node:cluster policies run in that round (RR, NONE, and reusePort on Node ≥ 22.12).\n`);
    out.push('| config | req/s | × plain | × RR | × NONE | × best cluster | × pm2 | p50 ms | p99 ms | errors | server CPU µs/req (supervisor + workers) | wrk µs/req | worker CPU split | connections on the emptier worker (of 64, per round) | supervisor RSS MB | worker RSS MB | foreign CPU % (per round) |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---:|---|---|');
    for (const cfg of configsIn(runs)) {
      const rs = runs.filter((r) => r.name === cfg);
      const m = (k) => median(rs.map((r) => (typeof k === 'function' ? k(r) : r[k])));
      const errs = rs.reduce((a, r) => a + Object.values(r.errors).reduce((x, y) => x + y, 0), 0);
      const split = rs[0].workerCpuS.length > 1 ? Math.round(m((r) => Math.max(...r.workerCpuS) / r.workerCpuS.reduce((a, b) => a + b, 0)) * 100) : null;
      const conns = rs.some((r) => r.workerConns) ? rs.map((r) => (r.workerConns ? fmt(Math.min(...r.workerConns)) : '?')).join(', ') : '—';
      const wr = [0, 1].map((i) => m((r) => [...r.workerRssMB].sort((a, b) => a - b)[i])).filter(Number.isFinite);
      out.push(`| ${labelOf(cfg)} | ${fmt(m('rps'))} | ${fmt(roundRatio(runs, cfg, 'plain'), 2)} | ${fmt(roundRatio(runs, cfg, 'rr'), 2)} | ${fmt(roundRatio(runs, cfg, 'none'), 2)} | ${ratioWithRange(runs, cfg, CLUSTER)} | ${fmt(roundRatio(runs, cfg, 'pm2'), 2)} | ${fmt(m('p50'), 2)} | ${fmt(m('p99'), 2)} | ${errs} | ${fmt(m('serverUsPerReq'), 1)} (${fmt(m('supervisorUsPerReq'), 1)} + ${fmt(m((r) => r.serverUsPerReq - r.supervisorUsPerReq), 1)}) | ${fmt(m('wrkUsPerReq'), 1)} | ${split === null ? '—' : `${split}/${100 - split}`} | ${conns} | ${fmt(m('supervisorRssMB'), 1)} | ${wr.map((x) => fmt(x, 1)).join(' / ')} | ${rs.map((r) => fmt(r.foreignPct, 0)).join(', ')} |`);
    }
    const plain = runs.filter((r) => r.name === 'plain');
    if (plain.length) {
      const s = median(plain.map((r) => r.serverUsPerReq));
      const w = median(plain.map((r) => r.wrkUsPerReq));
      const ceil = 2e6 / (s + w);
      out.push(`\nCPU-bound ceiling from the plain runs (server ${fmt(s, 1)} µs/req + wrk ${fmt(w, 1)} µs/req on 2 shared cores): **≈ ${fmt(ceil)} req/s**; one process on one core ≈ ${fmt(1e6 / s)} req/s. Fraction of the ceiling reached (median req/s): ${configsIn(runs).map((c) => `${c} ${fmt(median(runs.filter((r) => r.name === c).map((r) => r.rps)) / ceil, 2)}`).join(', ')}.\n`);
    }
    out.push('<details><summary>per-round req/s (foreign CPU %, load average 1 min)</summary>\n');
    const rids = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
    out.push(`| config | ${rids.map((r) => `r${r}`).join(' | ')} |`);
    out.push(`|---|${rids.map(() => '---:').join('|')}|`);
    for (const cfg of configsIn(runs)) {
      out.push(`| ${cfg} | ${rids.map((rd) => { const r = runs.find((x) => x.name === cfg && x.round === rd); return r ? `${fmt(r.rps)} (${fmt(r.foreignPct, 0)} %, ${r.loadavg[0]})` : '—'; }).join(' | ')} |`);
    }
    out.push('\n</details>\n');
  }
  return out.join('\n');
}

function startupTable(d) {
  const st = d.startup ?? [];
  if (!st.length) return '';
  const ids = [...new Set(st.map((r) => r.id))];
  const rounds = new Set(st.map((r) => r.round)).size;
  // A "-flag" row (the flag app) is compared with the same app under the peer.
  const vs = (peer) => (id, k) => median(st.filter((r) => r.id === id).map((r) => {
    const ref = st.find((x) => x.id === (id.endsWith('-flag') ? `${peer}-flag` : peer) && x.round === r.round);
    return ratio(r[k], ref?.[k]);
  }));
  const rr = vs('rr');
  const pm = vs('pm2');
  const out = [`### Start-up (launch → first 200 → every worker answered), medians of ${rounds} rounds\n`,
    'The trivial JSON app, LaunchDarkly not configured (as the peers run it); "-flag" rows: the flag app, where every worker builds its LaunchDarkly client from examples/flags.json before serving (ldsup: from the master\'s data).\n',
    '| launch | first 200 ms | all workers answered ms | command exited ms | all answered × raw cluster | all answered × pm2 | per round (all answered ms) |', '|---|---:|---:|---:|---:|---:|---|'];
  for (const id of ids) {
    const rs = st.filter((r) => r.id === id);
    out.push(`| ${id} | ${fmt(median(rs.map((r) => r.firstMs)))} | ${fmt(median(rs.map((r) => r.allMs)))} | ${rs[0].cmdExitedMs == null ? '(keeps running)' : fmt(median(rs.map((r) => r.cmdExitedMs)))} | ${fmt(rr(id, 'allMs'), 2)} | ${fmt(pm(id, 'allMs'), 2)} | ${rs.map((r) => fmt(r.allMs)).join(', ')} |`);
  }
  return out.join('\n') + '\n';
}

function reloadTable(d) {
  const rl = d.reload ?? [];
  if (!rl.length) return '';
  const out = ['### Zero-downtime: rolling reloads under a steady open-loop load\n',
    `Open loop ${rl[0].rate} req/s over ≤ 64 keep-alive sockets (bench/loadgen.mjs), reloads back to back (1 s apart); "failed" = any request without a 200 (reset, refused, > 3 s timeout, non-200).\n`,
    '| supervisor | reloads | requests | failed | failed per reload (median) | per reload | kinds | reload took (median) ms | all workers replaced | p50 / p99 / max ms |', '|---|---:|---:|---:|---:|---|---|---:|---|---|'];
  for (const r of rl) out.push(`| ${r.label} | ${r.reloads} | ${fmt(r.sent)} | ${r.failed} | ${fmt(r.medianPerReload, 1)} | ${r.perReload.join(', ')} | ${Object.entries(r.kinds).map(([k, v]) => `${k}: ${v}`).join('; ') || '—'} | ${fmt(r.medianReloadMs)} | ${r.allReplaced ? 'yes' : 'NO'} | ${r.p50} / ${r.p99} / ${r.max} |`);
  return out.join('\n') + '\n';
}

function idleTable(d) {
  const id = d.idle ?? [];
  if (!id.length && !d.soak) return '';
  const out = ['### Supervisor idle cost (2 idle workers)\n', '| supervisor process | idle s | CPU % | RSS MB | workers RSS MB |', '|---|---:|---:|---:|---|'];
  for (const r of id) out.push(`| ${r.name === 'ldsup' ? 'ldsup master' : r.name === 'pm2' ? 'pm2 daemon' : 'node:cluster primary'} | ${r.seconds} | ${fmt(r.cpuPct, 2)} | ${fmt(r.rssMB, 1)} | ${r.workersRssMB.map((x) => fmt(x, 1)).join(' / ')} |`);
  if (d.soak) out.push(`\nSoak (ldsup master, ${d.soak.seconds} s, HUP every ${d.soak.hupEvery} s): RSS ${fmt(d.soak.startRssMB, 1)} → ${fmt(d.soak.endRssMB, 1)} MB, CPU ${fmt(d.soak.cpuPct, 2)} %. Samples: ${d.soak.samples.map((s) => `${s.t}s ${fmt(s.rssMB, 1)}`).join(', ')}`);
  return out.join('\n') + '\n';
}

export function renderMarkdown(d) {
  return [
    `# ldsup benchmark results${d.params.smoke ? ' (SMOKE: harness check only, numbers mean nothing)' : ''}\n`,
    `Generated by \`${d.command}\` on ${d.startedAt} (took ${fmt(d.tookS)} s). Raw data: \`bench/out/${d.jsonFile}\`.\n`,
    '## Conditions\n',
    `- ldsup under test: ${d.ldsup?.ref ?? '?'} (built into ${d.ldsup?.dir ?? '?'}).`,
    `- Machine: ${d.machine.cpus} vCPU ${d.machine.cpuModel}, ${fmt(d.machine.memGB, 1)} GiB, ${d.machine.kernel}; Node ${d.machine.node}; ${d.machine.wrk}; pm2 ${d.machine.pm2}.`,
    `- Load average at start: ${d.machine.loadStart.join(' ')}; at end: ${d.machine.loadEnd?.join(' ') ?? '—'}. "foreign CPU %" per run = machine busy CPU (/proc/stat) minus the server's and wrk's own CPU, as a share of both cores — other tenants (and the bench runner itself) on the same 2 vCPUs.`,
    `- Everything on 127.0.0.1; wrk on the same 2 cores as the servers (unpinned). ~50 µs loop: BENCH_CPU_ITERS=${d.calibration.iters} (calibrated in isolation at start).`,
    `- Load generator: wrk (-t1 -c64 --latency, 3 s timeout) for throughput, because it spends the least CPU per request of the available clients (baseline: ~17 µs vs autocannon ~27 µs) and on 2 shared cores every client µs is taken from the server; a small Node open-loop generator (bench/loadgen.mjs) for the reload test, which needs a fixed arrival rate and per-request failure kinds.`,
    '',
    '## Throughput and latency\n',
    throughputTables(d),
    '## Start-up\n',
    startupTable(d),
    '## Zero-downtime reload\n',
    reloadTable(d),
    '## Idle\n',
    idleTable(d),
    d.notes ? `## Notes\n\n${d.notes}\n` : '',
  ].join('\n');
}

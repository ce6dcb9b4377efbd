#!/usr/bin/env node
// Does the spread of keep-alive connections over two workers change throughput on this machine?
// Reads results JSON files of bench/run.mjs and, for the shared-socket configurations whose spread
// is left to the kernel (raw node:cluster SCHED_NONE, its A/A copies, ldsup without the keep-alive
// balance) and for ldsup with it, groups the keep-alive runs by how many of the 64 connections the
// emptier worker held half-way through, and gives the median req/s and server CPU per request as
// ratios to the round-robin cluster of the same round (whose spread is even by construction).
//
// Usage: node bench/spread.mjs bench/out/results-*.json
import fs from 'node:fs';
import { median, fmt } from './lib/stats.mjs';
import { baseConfig } from './lib/configs.mjs';

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node bench/spread.mjs <results.json> [...]');
  process.exit(2);
}
const GROUPS = { 'kernel spread (none, none@N, ldsup-nobal)': (n) => baseConfig(n) === 'none' || n === 'ldsup-nobal', 'ldsup (keep-alive balance)': (n) => n === 'ldsup' };
const BUCKETS = [[0, 20], [21, 27], [28, 32]];

const rows = [];
for (const file of files) {
  const runs = JSON.parse(fs.readFileSync(file, 'utf8')).throughput ?? [];
  for (const r of runs) {
    if (r.mode !== 'keepalive' || !(r.workerConns?.length > 1)) continue;
    const rr = runs.find((x) => x.name === 'rr' && x.round === r.round && x.app === r.app && x.mode === r.mode);
    if (rr) rows.push({ name: r.name, app: r.app, emptier: Math.min(...r.workerConns), rps: r.rps / rr.rps, cpu: r.serverUsPerReq / rr.serverUsPerReq });
  }
}

console.log(`Keep-alive runs from ${files.length} file(s), ratios to the round-robin cluster of the same round (median):\n`);
console.log('| configurations | emptier worker held | runs | × RR req/s | × RR server CPU per request |');
console.log('|---|---|---:|---:|---:|');
for (const [label, pick] of Object.entries(GROUPS)) {
  for (const [lo, hi] of BUCKETS) {
    const xs = rows.filter((r) => pick(r.name) && r.emptier >= lo && r.emptier <= hi);
    if (!xs.length) continue;
    console.log(`| ${label} | ${lo}–${hi} of 64 | ${xs.length} | ${fmt(median(xs.map((x) => x.rps)), 3)} | ${fmt(median(xs.map((x) => x.cpu)), 3)} |`);
  }
}

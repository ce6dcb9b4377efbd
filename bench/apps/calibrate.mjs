// Prints the BENCH_CPU_ITERS that makes burn() take ~TARGET_US µs on this machine and Node.
import { burn } from './handlers.mjs';

const target = Number(process.argv[2] || 50);
let iters = 1000;
for (let i = 0; i < 200; i++) burn(iters); // warm up / optimise
for (let pass = 0; pass < 6; pass++) {
  const reps = 400;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) burn(iters);
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / reps;
  iters = Math.max(100, Math.round((iters * target) / us));
}
process.stdout.write(JSON.stringify({ iters, targetUs: target, node: process.version }) + '\n');

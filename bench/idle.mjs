// Supervisor idle cost: CPU % and RSS of the master/daemon/primary with 2 idle workers.
// --soak: ldsup only, SOAK seconds with a HUP every 60 s, RSS sampled every 10 s (flat or growing?).
import { startConfig, waitServing, freshPort } from './lib/configs.mjs';
import { sample, sleep } from './lib/proc.mjs';

export async function idleRun(name, { seconds, logDir }) {
  const port = freshPort();
  const h = await startConfig(name, { app: 'json', port, logDir });
  try {
    await waitServing(port, 2);
    // Steady state: past the start-up (its one-off garbage collection lands in the first seconds).
    await sleep(5000);
    const sup = h.roles().supervisor;
    const a = sample([sup]);
    await sleep(seconds * 1000);
    const b = sample([sup]);
    return { name, seconds, cpuPct: ((b[sup].cpu - a[sup].cpu) / seconds) * 100, rssMB: b[sup].rss, workersRssMB: h.roles().workers.map((p) => sample([p])[p].rss) };
  } finally {
    await h.stop();
  }
}

export async function soakRun({ seconds, hupEvery = 60, logDir }) {
  const port = freshPort();
  const h = await startConfig('ldsup', { app: 'json', port, logDir });
  try {
    await waitServing(port, 2);
    const sup = h.roles().supervisor;
    const t0 = Date.now();
    const first = sample([sup])[sup];
    const samples = [];
    let lastHup = t0;
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(10000);
      if (Date.now() - lastHup >= hupEvery * 1000) { process.kill(h.child.pid, 'SIGHUP'); lastHup = Date.now(); }
      const s = sample([sup])[sup];
      samples.push({ t: Math.round((Date.now() - t0) / 1000), rssMB: s.rss, cpuS: s.cpu - first.cpu });
    }
    const last = samples.at(-1);
    return { seconds, hupEvery, startRssMB: first.rss, endRssMB: last?.rssMB, cpuPct: last ? (last.cpuS / seconds) * 100 : NaN, samples };
  } finally {
    await h.stop();
  }
}

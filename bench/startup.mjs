// Start-up: launch → first HTTP 200 → every worker has answered (polling /pid every ~1 ms on new
// connections), and for pm2 also "command exited". Each config gets a fresh port (and pm2 a fresh daemon).
import { startConfig, waitServing, freshPort } from './lib/configs.mjs';

export const STARTUP_CONFIGS = [
  { id: 'plain', name: 'plain', workers: 1 },
  { id: 'rr', name: 'rr', workers: 2 },
  { id: 'pm2', name: 'pm2', workers: 2 },
  { id: 'ldsup', name: 'ldsup', workers: 2 },
  { id: 'ldsup-preload', name: 'ldsup', workers: 2, preload: true },
  // The flag app: every worker has a LaunchDarkly client with examples/flags.json before it serves.
  { id: 'rr-flag', name: 'rr', workers: 2, app: 'flag' },
  { id: 'ldsup-flag', name: 'ldsup', workers: 2, app: 'flag' },
];

export async function startupRun(cfg, logDir) {
  const port = freshPort();
  const t0 = performance.now();
  const h = await startConfig(cfg.name, { app: cfg.app ?? 'json', port, preload: cfg.preload, logDir });
  try {
    let cmdExitedMs = null;
    h.started?.then(() => (cmdExitedMs = performance.now() - t0));
    const w = await waitServing(port, cfg.workers, { t0, timeoutMs: 30000 });
    if (h.started) await h.started;
    return { id: cfg.id, firstMs: w.firstMs, allMs: w.allMs, cmdExitedMs, pids: w.pids.length };
  } finally {
    await h.stop();
  }
}

// Config "raw node:cluster": a primary and N workers, no supervisor library.
// Env: PORT, BENCH_APP, WORKERS (2), SCHED (rr | none | reuseport), BENCH_SHUTDOWN (none | typical).
// SCHED=reuseport (Node >= 22.12): each worker listens on its own SO_REUSEPORT socket and the
// kernel spreads new connections over them by hash; the primary holds no socket.
// SIGHUP = the hand-rolled rolling reload most blog posts show: for each old worker, fork a new one,
// wait for `listening`, SIGTERM the old one, wait for its exit (SIGKILL after 1.6 s, pm2's
// kill_timeout), next. SIGTERM/SIGINT: kill the workers and exit.
const __t0 = performance.now();
import cluster from 'node:cluster';
import http from 'node:http';

if (cluster.isPrimary) {
  cluster.schedulingPolicy = process.env.SCHED === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR;
  const n = Number(process.env.WORKERS || 2);
  const __t1 = performance.now(); for (let i = 0; i < n; i++) cluster.fork(); process.stderr.write(`MK top@${__t0.toFixed(1)} fork@${__t1.toFixed(1)} forked@${performance.now().toFixed(1)}\n`);
  let reloading = false;
  process.on('SIGHUP', async () => {
    if (reloading) return;
    reloading = true;
    for (const old of Object.values(cluster.workers)) {
      const fresh = cluster.fork();
      await new Promise((r) => fresh.once('listening', r));
      const gone = new Promise((r) => old.once('exit', r));
      old.process.kill('SIGTERM');
      const t = setTimeout(() => old.process.kill('SIGKILL'), 1600);
      await gone;
      clearTimeout(t);
    }
    reloading = false;
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const { appHandler, installShutdown } = await import('./handlers.mjs');
  const server = http.createServer(await appHandler());
  installShutdown(server);
  server.listen({ port: Number(process.env.PORT), host: '127.0.0.1', reusePort: process.env.SCHED === 'reuseport' });
}

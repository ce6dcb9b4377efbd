// Bench app for flag propagation: every worker prints, on the monotonic clock shared by all
// processes (CLOCK_MONOTONIC), the moment its own LaunchDarkly client serves a new value.
export default function make(ctx) {
  const context = { kind: 'user', key: 'bench' };
  ctx.ld.on('update:bench-flag', async () => {
    const value = await ctx.ld.variation('bench-flag', context, -1);
    process.stdout.write(`BENCH_SEEN ${value} ${process.pid} ${process.hrtime.bigint()}\n`);
  });
  return (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ pid: process.pid, initialized: ctx.ld.initialized() }));
  };
}

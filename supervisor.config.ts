/**
 * The twin of a gunicorn.conf.py: 2 workers on 0.0.0.0:8000 serving the example app, with a
 * postFork hook. Without LAUNCHDARKLY_SDK_KEY (env or .env), flags come from examples/flags.json.
 *
 *   npx ldsup --config supervisor.config.ts --preload
 */
import { existsSync } from 'node:fs';
import { defineConfig } from 'ldsup';

// The master holds the LaunchDarkly connection, so it needs the key from .env too.
if (existsSync('.env')) process.loadEnvFile('.env');

export default defineConfig({
  app: './examples/app.ts',
  bind: '0.0.0.0:8000',
  workers: 2,
  // `npx ldsup stop` (and status, reload, scale) find the master through it.
  pidfile: './ldsup.pid',
  launchdarkly: {
    flagsFile: './examples/flags.json',
  },
  postFork(ctx) {
    ctx.log.info(`postFork: worker ${ctx.pid} (age ${ctx.age}) flags initialised: ${ctx.ld.initialized()}`);
  },
});

#!/usr/bin/env node
/**
 * The command line: commander wiring only. Parses flags, merges them over the config (through
 * config.ts) and hands over to the master, `stop`, `check` or `print-config`.
 */
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { formatSettings, resolveConfig, type Layer, type Resolved } from './config.js';
import { ConfigError, EXIT, oneLine } from './errors.js';
import { appExport, importApp } from './loader.js';
import { colorsFor, createLogger, plain, type Logger } from './log.js';
import { applyEnv, runMaster } from './master.js';
import { SETTINGS, optionName } from './settings.js';
import { shellSplit } from './shell-split.js';
import { stopMaster } from './stop.js';
import { DaemonReporter, daemonize } from './daemon.js';
import { control, controlPath, type ControlRequest } from './control.js';
import './startup.js';
import { VERSION } from './version.js';

const red = colorsFor(Boolean(process.stderr.isTTY) && !process.env.NO_COLOR)?.red ?? plain;

/** Prints one line to stderr and exits: every error a user can cause ends here. */
function fail(message: string, code: number = EXIT.ERROR): never {
  process.stderr.write(red(`ldsup: error: ${message}`) + '\n');
  process.exit(code);
}

/** commander's error text ("error: unknown option '--x'\n(Did you mean --y?)") as one line. */
function usageLine(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  return line.startsWith('error:') ? line : `error: ${line}`;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Adds `-c` and one option per setting in the table (the table is the single source). */
function addSettingOptions(cmd: Command): Command {
  cmd.option('-c, --config <file>', 'config file (default: search supervisor.config.*, .ldsuprc, package.json "ldsup")');
  for (const def of SETTINGS) {
    if (!def.flag) continue;
    const opt = new Option(def.flag, def.doc);
    if (def.repeatable) opt.argParser(collect);
    cmd.addOption(opt);
  }
  return cmd;
}

/** Turns commander's parsed options into a config layer. */
function layerFrom(opts: Record<string, unknown>, source: string, app: string | undefined, baseDir: string): Layer {
  const values: Record<string, unknown> = {};
  for (const def of SETTINGS) {
    const name = def.key === 'pidfile' ? 'pid' : optionName(def);
    if (name && opts[name] !== undefined) values[def.key] = opts[name];
  }
  if (app) values.app = app;
  return { source, values, fromText: true, baseDir };
}

/** LDSUP_CMD_ARGS, parsed by the same options as the command line. */
function envLayer(env: NodeJS.ProcessEnv, cwd: string): { layer: Layer | null; config?: string } {
  const text = env.LDSUP_CMD_ARGS;
  if (!text || !text.trim()) return { layer: null };
  const cmd = addSettingOptions(new Command('LDSUP_CMD_ARGS')).argument('[app]').exitOverride().configureOutput({ writeErr: () => {} });
  try {
    cmd.parse(shellSplit(text), { from: 'user' });
  } catch (err) {
    const why = (err as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
    throw new ConfigError(`invalid LDSUP_CMD_ARGS ${JSON.stringify(text)}: ${why.replace(/^error: /, '')}`);
  }
  const opts = cmd.opts();
  return { layer: layerFrom(opts, 'LDSUP_CMD_ARGS', cmd.args[0], cwd), config: opts.config as string | undefined };
}

async function load(opts: Record<string, unknown>, app: string | undefined, cwd = process.cwd()): Promise<Resolved> {
  const fromEnv = envLayer(process.env, cwd);
  return resolveConfig({
    cwd,
    env: process.env,
    configPath: (opts.config as string | undefined) ?? fromEnv.config,
    envArgs: fromEnv.layer,
    cli: layerFrom(opts, 'command line', app, cwd),
  });
}

/**
 * `--chdir` is applied before the config is searched and the app resolved (gunicorn's order).
 * The options carry it on as an absolute path: resolved again from the new directory, a
 * relative one would point below itself (`--chdir srv` → srv/srv).
 */
function enterChdir(opts: Record<string, unknown>): Record<string, unknown> {
  if (!opts.chdir) return opts;
  try {
    process.chdir(opts.chdir as string);
  } catch {
    fail(`can't chdir to '${opts.chdir}' (--chdir)`);
  }
  return { ...opts, chdir: process.cwd() };
}

async function serve(app: string | undefined, given: Record<string, unknown>): Promise<void> {
  const opts = enterChdir(given);
  // A reload resolves the config and app paths from here again, even once the config's own
  // `chdir` has moved the master elsewhere.
  const loadCwd = process.cwd();
  let resolved: Resolved;
  try {
    resolved = await load(opts, app, loadCwd);
  } catch (err) {
    new DaemonReporter().failed(oneLine(err));
    fail(oneLine(err));
  }
  const { settings, hooks } = resolved;
  // A master started by USR2 (LDSUP_FDS) runs where its old master put it: detached already if
  // that one was a daemon, and its listen sockets are inherited fds that a re-spawn would lose.
  if (settings.daemon && process.env.LDSUP_DAEMONIZED !== '1' && !process.env.LDSUP_FDS) process.exit(await daemonize());
  const daemon = new DaemonReporter();
  /** Before the master runs: one line, also to a waiting `ldsup -D` (our stderr is /dev/null then). */
  function startFailed(message: string): never {
    daemon.failed(message);
    fail(message);
  }
  if (settings.chdir !== process.cwd()) {
    try {
      process.chdir(settings.chdir);
    } catch (err) {
      startFailed(`can't chdir to '${settings.chdir}' (chdir): ${oneLine(err)}`);
    }
  }
  process.title = `ldsup: master [${settings.name}]`;
  applyEnv(settings);
  let log: Logger;
  try {
    log = createLogger({ level: settings.logLevel, format: settings.logFormat, file: settings.errorLog });
  } catch (err) {
    startFailed(`cannot open error log file ${settings.errorLog} (--error-logfile / errorLog): ${oneLine(err)}`);
  }
  let status: number;
  try {
    status = await runMaster({
      settings,
      hooks,
      log,
      reloadConfig: async () => {
        const next = await load(opts, app, loadCwd);
        applyEnv(next.settings);
        return next;
      },
      onReady: () => daemon.ready(),
      // A halt before ready (workers failed to boot) reaches `ldsup -D` with its reason.
      onHalt: (reason, status) => {
        if (status !== 0 && reason) daemon.failed(reason);
      },
    });
  } catch (err) {
    const status = (err as { status?: number }).status;
    daemon.failed(oneLine(err));
    fail(oneLine(err), typeof status === 'number' ? status : EXIT.ERROR);
  }
  if (status !== 0) daemon.failed(`the master stopped with exit status ${status} before its workers were ready (see the error log)`);
  process.exit(status);
}

async function check(app: string | undefined, given: Record<string, unknown>, print: boolean): Promise<void> {
  // Where a start would load them from.
  const opts = enterChdir(given);
  try {
    const { settings } = await load(opts, app);
    if (print) process.stdout.write(formatSettings(settings) + '\n');
    if (!settings.app) fail('No application module specified (give [app] or set "app" in the config).');
    appExport(await importApp(settings.app), settings.app);
    if (!print) process.stdout.write(`ok: config ${settings.configFile ?? '(none)'}, app ${settings.app}\n`);
    process.exit(0);
  } catch (err) {
    fail(oneLine(err));
  }
}

/**
 * `stop --timeout` / `reload --timeout`, checked before anything is sent: not a number, it was a
 * NaN timer that fired at once (`reload` reported "no answer from the master within NaN s").
 * Written as `-t` is (digits, an optional fraction). `reload` needs some time to wait.
 */
function timeoutFlag(value: unknown, positive: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!(positive ? n > 0 : n >= 0)) fail(`invalid value for --timeout: expected a number of seconds${positive ? ' > 0' : ''}, found "${value}"`, EXIT.USAGE);
  return n;
}

async function stop(opts: Record<string, unknown>): Promise<void> {
  const given = timeoutFlag(opts.timeout, false);
  const { pidfile, gracefulTimeout } = await pidfileOf(opts);
  // By default wait a little longer than the master's own graceful stop can take.
  const timeout = given ?? gracefulTimeout + 10;
  try {
    await stopMaster(pidfile, timeout, (m) => process.stderr.write(m + '\n'));
  } catch (err) {
    fail(oneLine(err));
  }
}

/** The pidfile named by -p, or by the (discovered) config. */
async function pidfileOf(opts: Record<string, unknown>): Promise<{ pidfile: string; gracefulTimeout: number }> {
  if (opts.pid) return { pidfile: path.resolve(opts.pid as string), gracefulTimeout: 30 };
  let settings;
  try {
    ({ settings } = await load({ config: opts.config }, undefined));
  } catch (err) {
    fail(oneLine(err));
  }
  if (!settings.pidfile) fail('no pidfile to find the master by: give -p PIDFILE, or set "pidfile" in the config');
  return { pidfile: settings.pidfile, gracefulTimeout: settings.gracefulTimeout };
}

/** status / reload / scale: one request over the master's control socket. */
async function ask(opts: Record<string, unknown>, req: ControlRequest, timeoutMs: number) {
  const { pidfile } = await pidfileOf(opts);
  try {
    const reply = await control(controlPath(pidfile), req, timeoutMs);
    if (!reply.ok) fail(reply.error);
    return reply;
  } catch (err) {
    fail(oneLine(err));
  }
}

function printStatus(s: Record<string, any>): void {
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  const m = s.master;
  const lines = [
    `master  pid ${m.pid}  up ${m.uptimeS} s  rss ${mb(m.rssBytes)}  workers wanted ${m.workersWanted}  generation ${m.generation}`,
    `        listening ${m.listening.join(', ')}`,
    ...s.workers.map((w: any) => `worker  pid ${w.pid}  age ${w.age}  ${w.state.padEnd(8)}  up ${w.ageS} s  requests ${w.requests}  rss ${mb(w.rssBytes)}`),
  ];
  const ld = s.launchdarkly;
  const age = ld.lastUpdateAgeMs === null ? 'never' : `${(ld.lastUpdateAgeMs / 1000).toFixed(1)} s ago`;
  lines.push(`flags   mode ${ld.mode}  source ${ld.source}  initialized ${ld.initialized}  connected ${ld.connected}  ${ld.flagCount} flags  last update ${age}${ld.lastError ? `  error: ${ld.lastError}` : ''}`);
  process.stdout.write(lines.join('\n') + '\n');
}

const program = new Command('ldsup')
  .description('A gunicorn-style process supervisor for Node.js HTTP apps, with LaunchDarkly flags built in.')
  .version(VERSION, '-v, --version')
  .argument('[app]', 'app module (TS/JS) whose default export is a request handler or a factory')
  // Options after a subcommand belong to it (`ldsup check -c file`), not to the top-level command.
  .enablePositionalOptions()
  // Usage errors are one line, like every other error (subcommands inherit this).
  .configureOutput({ outputError: (str, write) => write(red(`ldsup: ${usageLine(str)} (run ldsup --help for usage)`) + '\n') })
  .exitOverride();
addSettingOptions(program).action((app: string | undefined, opts: Record<string, unknown>) => serve(app, opts));

program
  .command('stop')
  .description('stop a running master gracefully (TERM) and wait until it has exited')
  .option('-p, --pid <file>', 'pidfile of the master')
  .option('-c, --config <file>', 'config file whose "pidfile" names the master')
  .option('--timeout <seconds>', 'how long to wait for the master to exit')
  .exitOverride()
  .action((opts: Record<string, unknown>) => stop(opts));

const target = (cmd: Command) => cmd.option('-p, --pid <file>', 'pidfile of the master').option('-c, --config <file>', 'config file whose "pidfile" names the master').exitOverride();

target(program.command('status'))
  .description("show the master, its workers and LaunchDarkly's state")
  .option('--json', 'machine-readable output')
  .action(async (opts: Record<string, unknown>) => {
    const reply = await ask(opts, { cmd: 'status' }, 10_000);
    const { ok: _ok, ...body } = reply;
    if (opts.json) process.stdout.write(JSON.stringify(body, null, 2) + '\n');
    else printStatus(body);
  });

target(program.command('reload'))
  .description('reload (HUP) and wait until the new workers are ready, or report why not')
  .option('--timeout <seconds>', 'how long to wait', '120')
  .action(async (opts: Record<string, unknown>) => {
    const reply = await ask(opts, { cmd: 'reload' }, timeoutFlag(opts.timeout, true)! * 1000);
    process.stderr.write(`ldsup: reloaded: generation ${reply.generation}, ${reply.workers} workers ready\n`);
  });

target(program.command('scale'))
  .description('set the number of workers: N, +N or -N (as TTIN/TTOU)')
  .argument('<count>', 'N, +N or -N')
  .action(async (count: string, opts: Record<string, unknown>) => {
    const reply = await ask(opts, { cmd: 'scale', value: count }, 10_000);
    process.stderr.write(`ldsup: workers wanted: ${reply.workers}\n`);
  });

for (const [name, print] of [
  ['check', false],
  ['print-config', true],
] as const) {
  addSettingOptions(program.command(name))
    .description(print ? 'print the resolved settings, then check' : 'load and validate the config and import the app, then exit')
    .argument('[app]')
    .exitOverride()
    // `ldsup -w 2 check app`: options given before the subcommand count too (after it, they win).
    .action((app: string | undefined, opts: Record<string, unknown>) => check(app, { ...program.opts(), ...opts }, print));
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE);
  fail(oneLine(err));
});

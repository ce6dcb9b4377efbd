/**
 * Runs the real `ldsup` CLI (bin/ldsup.cjs → dist/cli.cjs) for integration tests, on real
 * loopback ports, and makes sure every process a test started is ended by pid: each master is
 * started in its own process group, and `cleanup()` SIGKILLs every group still alive.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI = path.join(ROOT, 'bin/ldsup.cjs');
export const FIXTURES = path.join(ROOT, 'test/fixtures');
/**
 * A C++ compiler is installed (on every machine here): then `npm install` and `npm test` build the
 * native watchdog for the running Node, and workers must use it.
 */
export const HAS_CXX = spawnSync(process.env.CXX || 'c++', ['--version']).status === 0;
/**
 * Where the CLI runs unless a test says otherwise: a directory with no ldsup config whose own
 * package.json stops the config search, so the repo's supervisor.config.ts (and its pidfile) is
 * never picked up by accident and parallel test files cannot collide on it.
 */
export const NEUTRAL_CWD = path.join(FIXTURES, 'cwd');

/** Generous: CI runs both Node legs on a loaded 2-core machine, and workers take ~0.2-2 s to boot. */
export const CI_TIMEOUT = 30_000;

const running = new Set<Ldsup>();

/**
 * Ports handed to ldsup are chosen below Linux's ephemeral range (32768–60999), so the kernel
 * never gives one away as the local port of an outgoing connection between the check here and
 * ldsup's bind (which happened with listen(0): a load generator's socket took a health port
 * during a 5 s start-up wait). Each jest worker walks its own slice; every port is checked free.
 */
const PORT_BASE = 20_000;
const PORT_SLICE = 1_500;
const slice = (Number(process.env.JEST_WORKER_ID ?? 1) - 1) % 8;
let nextPort = PORT_BASE + slice * PORT_SLICE + Math.floor(Math.random() * PORT_SLICE);

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free loopback port for ldsup to bind, from this jest worker's slice below the ephemeral range. */
export async function freePort(): Promise<number> {
  const start = PORT_BASE + slice * PORT_SLICE;
  for (let i = 0; i < PORT_SLICE; i++) {
    const port = start + ((nextPort++ - start) % PORT_SLICE);
    if (await tryListen(port)) return port;
  }
  throw new Error(`no free port in ${start}-${start + PORT_SLICE - 1}`);
}

/** A fresh temp directory, removed by `cleanup()`. */
const tmpDirs: string[] = [];
export function tmpDir(prefix = 'ldsup-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  command?: string[];
  /** The command runs ldsup in a new PID namespace: the pids it prints are not this host's, and cleanup leaves them alone. */
  pidNamespace?: boolean;
}

export class Ldsup {
  readonly proc: ChildProcess;
  output = '';
  /** stdout and stderr alone (`output` interleaves both). */
  stdout = '';
  stderr = '';
  private exitInfo: Exit | null = null;
  private readonly exited: Promise<Exit>;
  /** Resolves when stdout and stderr are closed too ('exit' can come before the last output). */
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];

  /** `opts.command`: what runs `args` instead of this checkout's CLI (an installed package's, `npx ldsup`). */
  constructor(
    args: string[],
    readonly opts: StartOptions = {},
  ) {
    const [file, ...pre] = opts.command ?? [process.execPath, CLI];
    this.proc = spawn(file!, [...pre, ...args], {
      cwd: opts.cwd ?? NEUTRAL_CWD,
      env: { ...process.env, NO_COLOR: '1', LAUNCHDARKLY_SDK_KEY: '', LDSUP_CMD_ARGS: '', PORT: '', WEB_CONCURRENCY: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: cleanup kills master and workers together
    });
    running.add(this);
    const onData = (b: Buffer) => {
      this.output += b.toString();
      for (const w of this.waiters.splice(0)) w();
    };
    this.proc.stdout!.on('data', (b: Buffer) => ((this.stdout += b.toString()), onData(b)));
    this.proc.stderr!.on('data', (b: Buffer) => ((this.stderr += b.toString()), onData(b)));
    this.closed = new Promise((resolve) => this.proc.once('close', () => resolve()));
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // The group may still hold workers if the master died hard; cleanup() ends them.
        resolve(this.exitInfo);
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Waits for a line matching `re` in the combined output. */
  async waitFor(re: RegExp, timeoutMs = CI_TIMEOUT): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(re);
      if (m) return m;
      if (this.exitInfo) throw new Error(`ldsup exited (${JSON.stringify(this.exitInfo)}) before printing ${re}; output:\n${this.output}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; output:\n${this.output}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** Waits until the master logged that all its workers are ready. */
  ready(timeoutMs = CI_TIMEOUT): Promise<RegExpMatchArray> {
    return this.waitFor(/Ready: \d+ workers? serving/, timeoutMs);
  }

  waitExit(timeoutMs = CI_TIMEOUT): Promise<Exit> {
    return Promise.race([
      this.exited,
      new Promise<Exit>((_, reject) => setTimeout(() => reject(new Error(`ldsup did not exit within ${timeoutMs} ms; output:\n${this.output}`)), timeoutMs).unref()),
    ]);
  }

  signal(sig: NodeJS.Signals): void {
    process.kill(this.pid, sig);
  }

  /** Pids from "Booting worker with pid: N" lines, in order. */
  bootedWorkers(): number[] {
    return [...this.output.matchAll(/Booting worker with pid: (\d+)/g)].map((m) => Number(m[1]));
  }

  /** SIGKILL the whole process group (master and workers). */
  killGroup(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function start(args: string[], opts?: StartOptions): Ldsup {
  return new Ldsup(args, opts);
}

/** Runs the CLI to completion (check, stop, bad input). */
export async function runCli(
  args: string[],
  opts?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Exit & { output: string; stdout: string; stderr: string }> {
  const l = new Ldsup(args, opts);
  const exit = await l.waitExit(opts?.timeoutMs ?? CI_TIMEOUT);
  // All output, not just what arrived before 'exit' (a leaked worker holding the pipes shows as a timeout).
  await Promise.race([l.closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`ldsup's stdio stayed open after exit; output:\n${l.output}`)), CI_TIMEOUT).unref())]);
  return { ...exit, output: l.output, stdout: l.stdout, stderr: l.stderr };
}

/** Ends everything tests started, by pid (call in afterEach). */
export function cleanup(): void {
  for (const l of running) {
    l.killGroup();
    for (const pid of l.opts.pidNamespace ? [] : l.bootedWorkers()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    running.delete(l);
  }
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  json<T = Record<string, unknown>>(): T;
}

/** One HTTP GET on a new connection (no keep-alive), unless an agent is given. */
export function get(port: number, urlPath = '/', opts: { agent?: http.Agent | false; host?: string; timeoutMs?: number; socketPath?: string; method?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: opts.host ?? '127.0.0.1', port, path: urlPath, method: opts.method, agent: opts.agent ?? false, socketPath: opts.socketPath, timeout: opts.timeoutMs ?? CI_TIMEOUT },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers, json: () => JSON.parse(body) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

/** Polls until `pid` is gone. */
export async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes a config file into `dir` and returns its path. */
export function writeConfig(dir: string, name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

/**
 * Asks `/` on fresh connections until every one of `pids` has answered with a reply satisfying
 * `ok` (a worker that answers wrong again drops out); resolves with the milliseconds it took.
 */
export async function everyWorker<R extends { pid: number }>(port: number, pids: number[], ok: (r: R) => boolean, timeoutMs = CI_TIMEOUT): Promise<number> {
  const t0 = Date.now();
  const good = new Set<number>();
  for (;;) {
    const r = (await get(port, '/')).json<R>();
    if (ok(r)) good.add(r.pid);
    else good.delete(r.pid);
    if (pids.every((p) => good.has(p))) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for every worker (${pids.join(', ')}) to answer as expected`);
  }
}

/**
 * A config whose onStarting hook waits (its event loop turning) while `<dir>/gate` exists: the
 * master held before it binds. `held` appears once the hook runs.
 */
export function slowStartConfig(dir: string, app: string, port: number, pidfile?: string): { cfg: string; gate: string; held: string } {
  const gate = path.join(dir, 'gate');
  const held = `${gate}.held`;
  fs.writeFileSync(gate, '');
  const cfg = path.join(dir, 'supervisor.config.mjs');
  fs.writeFileSync(
    cfg,
    `import fs from 'node:fs';
export default {
  app: ${JSON.stringify(app)},
  bind: '127.0.0.1:${port}',
  workers: 1,
  ${pidfile ? `pidfile: ${JSON.stringify(pidfile)},` : ''}
  onStarting: async () => {
    fs.writeFileSync(${JSON.stringify(held)}, '');
    while (fs.existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 20));
  },
};
`,
  );
  return { cfg, gate, held };
}

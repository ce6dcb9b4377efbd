/**
 * Shared pieces of the chaos suite (issue 6): durations (quick by default, the issue's long form
 * with LDSUP_CHAOS_FULL=1), a local LaunchDarkly-protocol service per file so that every master
 * holds a real SDK key (the key-leak grep is then meaningful in every scenario), the one-line
 * JSON summary each scenario writes to test/chaos/out/<scenario>.json, worker counts from the
 * control socket, and the secret grep over every output, log file and process title.
 *
 * Load: test/support/load.ts (open loop at a steady rate, keep-alive, bounded in time and count,
 * `sent === answered + failed`, failures sorted by kind).
 */
import fs from 'node:fs';
import path from 'node:path';
import { FakeLaunchDarkly } from '../support/fake-ld.js';
import { ROOT, cleanup, start, type Ldsup } from '../support/ldsup.js';
import type { LoadResult } from '../support/load.js';
import { childrenOf, control } from '../support/proc.js';

/** LDSUP_CHAOS_FULL=1: the issue's durations (20 s kill storm, 10 s outage, …). */
export const FULL = process.env.LDSUP_CHAOS_FULL === '1';
/** `quick` ms normally, `full` ms with LDSUP_CHAOS_FULL=1. */
export const dur = (quick: number, full: number): number => (FULL ? full : quick);

export const OUT = path.join(ROOT, 'test/chaos/out');
/** Steady request rate of every scenario's load (requests per second). */
export const RATE = 200;

/** A recognisable key: if it shows up anywhere, it leaked. */
export const SECRET_KEY = 'sdk-chaos-SECRET-7f3a9c2e-do-not-print';

/** Every output and file a scenario produced, for the secret grep. */
const produced: { l: Ldsup[]; files: string[] } = { l: [], files: [] };

export interface Ld {
  fake: FakeLaunchDarkly;
  env: NodeJS.ProcessEnv;
}

/** Starts the local LaunchDarkly service with one flag (`sample-flag` = 'v1'). */
export async function startLd(): Promise<Ld> {
  const fake = new FakeLaunchDarkly({ sdkKey: SECRET_KEY, heartbeatMs: 1000 });
  await fake.start();
  fake.setFlag('sample-flag', 'v1');
  return {
    fake,
    env: { LAUNCHDARKLY_SDK_KEY: SECRET_KEY, LAUNCHDARKLY_STREAM_URI: fake.url, LAUNCHDARKLY_BASE_URI: fake.url, LAUNCHDARKLY_EVENTS_URI: fake.url },
  };
}

/** `start()` with the SDK key in the environment; the process is remembered for the secret grep. */
export function launch(ld: Ld | null, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Ldsup {
  const l = start(args, { ...opts, env: { ...(ld?.env ?? {}), ...opts.env } });
  produced.l.push(l);
  return l;
}

/** A file (log, config output) to include in the secret grep. */
export function watchFile(file: string): void {
  produced.files.push(file);
}

/** Process titles (cmdline) of a master and its children right now. */
export function titles(masterPid: number): string[] {
  const out: string[] = [];
  for (const pid of [masterPid, ...childrenOf(masterPid)]) {
    try {
      out.push(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * The secret grep: no output of any process started since the last call, no watched file, no
 * process title and no result file contains the SDK key. Call it before cleanup() (titles are
 * read from live processes).
 */
export function expectNoSecret(): void {
  const leaks: string[] = [];
  for (const l of produced.l.splice(0)) {
    if (l.output.includes(SECRET_KEY)) leaks.push(`output of ldsup pid ${l.pid}`);
    for (const t of titles(l.pid)) if (t.includes(SECRET_KEY)) leaks.push(`process title "${t}"`);
  }
  for (const f of produced.files.splice(0)) {
    try {
      if (fs.readFileSync(f, 'utf8').includes(SECRET_KEY)) leaks.push(`file ${f}`);
    } catch {
      /* removed by the scenario */
    }
  }
  if (fs.existsSync(OUT)) for (const f of fs.readdirSync(OUT)) if (fs.readFileSync(path.join(OUT, f), 'utf8').includes(SECRET_KEY)) leaks.push(`result ${f}`);
  expect(leaks).toEqual([]);
}

/** The parts of a load result that go into a summary. */
export function loadFigures(r: LoadResult): Record<string, unknown> {
  const kinds = Object.fromEntries(Object.entries(r.byKind).filter(([, n]) => n > 0));
  return { sent: r.sent, answered: r.answered, ok: r.ok, failed: r.failures.length, failedByKind: kinds, skipped: r.skipped, firstFailures: r.failures.slice(0, 5) };
}

/** Writes the scenario's one-line JSON summary to test/chaos/out/<scenario>.json; returns it. */
export function record(scenario: string, figures: Record<string, unknown>): Record<string, unknown> {
  fs.mkdirSync(OUT, { recursive: true });
  const line = { scenario, mode: FULL ? 'full' : 'quick', node: process.version, at: new Date().toISOString(), ...figures };
  fs.writeFileSync(path.join(OUT, `${scenario}.json`), JSON.stringify(line) + '\n');
  return line;
}

/** Pids of the master's workers in state `ready` (control socket). */
export async function readyWorkers(pidfile: string): Promise<number[]> {
  const st = await control(pidfile, { cmd: 'status' });
  return st.workers.filter((w) => w.state === 'ready').map((w) => w.pid);
}

/** Milliseconds since `t0`. */
export const since = (t0: number): number => Date.now() - t0;

/** Polls (no fixed sleep) until `fn` is truthy; returns the time it took. */
export async function timeUntil(what: string, fn: () => unknown | Promise<unknown>, timeoutMs: number, everyMs = 20): Promise<number> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return since(t0);
    } catch (err) {
      last = err;
    }
    if (since(t0) > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Lines of `text` matching `re` (global). */
export const lines = (text: string, re: RegExp): string[] => text.split('\n').filter((s) => re.test(s));

/**
 * The hooks every chaos file needs: one local LaunchDarkly service for the file, and after each
 * test the search for the SDK key in everything it printed, then the end of every process it
 * started. `set` receives the service once it is up.
 */
export function useChaos(set: (ld: Ld) => void): void {
  let ld: Ld | null = null;
  beforeAll(async () => {
    ld = await startLd();
    set(ld);
  });
  afterAll(() => ld?.fake.stop());
  afterEach(() => {
    try {
      expectNoSecret();
    } finally {
      cleanup();
    }
  });
}

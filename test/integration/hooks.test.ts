/**
 * Issue 3, hooks (spec §7): a config whose hooks append `name pid args` to a file records the
 * sequence for start, TTIN/TTOU, HUP, TERM, INT, a timeout, kill -9 of a worker and USR2, and
 * each is compared with gunicorn's observed sequence, allowing for ldsup's documented
 * differences (README "Differences from gunicorn"):
 * - whenReady runs once the first workers are ready, not before forking;
 * - HUP is rolling and ready-gated: old workers exit only after new ones are ready;
 * - preExec runs in the old master (Node has no fork/exec).
 * Every hook is checked to run in its process: the master's pid or the worker's own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, cleanup, freePort, get, start, tmpDir, waitGone } from '../support/ldsup.js';
import { acceptQueue, childrenOf, killAll, waitUntil } from '../support/proc.js';

jest.setTimeout(120_000);
afterEach(cleanup);

const BLOCKING = path.join(FIXTURES, 'apps', 'blocking.mjs');

interface Call {
  name: string;
  pid: number;
  args: string[];
}

/** Every hook, logging `name pid args…` with a synchronous append (no reordering). */
function hookConfig(log: string, port: number, extra = ''): string {
  return `import fs from 'node:fs';
const log = (name, ...args) => fs.appendFileSync(${JSON.stringify(log)}, [name, process.pid, ...args].join(' ') + '\\n');
export default {
  app: ${JSON.stringify(BLOCKING)},
  bind: '127.0.0.1:${port}',
  workers: 2,
  ${extra}
  onStarting: (s) => log('onStarting', s.pid),
  onReload: (s) => log('onReload', s.pid),
  whenReady: (s) => log('whenReady', s.pid),
  preFork: (s, w) => log('preFork', w.age),
  postFork: (ctx) => log('postFork', ctx.age),
  postWorkerInit: (ctx) => log('postWorkerInit', ctx.age),
  workerInt: (ctx) => log('workerInt', ctx.age),
  workerAbort: (ctx) => log('workerAbort', ctx.age),
  preExec: (s) => log('preExec', s.pid),
  preRequest: (ctx, req) => log('preRequest', ctx.age, req.url),
  postRequest: (ctx, req, res) => log('postRequest', ctx.age, req.url, res.statusCode),
  childExit: (s, w) => log('childExit', w.pid, w.age),
  workerExit: (ctx) => log('workerExit', ctx.age),
  nworkersChanged: (s, n, old) => log('nworkersChanged', n, old),
  onExit: (s) => log('onExit', s.pid),
};
`;
}

class HookLog {
  private seen = 0;
  constructor(readonly file: string) {}
  all(): Call[] {
    const text = fs.existsSync(this.file) ? fs.readFileSync(this.file, 'utf8') : '';
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, pid, ...args] = line.split(' ');
        return { name: name!, pid: Number(pid), args };
      });
  }
  /** Waits until the calls since the last phase satisfy `done`; returns them and starts a new phase. */
  async phase(what: string, done: (calls: Call[]) => boolean): Promise<Call[]> {
    const calls = await waitUntil(`${what}; hook calls so far:\n${this.show(this.all().slice(this.seen))}`, () => {
      const c = this.all().slice(this.seen);
      return done(c) ? c : null;
    });
    this.seen += calls.length;
    return calls;
  }
  show(calls: Call[]): string {
    return calls.map((c) => `${c.name} ${c.pid} ${c.args.join(' ')}`).join('\n');
  }
}

const names = (calls: Call[]) => calls.map((c) => c.name);
const idx = (calls: Call[], pred: (c: Call) => boolean) => calls.findIndex(pred);
const has = (calls: Call[], name: string, n = 1) => calls.filter((c) => c.name === name).length >= n;

/** Every master hook ran in the master; every worker hook in a worker that the master booted. */
function checkProcesses(calls: Call[], master: number, workers: number[]): void {
  const inMaster = ['onStarting', 'onReload', 'whenReady', 'preFork', 'preExec', 'childExit', 'nworkersChanged', 'onExit'];
  for (const c of calls) {
    if (inMaster.includes(c.name)) expect({ hook: c.name, pid: c.pid }).toEqual({ hook: c.name, pid: master });
    else {
      expect(c.pid).not.toBe(master);
      expect(workers).toContain(c.pid);
    }
  }
}

/** Starts ldsup with every hook logging to a fresh file; `extra(dir)` adds config lines. */
async function startHooked(extra: (dir: string) => string = () => '') {
  const dir = tmpDir('ldsup-hooks-');
  const port = await freePort();
  const hl = new HookLog(path.join(dir, 'hooks.log'));
  const cfg = path.join(dir, 'supervisor.config.mjs');
  fs.writeFileSync(cfg, hookConfig(hl.file, port, extra(dir)));
  return { dir, port, hl, l: start(['-c', cfg]) };
}

test('start, request, TTIN, TTOU, HUP and TERM: gunicorn’s sequences, in the right processes', async () => {
  const { port, hl, l } = await startHooked();
  await l.ready();
  const all: Call[] = [];

  // Start. gunicorn: nworkers_changed(2, None) → on_starting → when_ready → pre_fork ×2 → post_fork/post_worker_init.
  const s = await hl.phase('start', (c) => has(c, 'whenReady') && has(c, 'postWorkerInit', 2));
  all.push(...s);
  // (The order of the first two is checked on its own below.)
  expect(s.slice(0, 4).map((c) => `${c.name} ${c.args.join(' ')}`).sort()).toEqual(['nworkersChanged 2 ', 'onStarting ' + l.pid, 'preFork 1', 'preFork 2'].sort());
  expect(s.slice(2, 4).map((c) => c.name)).toEqual(['preFork', 'preFork']);
  expect(s.filter((c) => c.name === 'postFork').map((c) => c.args[0]).sort()).toEqual(['1', '2']);
  for (const age of ['1', '2']) {
    const pf = idx(s, (c) => c.name === 'postFork' && c.args[0] === age);
    const pwi = idx(s, (c) => c.name === 'postWorkerInit' && c.args[0] === age);
    expect(pf).toBeLessThan(pwi);
    expect(s[pf]!.pid).toBe(s[pwi]!.pid);
  }
  // Documented difference: whenReady last, once both workers are ready.
  expect(s[s.length - 1]!.name).toBe('whenReady');
  expect(s).toHaveLength(9);

  // A request: preRequest and postRequest in the worker that answered.
  const r = await get(port, '/');
  const answered = r.json<{ pid: number }>().pid;
  const q = await hl.phase('request hooks', (c) => has(c, 'postRequest'));
  all.push(...q);
  expect(q.map((c) => [c.name, c.pid, c.args[1]])).toEqual([
    ['preRequest', answered, '/'],
    ['postRequest', answered, '/'],
  ]);
  expect(q[1]!.args[2]).toBe('200');

  // TTIN: nworkers_changed(3, 2) → pre_fork(3) → post_fork → post_worker_init.
  l.signal('SIGTTIN');
  const ti = await hl.phase('TTIN', (c) => has(c, 'postWorkerInit'));
  all.push(...ti);
  expect(ti.map((c) => `${c.name} ${c.args.join(' ')}`)).toEqual(['nworkersChanged 3 2', 'preFork 3', 'postFork 3', 'postWorkerInit 3']);

  // TTOU: nworkers_changed(2, 3) → the oldest (age 1) exits: worker_exit → child_exit.
  l.signal('SIGTTOU');
  const to = await hl.phase('TTOU', (c) => has(c, 'childExit'));
  all.push(...to);
  expect(to.map((c) => `${c.name} ${c.args.join(' ')}`)).toEqual(['nworkersChanged 2 3', 'workerExit 1', `childExit ${to[1]!.pid} 1`]);

  // HUP: nworkers_changed(2, 2) → on_reload → pre_fork → (new ready) → old worker_exit → child_exit,
  // one worker at a time (documented difference: gunicorn forks both at once and TERMs the old ones).
  l.signal('SIGHUP');
  const h = await hl.phase('HUP', (c) => has(c, 'childExit', 2) && has(c, 'postWorkerInit', 2));
  all.push(...h);
  expect(h.slice(0, 3).map((c) => `${c.name} ${c.args.join(' ')}`)).toEqual(['nworkersChanged 2 2', 'onReload ' + l.pid, 'preFork 4']);
  // The second new worker is forked only once the first is ready.
  expect(idx(h, (c) => c.name === 'preFork' && c.args[0] === '5')).toBeGreaterThan(idx(h, (c) => c.name === 'postWorkerInit' && c.args[0] === '4'));
  expect(h).toHaveLength(12);
  const oldAges = ['2', '3'];
  const exits = h.filter((c) => c.name === 'workerExit');
  expect(exits.map((c) => c.args[0]).sort()).toEqual(oldAges);
  for (const e of exits) expect(idx(h, (c) => c.name === 'childExit' && c.args[0] === String(e.pid))).toBeGreaterThan(h.indexOf(e));
  // Rolling and ready-gated (documented difference): the k-th old exit comes after the k-th new worker is ready.
  const readyAt = h.map((c, i) => (c.name === 'postWorkerInit' ? i : -1)).filter((i) => i >= 0);
  const exitAt = h.map((c, i) => (c.name === 'workerExit' ? i : -1)).filter((i) => i >= 0);
  expect(readyAt).toHaveLength(2);
  for (let k = 0; k < 2; k++) expect(exitAt[k]).toBeGreaterThan(readyAt[k]!);

  // TERM: worker_exit ×2 (workers) → child_exit ×2 (master, each after its worker's exit) → on_exit.
  l.signal('SIGTERM');
  expect((await l.waitExit()).code).toBe(0);
  const t = await hl.phase('TERM', (c) => has(c, 'onExit'));
  all.push(...t);
  expect(t).toHaveLength(5);
  expect(t[4]!.name).toBe('onExit');
  expect(t.filter((c) => c.name === 'workerExit').map((c) => c.args[0]).sort()).toEqual(['4', '5']);
  for (const e of t.filter((c) => c.name === 'workerExit')) expect(idx(t, (c) => c.name === 'childExit' && c.args[0] === String(e.pid))).toBeGreaterThan(t.indexOf(e));

  checkProcesses(all, l.pid, l.bootedWorkers());
  expect(names(all).filter((n) => n === 'onStarting')).toHaveLength(1);
});

test('start order: nworkersChanged(2, null) fires before onStarting, as in gunicorn’s setup()', async () => {
  const { hl, l } = await startHooked();
  await l.ready();
  const s = await hl.phase('start', (c) => has(c, 'whenReady'));
  expect(s.slice(0, 2).map((c) => `${c.name} ${c.pid} ${c.args.join(' ')}`)).toEqual([`nworkersChanged ${l.pid} 2 `, `onStarting ${l.pid} ${l.pid}`]);
});

test('timeout, kill -9 of a worker, INT: gunicorn’s sequences, in the right processes', async () => {
  const { port, hl, l } = await startHooked(() => 'timeout: 2,');
  await l.ready();
  const all = await hl.phase('start', (c) => has(c, 'whenReady'));

  // kill -9: child_exit only (the worker runs nothing), then the replacement pre_fork → post_fork → post_worker_init.
  const victim = all.find((c) => c.name === 'postFork' && c.args[0] === '1')!.pid;
  process.kill(victim, 'SIGKILL');
  const k = await hl.phase('kill -9', (c) => has(c, 'postWorkerInit'));
  all.push(...k);
  expect(k.map((c) => `${c.name} ${c.args.join(' ')}`)).toEqual([`childExit ${victim} 1`, 'preFork 3', 'postFork 3', 'postWorkerInit 3']);

  // Timeout with a busy loop: its loop cannot run workerAbort/workerExit; the master reaps it
  // (child_exit) and a replacement boots. (gunicorn's sync worker runs worker_abort from a
  // signal handler; a JavaScript loop that spins cannot, which is why the master logs the stack.)
  const spin = get(port, '/spin').catch(() => 'cut');
  const m = await l.waitFor(/WORKER TIMEOUT \(pid:(\d+)\)/);
  const stuck = Number(m[1]);
  const age = all.find((c) => c.name === 'postFork' && c.pid === stuck)!.args[0]!;
  const tmo = await hl.phase('timeout', (c) => has(c, 'childExit') && has(c, 'postWorkerInit'));
  all.push(...tmo);
  expect(await spin).toBe('cut');
  // Only the request that got it stuck ran in it: no workerAbort, no workerExit.
  expect(tmo.filter((c) => c.pid === stuck).map((c) => `${c.name} ${c.args.join(' ')}`)).toEqual([`preRequest ${age} /spin`]);
  tmo.splice(0, tmo.length, ...tmo.filter((c) => c.pid !== stuck));
  expect(tmo.filter((c) => c.name === 'childExit').map((c) => c.args)).toEqual([[String(stuck), age]]);
  expect(tmo.filter((c) => c.name !== 'childExit').map((c) => `${c.name} ${c.args.join(' ')}`)).toEqual(['preFork 4', 'postFork 4', 'postWorkerInit 4']);

  // INT: worker_int → worker_exit in each worker, child_exit in the master, on_exit last.
  l.signal('SIGINT');
  expect((await l.waitExit()).code).toBe(0);
  const i = await hl.phase('INT', (c) => has(c, 'onExit'));
  all.push(...i);
  expect(i).toHaveLength(7);
  expect(i[6]!.name).toBe('onExit');
  for (const w of i.filter((c) => c.name === 'workerInt')) {
    const ex = idx(i, (c) => c.name === 'workerExit' && c.pid === w.pid);
    expect(ex).toBeGreaterThan(i.indexOf(w));
    expect(idx(i, (c) => c.name === 'childExit' && c.args[0] === String(w.pid))).toBeGreaterThan(ex);
  }
  expect(i.filter((c) => c.name === 'workerInt')).toHaveLength(2);

  checkProcesses(all, l.pid, l.bootedWorkers());
});

test('USR2: preExec runs in the old master, then the new master runs onStarting with its own pid', async () => {
  const { dir, hl, l } = await startHooked((d) => `pidfile: ${JSON.stringify(path.join(d, 'ldsup.pid'))},`);
  const pidfile = path.join(dir, 'ldsup.pid');
  let m2 = 0;
  try {
    await l.ready();
    await hl.phase('start', (c) => has(c, 'whenReady'));
    l.signal('SIGUSR2');
    const u = await hl.phase('USR2', (c) => has(c, 'whenReady'));
    expect(u[0]).toEqual({ name: 'preExec', pid: l.pid, args: [String(l.pid)] });
    const starting = u.find((c) => c.name === 'onStarting')!;
    m2 = starting.pid;
    expect(m2).not.toBe(l.pid);
    expect(fs.readFileSync(`${pidfile}.2`, 'utf8')).toBe(`${m2}\n`);
    // The new master's own start sequence, in its own process and workers (ages from 1 again).
    expect(u.filter((c) => ['nworkersChanged', 'onStarting', 'preFork', 'whenReady'].includes(c.name)).every((c) => c.pid === m2)).toBe(true);
    expect(u.filter((c) => c.name === 'preFork').map((c) => c.args[0])).toEqual(['1', '2']);
    const kids = childrenOf(m2);
    for (const c of u.filter((x) => x.name === 'postFork' || x.name === 'postWorkerInit')) expect(kids).toContain(c.pid);
  } finally {
    if (m2) {
      killAll([...childrenOf(m2), m2]);
      await waitGone(m2, CI_TIMEOUT);
    }
  }
});

test('postWorkerInit runs before the worker accepts: a connection waits, also through a boot that fails there, and the next worker answers it', async () => {
  const dir = tmpDir('ldsup-pwi-');
  const port = await freePort();
  const gate = path.join(dir, 'gate');
  const broken = path.join(dir, 'broken');
  const held = path.join(dir, 'held');
  const early = path.join(dir, 'early');
  const cfg = path.join(dir, 'supervisor.config.mjs');
  // postWorkerInit waits while `gate` exists; the first worker to find `broken` takes it and
  // fails there (a database that is down); preRequest notes any request served before it finished.
  fs.writeFileSync(
    cfg,
    `import fs from 'node:fs';
export default {
  app: ${JSON.stringify(path.join(FIXTURES, 'apps', 'basic.mjs'))},
  bind: '127.0.0.1:${port}',
  workers: 1,
  postWorkerInit: async () => {
    fs.appendFileSync(${JSON.stringify(held)}, process.pid + '\\n');
    while (fs.existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 20));
    let fail = true;
    try { fs.renameSync(${JSON.stringify(broken)}, ${JSON.stringify(`${broken}.taken`)}); } catch { fail = false; }
    if (fail) throw new Error('database unreachable');
    globalThis.__initDone = true;
  },
  preRequest: () => {
    if (!globalThis.__initDone) fs.appendFileSync(${JSON.stringify(early)}, process.pid + '\\n');
  },
};
`,
  );
  const l = start(['-c', cfg], { cwd: dir });
  await l.ready();
  // No worker left (WINCH): the next one is the only process that could accept.
  const [first] = l.bootedWorkers();
  l.signal('SIGWINCH');
  await waitGone(first!, CI_TIMEOUT);
  fs.writeFileSync(gate, '');
  fs.writeFileSync(broken, '');
  l.signal('SIGTTIN');
  const heldBy = () => fs.readFileSync(held, 'utf8').trim().split('\n').map(Number);
  await waitUntil('the new worker inside postWorkerInit', () => heldBy().length === 2);
  const reply = get(port, '/slow?ms=200');
  let answeredEarly = false;
  void reply.then(() => (answeredEarly = true), () => (answeredEarly = true));
  // Unanswered and queued in the backlog, not taken by the worker still in postWorkerInit.
  await waitUntil('the request answered or queued in the backlog', () => answeredEarly || acceptQueue(port) === 1);
  fs.rmSync(gate);
  await l.waitFor(/Exception in worker process: hook postWorkerInit failed: database unreachable/);
  const r = await reply;
  expect(r.status).toBe(200);
  expect(fs.existsSync(early) ? fs.readFileSync(early, 'utf8') : '').toBe('');
  // Answered by the worker after the one that failed.
  const heldPids = heldBy();
  expect(heldPids.length).toBeGreaterThanOrEqual(3);
  expect(r.json<{ pid: number }>().pid).toBe(heldPids.at(-1));
});

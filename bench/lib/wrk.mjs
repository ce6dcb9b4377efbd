// wrk: presence check, one bounded run, output parsing, and wrk's own CPU (via the shell's cutime).
import { execFileSync, spawn } from 'node:child_process';
import { track, untrack } from './proc.mjs';

export function checkWrk() {
  try {
    const v = execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    return v.split('\n')[0];
  } catch (e) {
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    if (/^wrk /.test(out)) return out.split('\n')[0]; // `wrk -v` exits 1
    throw new Error('wrk not found: install it with `sudo apt-get update && sudo apt-get install -y wrk` (Debian/Ubuntu), then rerun');
  }
}

const ms = (v, unit) => +v * ({ us: 1e-3, ms: 1, s: 1e3, m: 6e4 }[unit] ?? NaN);

export function parseWrk(text) {
  const g = (re) => re.exec(text);
  const lat = (p) => { const m = g(new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm')); return m ? ms(m[1], m[2]) : NaN; };
  const se = g(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const non2xx = g(/Non-2xx or 3xx responses: (\d+)/);
  const total = g(/(\d+) requests in ([\d.]+)(\w+)/);
  return {
    rps: +(g(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN),
    requests: total ? +total[1] : NaN,
    p50: lat(50), p99: lat(99),
    errors: { connect: +(se?.[1] ?? 0), read: +(se?.[2] ?? 0), write: +(se?.[3] ?? 0), timeout: +(se?.[4] ?? 0), non2xx: +(non2xx?.[1] ?? 0) },
  };
}

/** Runs wrk for `seconds` (hard-bounded); resolves { ...parsed, wrkCpu (s), raw }. */
export function runWrk({ url, seconds, conns = 64, close = false, onStart }) {
  const args = ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', '--timeout', '3s', ...(close ? ['-H', 'Connection: close'] : []), url];
  // The shell waits for wrk, then reports its own cutime+cstime = wrk's CPU.
  const script = `wrk ${args.map((a) => `'${a}'`).join(' ')}; read -r l < /proc/$$/stat; echo "__STAT__ $l"`;
  return new Promise((resolve, reject) => {
    const sh = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(sh.pid);
    onStart?.(sh.pid);
    let out = '';
    sh.stdout.on('data', (d) => (out += d));
    sh.stderr.on('data', (d) => (out += d));
    const kill = setTimeout(() => { try { process.kill(sh.pid, 'SIGKILL'); } catch {} }, (seconds + 15) * 1000);
    sh.on('exit', () => {
      untrack(sh.pid);
      clearTimeout(kill);
      const st = /__STAT__ (.*)/.exec(out);
      let wrkCpu = NaN;
      if (st) { const f = st[1].slice(st[1].lastIndexOf(')') + 2).split(' '); wrkCpu = (+f[13] + +f[14]) / 100; }
      const r = parseWrk(out);
      if (!Number.isFinite(r.rps)) return reject(new Error(`wrk failed: ${out.slice(0, 400)}`));
      resolve({ ...r, wrkCpu, raw: out.replace(/__STAT__.*\n?/, '') });
    });
  });
}

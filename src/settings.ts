/**
 * Every setting, declared once: its key, CLI flag, default, validator and one-line doc.
 * The same table drives the commander options (cli.ts), config validation (config.ts),
 * `ldsup print-config` and the README's settings table. Precedence is applied in config.ts:
 * defaults < config file < LDSUP_CMD_ARGS < command line.
 */
import { parseAddress, resolveBind } from './address.js';
import { LEVELS } from './log.js';
import type { ResolvedSettings } from './types.js';

/**
 * Thrown by a validator: `expected` says what would have been accepted. `key` names a sub-key
 * (`launchdarkly.mode`) or an environment variable when the setting's own name would mislead;
 * `found` is the offending part when it is not the whole value (one address of a list), and
 * `foundText` replaces its description;
 * `detail` says what exactly is wrong with it.
 */
export class Invalid extends Error {
  constructor(
    readonly expected: string,
    readonly at: { key?: string; found?: unknown; foundText?: string; detail?: string } = {},
  ) {
    super(expected);
  }
}

/** The candidate closest to a misspelt name (case, `_`/`-`, or up to 2 edits), for "did you mean". */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[_-]/g, '');
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = norm(c) === norm(name) ? 0 : editDistance(norm(c), norm(name));
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return bestDist <= Math.min(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export interface SettingDef {
  key: keyof ResolvedSettings & string;
  /** commander flags, e.g. '-w, --workers <int>'; none for file-only settings. */
  flag?: string;
  /** The option can be given several times (`-b`, `-e`). */
  repeatable?: boolean;
  doc: string;
  /** May throw Invalid (naming the environment variable) when it comes from a bad one; only used defaults count. */
  default(env: NodeJS.ProcessEnv): unknown;
  /**
   * Checks and normalises a value. `fromText` is true for values that came from the command
   * line or LDSUP_CMD_ARGS (strings to parse); config-file values must already have the right type.
   */
  parse(value: unknown, fromText: boolean): unknown;
  /**
   * Runs once every layer is merged, on the parsed value, for what depends on other settings
   * (a relative unix socket path lives under `chdir`). May throw Invalid.
   */
  resolve?(value: unknown, settings: ResolvedSettings): unknown;
}

const int =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: unknown, fromText: boolean): number => {
    const n = fromText && typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new Invalid(expected);
    return n;
  };

const seconds = (v: unknown, fromText: boolean): number => {
  const n = fromText && typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new Invalid('a number of seconds >= 0');
  return n;
};

const bool = (v: unknown, fromText: boolean): boolean => {
  if (typeof v === 'boolean') return v;
  if (fromText && typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw new Invalid('true or false');
};

const str = (v: unknown): string => {
  if (typeof v !== 'string' || v.trim() === '') throw new Invalid('a non-empty string');
  return v.trim();
};

const optionalStr = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));

const ONE_ADDRESS = 'an address (HOST:PORT or unix:PATH)';

/** One address, or none. */
const optionalBind = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new Invalid('an address string (HOST:PORT or unix:PATH)');
  try {
    parseAddress(v);
  } catch (err) {
    throw new Invalid(ONE_ADDRESS, { detail: (err as Error).message });
  }
  return v.trim();
};

/** A bind, once `chdir` is known (address.ts resolveBind); `expected` as its parser says it. */
function resolved(spec: string, chdir: string, expected: string): string {
  try {
    return resolveBind(spec, chdir);
  } catch (err) {
    throw new Invalid(expected, { found: spec, detail: (err as Error).message });
  }
}

const resolveOptionalBind = (v: unknown, s: ResolvedSettings): string | null => (v === null ? null : resolved(v as string, s.chdir, ONE_ADDRESS));

/** A user or group: a name, or a numeric id (from text too). */
const principal = (v: unknown, fromText: boolean): string | number | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && fromText && /^\d+$/.test(v.trim())) return Number(v);
  if (typeof v === 'string' && /^[a-z_][a-z0-9_.-]*\$?$/i.test(v.trim())) return v.trim();
  throw new Invalid('a user/group name or a numeric id');
};

const oneOf =
  <T extends string>(values: readonly T[]) =>
  (v: unknown): T => {
    if (typeof v !== 'string' || !values.includes(v.toLowerCase() as T)) throw new Invalid(`one of ${values.join(', ')}`);
    return v.toLowerCase() as T;
  };

const ADDRESS = 'an address (HOST:PORT, [v6]:PORT, unix:PATH or fd://N)';
const bindList = (v: unknown): string[] => {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0) throw new Invalid(`${ADDRESS} or a non-empty array of them`);
  for (const a of list) {
    if (typeof a !== 'string') throw new Invalid(ADDRESS, { found: a });
    try {
      parseAddress(a);
    } catch (err) {
      throw new Invalid(ADDRESS, { found: a, detail: (err as Error).message });
    }
  }
  return list.map((a) => a.trim());
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  const pairs = typeof v === 'string' ? [v] : v;
  if (Array.isArray(pairs)) {
    for (const p of pairs) {
      const m = typeof p === 'string' ? /^([^=]+)=(.*)$/s.exec(p) : null;
      if (!m || !ENV_NAME.test(m[1]!)) throw new Invalid('KEY=VALUE strings', { found: p });
      out[m[1]!] = m[2]!;
    }
    return out;
  }
  if (v && typeof v === 'object') {
    for (const [k, val] of Object.entries(v)) {
      if (!ENV_NAME.test(k)) throw new Invalid('variable names like MY_VAR', { key: 'env', found: k });
      if (typeof val !== 'string') throw new Invalid('a string', { key: `env.${k}`, found: val });
      out[k] = val;
    }
    return out;
  }
  throw new Invalid('an object of string values (or KEY=VALUE strings)');
};

const LD_KEYS: Record<string, (v: unknown) => unknown> = {
  sdkKey: str,
  mode: oneOf(['relay', 'direct', 'daemon'] as const),
  redis: (v) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Invalid('an object { url, prefix, cacheTTL }');
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'url' || k === 'prefix') out[k] = str(x);
      else if (k === 'cacheTTL') out[k] = seconds(x, false);
      else throw new Invalid(`only url, prefix, cacheTTL in launchdarkly.redis (found "${k}")`);
    }
    return out;
  },
  flagsFile: str,
  startWait: (v) => seconds(v, false),
  streamUri: str,
  baseUri: str,
  eventsUri: str,
  sendEvents: (v) => bool(v, false),
  failOnAuthError: (v) => bool(v, false),
};

/** Validates the `launchdarkly` section key by key; errors name the sub-key. */
export function parseLaunchDarkly(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Invalid(`an object with the keys ${Object.keys(LD_KEYS).join(', ')}`);
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const p = LD_KEYS[k];
    if (!p) {
      const hit = closest(k, Object.keys(LD_KEYS));
      throw new Invalid(`only the keys ${Object.keys(LD_KEYS).join(', ')}`, {
        foundText: `unknown key "${k}"${hit ? ` (did you mean "${hit}"?)` : ''}`,
      });
    }
    if (val === undefined) continue;
    try {
      out[k] = p(val);
    } catch (err) {
      if (err instanceof Invalid) throw new Invalid(err.expected, { key: `launchdarkly.${k}`, found: val });
      throw err;
    }
  }
  return out;
}

export const SETTINGS: readonly SettingDef[] = [
  { key: 'app', doc: 'Path of the app module (TS/JS, ESM/CJS); also the positional [app].', default: () => null, parse: optionalStr },
  {
    key: 'bind',
    flag: '-b, --bind <address>',
    repeatable: true,
    doc: 'Address to listen on: HOST:PORT, [v6]:PORT, unix:PATH (repeatable).',
    default: (env) => {
      // gunicorn: 0.0.0.0:$PORT when PORT is set. Checked here, so a bad PORT is named as such.
      const port = env.PORT?.trim();
      if (!port) return ['127.0.0.1:8000'];
      if (!/^\d+$/.test(port) || Number(port) > 65535) throw new Invalid('a port number from 0 to 65535', { key: 'PORT', found: env.PORT });
      return [`0.0.0.0:${port}`];
    },
    parse: bindList,
    resolve: (v, s) => (v as string[]).map((a) => resolved(a, s.chdir, ADDRESS)),
  },
  {
    key: 'workers',
    flag: '-w, --workers <int>',
    doc: 'Number of worker processes.',
    default: (env) => {
      const n = env.WEB_CONCURRENCY?.trim();
      if (!n) return 1;
      try {
        return int(1, 512)(n, true);
      } catch (err) {
        throw new Invalid((err as Invalid).expected, { key: 'WEB_CONCURRENCY', found: env.WEB_CONCURRENCY });
      }
    },
    parse: int(1, 512),
  },
  {
    key: 'timeout',
    flag: '-t, --timeout <seconds>',
    doc: 'Kill and replace a worker whose event loop is blocked this long, or that is still booting after it (0 = off).',
    default: () => 30,
    parse: seconds,
  },
  {
    key: 'gracefulTimeout',
    flag: '--graceful-timeout <seconds>',
    doc: 'How long a worker told to stop (stop, reload, scale down, recycling) may take to finish before it is killed.',
    default: () => 30,
    parse: seconds,
  },
  {
    key: 'preload',
    flag: '--preload',
    doc: "Import the app (and run the config's preload hook) in the master before forking.",
    default: () => false,
    // A function here is the preload hook: config.ts moves it to the hooks and turns preload on.
    parse: bool,
  },
  { key: 'pidfile', flag: '-p, --pid <file>', doc: 'Write the master pid to this file.', default: () => null, parse: optionalStr },
  {
    key: 'logLevel',
    flag: '--log-level <level>',
    doc: `Error log level: ${LEVELS.join(', ')}.`,
    default: () => 'info',
    parse: oneOf(LEVELS),
  },
  { key: 'logFormat', flag: '--log-format <format>', doc: 'text or json.', default: () => 'text', parse: oneOf(['text', 'json'] as const) },
  { key: 'errorLog', flag: '--error-logfile <file>', doc: "Error log file ('-' = stderr).", default: () => '-', parse: str },
  { key: 'accessLog', flag: '--access-logfile <file>', doc: "Access log file ('-' = stdout); off by default.", default: () => null, parse: optionalStr },
  {
    key: 'accessLogFormat',
    flag: '--access-logformat <format>',
    doc: 'Access log format (gunicorn atoms).',
    default: () => '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
    parse: str,
  },
  { key: 'env', flag: '-e, --env <KEY=VALUE>', repeatable: true, doc: 'Set an environment variable in master and workers (repeatable).', default: () => ({}), parse: envMap },
  { key: 'chdir', flag: '--chdir <dir>', doc: 'Change to this directory before loading the app.', default: () => process.cwd(), parse: str },
  { key: 'name', flag: '-n, --name <name>', doc: 'Name for process titles.', default: () => 'ldsup', parse: str },
  { key: 'maxRequests', flag: '--max-requests <int>', doc: 'Recycle a worker after this many requests (0 = never).', default: () => 0, parse: int(0) },
  { key: 'maxMemory', flag: '--max-memory <MB>', doc: 'Recycle a worker (gracefully) whose RSS exceeds this many MB (0 = off).', default: () => 0, parse: int(0) },
  { key: 'user', flag: '-u, --user <user>', doc: 'Workers switch to this user (name or uid) after the sockets are bound; needs root.', default: () => null, parse: principal },
  { key: 'group', flag: '-g, --group <group>', doc: 'Workers switch to this group (name or gid) after the sockets are bound; needs root.', default: () => null, parse: principal },
  { key: 'healthBind', flag: '--health-bind <address>', doc: 'Serve /healthz (liveness) and /readyz (readiness) here, from the master (off by default).', default: () => null, parse: optionalBind, resolve: resolveOptionalBind },
  { key: 'metricsBind', flag: '--metrics-bind <address>', doc: 'Serve Prometheus /metrics here, from the master (off by default).', default: () => null, parse: optionalBind, resolve: resolveOptionalBind },
  { key: 'readyRequiresFlags', flag: '--ready-requires-flags <bool>', doc: '/readyz waits for flag data too (default true).', default: () => true, parse: bool },
  { key: 'daemon', flag: '-D, --daemon', doc: 'Detach; return once the workers are ready (exit 0) or failed to boot (non-zero).', default: () => false, parse: bool },
  { key: 'limitRequestLine', flag: '--limit-request-line <bytes>', doc: 'Longest request line (414 beyond; 0 = unlimited up to the header limit).', default: () => 4094, parse: int(0, 65536) },
  { key: 'limitRequestFields', flag: '--limit-request-fields <int>', doc: 'Most header fields in a request (431 beyond).', default: () => 100, parse: int(1, 32768) },
  { key: 'limitRequestFieldSize', flag: '--limit-request-field-size <bytes>', doc: 'Largest header field (431 beyond; 0 = unlimited up to the header limit).', default: () => 8190, parse: int(0, 65536) },
  { key: 'headersTimeout', flag: '--headers-timeout <seconds>', doc: 'Close a connection whose request headers take longer (slowloris), with 408.', default: () => 30, parse: seconds },
  { key: 'maxRequestsJitter', flag: '--max-requests-jitter <int>', doc: 'Random extra requests per worker on top of max-requests.', default: () => 0, parse: int(0) },
  { key: 'backlog', flag: '--backlog <int>', doc: 'listen() backlog.', default: () => 2048, parse: int(1, 65535) },
  { key: 'keepAlive', flag: '--keep-alive <seconds>', doc: 'Idle keep-alive connection timeout; 0 turns keep-alive off.', default: () => 5, parse: seconds },
  {
    key: 'keepAliveBalance',
    flag: '--keep-alive-balance <bool>',
    doc: 'Even out keep-alive connections over the workers: one holding clearly more than its share closes the excess after their next response (default true).',
    default: () => true,
    parse: bool,
  },
  { key: 'launchdarkly', doc: 'LaunchDarkly section (sdkKey, mode, flagsFile, startWait, URIs, sendEvents).', default: () => ({}), parse: parseLaunchDarkly },
];

export const SETTING_KEYS = new Set(SETTINGS.map((s) => s.key));

/** commander's camelCase name for a flag ('--graceful-timeout' → 'gracefulTimeout', '--pid' → 'pid'). */
export function optionName(def: SettingDef): string | undefined {
  const long = def.flag?.match(/--([a-z-]+)/)?.[1];
  return long?.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The public types of ldsup: what a `supervisor.config.ts` may set, and what hooks receive.
 * Every setting has the meaning of the gunicorn setting of the same (snake_case) name unless
 * its doc says otherwise. Settings are declared once more, with their validators and CLI
 * flags, in `settings.ts`; a unit test keeps the two lists identical.
 */
import type { IncomingMessage, ServerResponse, RequestListener } from 'node:http';
import type { LDClient } from '@launchdarkly/node-server-sdk';
import type { Logger, Level, LogFormat } from './log.js';

export type { Logger, Level, LogFormat };
export type { LDClient };

/** What a running worker looks like from the master (hooks, `ldsup status`). */
export interface WorkerInfo {
  /** Process id; 0 before the process exists (in `preFork`). */
  pid: number;
  /** Spawn counter of this master, starting at 1: lower is older. */
  age: number;
  /** booting → ready → retiring → exited. */
  state: WorkerState;
  /** Milliseconds since the epoch when it was spawned. */
  startedAt: number;
  /** Requests answered so far (from its last heartbeat). */
  requests: number;
}

/**
 * A worker's life, as the master sees it:
 * - `booting`: spawned, not yet serving (loading app, flags, postFork);
 * - `ready`: listening and serving;
 * - `retiring`: told to stop (TERM/QUIT, reload, TTOU, max-requests); not counted toward `workers`;
 * - `exited`: the process is gone (kept only until the master has reaped it).
 */
export type WorkerState = 'booting' | 'ready' | 'retiring' | 'exited';

/** The master, as hooks that run in it see it. */
export interface ServerInfo {
  pid: number;
  settings: Readonly<ResolvedSettings>;
  log: Logger;
  /** The workers alive right now. */
  workers(): WorkerInfo[];
}

/** What `preload(ctx)` receives in the master. */
export interface PreloadContext {
  settings: Readonly<ResolvedSettings>;
  log: Logger;
  /** The app module, imported once in the master. */
  app: unknown;
}

/** What a worker's hooks and an app factory receive. */
export interface WorkerContext {
  pid: number;
  age: number;
  log: Logger;
  /** The worker's LaunchDarkly client (the SDK's own LDClient), already initialised from the master's data. */
  ld: LDClient;
  /** Whatever the config's `preload` hook returned in the master (JSON-serialisable), else undefined. */
  preload: unknown;
  settings: Readonly<ResolvedSettings>;
}

/** An app module's default export: a Node request listener, or a factory that returns one. */
export type AppExport =
  | RequestListener
  | ((ctx: WorkerContext) => RequestListener | Promise<RequestListener>);

type Awaitable<T> = T | Promise<T>;

/** Server hooks: gunicorn's, camelCased, at the same moments and in the same processes. */
export interface Hooks {
  /** Master, once, before the listeners are bound. A throw aborts start-up. */
  onStarting?(server: ServerInfo): Awaitable<void>;
  /** Master, on HUP, after the new config is loaded and listeners changed, before new workers. */
  onReload?(server: ServerInfo): Awaitable<void>;
  /** Master, after the listeners are bound and the first workers are ready. */
  whenReady?(server: ServerInfo): Awaitable<void>;
  /** Master, just before each worker is spawned (`worker.pid` is 0). */
  preFork?(server: ServerInfo, worker: WorkerInfo): Awaitable<void>;
  /** Worker, first thing after it starts, before the app is loaded. */
  postFork?(ctx: WorkerContext): Awaitable<void>;
  /** Worker, after the app is loaded, just before it starts serving. */
  postWorkerInit?(ctx: WorkerContext): Awaitable<void>;
  /** Worker, when it gets INT or QUIT (quick stop). */
  workerInt?(ctx: WorkerContext): Awaitable<void>;
  /** Worker, when the master aborts it for a timeout, if its event loop can still run it. */
  workerAbort?(ctx: WorkerContext): Awaitable<void>;
  /** USR2 child, before it execs the new master. */
  preExec?(server: ServerInfo): Awaitable<void>;
  /** Worker, before each request. Keep it cheap: it is on the request path. */
  preRequest?(ctx: WorkerContext, req: IncomingMessage): void;
  /** Worker, after each response has finished. */
  postRequest?(ctx: WorkerContext, req: IncomingMessage, res: ServerResponse): void;
  /** Master, after a worker process has exited and been reaped. */
  childExit?(server: ServerInfo, worker: WorkerInfo): Awaitable<void>;
  /** Worker, as it exits (every exit it gets to handle). */
  workerExit?(ctx: WorkerContext): Awaitable<void>;
  /** Master, whenever the target number of workers is set. */
  nworkersChanged?(server: ServerInfo, newValue: number, oldValue: number | null): Awaitable<void>;
  /** Master, last thing before it exits. */
  onExit?(server: ServerInfo): Awaitable<void>;
  /**
   * Master, with preload on: runs once the app module is imported, before binding and forking.
   * Its return value (JSON-serialisable) is handed to every worker as `ctx.preload`.
   */
  preload?(ctx: PreloadContext): Awaitable<unknown>;
}

export const HOOK_NAMES = [
  'onStarting',
  'onReload',
  'whenReady',
  'preFork',
  'postFork',
  'postWorkerInit',
  'workerInt',
  'workerAbort',
  'preExec',
  'preRequest',
  'postRequest',
  'childExit',
  'workerExit',
  'nworkersChanged',
  'onExit',
] as const satisfies readonly (keyof Hooks)[];

/** Hooks that run inside workers: a worker loads the config file only if one of these is set. */
export const WORKER_HOOKS = [
  'postFork',
  'postWorkerInit',
  'workerInt',
  'workerAbort',
  'preRequest',
  'postRequest',
  'workerExit',
] as const satisfies readonly (keyof Hooks)[];

/** LaunchDarkly settings (section `launchdarkly` of the config). */
export interface LaunchDarklyConfig {
  /** SDK key; default `$LAUNCHDARKLY_SDK_KEY`. Without one, flags come from `flagsFile` (offline). */
  sdkKey?: string;
  /**
   * `relay` (default): one upstream stream in the master, fanned out to workers. `direct`: each
   * worker also keeps its own stream. `daemon`: no stream here; workers read the Redis store a
   * LaunchDarkly Relay Proxy fills (fleets).
   */
  mode?: 'relay' | 'direct' | 'daemon';
  /** Daemon mode's Redis: `url` (default `$LAUNCHDARKLY_REDIS_URL` or redis://127.0.0.1:6379), `prefix` (default launchdarkly), `cacheTTL` seconds (default 15). */
  redis?: { url?: string; prefix?: string; cacheTTL?: number };
  /** LaunchDarkly flag-file (JSON: flags, flagValues, segments) used when there is no SDK key. Relative to the config file. */
  flagsFile?: string;
  /** Seconds the master waits for the first flag data before forking (default 5). */
  startWait?: number;
  streamUri?: string;
  baseUri?: string;
  eventsUri?: string;
  /** Send analytics events from workers (default true; always off offline). */
  sendEvents?: boolean;
  /** A 401/403 at start stops ldsup (default true). */
  failOnAuthError?: boolean;
}

/** Every setting a config file may give. */
export interface Settings {
  /** Path of the app module (TS or JS, ESM or CJS); the positional `[app]` wins. Relative to the config file. */
  app?: string;
  /** Address(es) to listen on: `HOST:PORT`, `[v6]:PORT`, `unix:/path`. Default `127.0.0.1:8000`, or `0.0.0.0:$PORT`. */
  bind?: string | string[];
  /** Number of worker processes (default `$WEB_CONCURRENCY` or 1). */
  workers?: number;
  /** Seconds a worker's event loop may be blocked before it is killed and replaced (default 30, 0 = off). */
  timeout?: number;
  /** Seconds to wait for workers to finish on stop before they are killed (default 30). */
  gracefulTimeout?: number;
  /** Import the app (and run `preload`) in the master before forking; a failure stops start-up. */
  preload?: boolean | Hooks['preload'];
  /** Pidfile path. */
  pidfile?: string;
  /** debug, info, warning, error, critical (default info). */
  logLevel?: Level;
  /** `text` (default) or `json`. */
  logFormat?: LogFormat;
  /** Error log file, `-` for stderr (default). */
  errorLog?: string;
  /** Access log file, `-` for stdout; none by default. */
  accessLog?: string;
  /** gunicorn access-log format atoms. */
  accessLogFormat?: string;
  /** Environment variables set in the master (before preload) and every worker. */
  env?: Record<string, string> | string[];
  /** Directory to change to before loading the app. */
  chdir?: string;
  /** Name used in process titles (`ldsup: master [name]`). */
  name?: string;
  /** Recycle a worker after this many requests (0 = never). */
  maxRequests?: number;
  /** Add up to this many to each worker's maxRequests, drawn per worker. */
  maxRequestsJitter?: number;
  /** Recycle a worker whose RSS exceeds this many MB, replacement first (0 = off). */
  maxMemory?: number;
  /** Detach from the terminal; the command returns once the workers are ready. */
  daemon?: boolean;
  /** Serve /healthz and /readyz at this address, from the master (not through the app). */
  healthBind?: string;
  /** Serve Prometheus /metrics at this address, from the master. */
  metricsBind?: string;
  /** /readyz also waits for flag data (default true). */
  readyRequiresFlags?: boolean;
  /** Workers run as this user (name or uid), switched to after binding (needs root). */
  user?: string | number;
  /** Workers run as this group (name or gid), switched to after binding (needs root). */
  group?: string | number;
  /** Longest request line in bytes (gunicorn default 4094); longer gets 414. */
  limitRequestLine?: number;
  /** Most header fields per request (default 100); more gets 431. */
  limitRequestFields?: number;
  /** Largest header field in bytes (default 8190); larger gets 431. */
  limitRequestFieldSize?: number;
  /** Seconds a client may take to send its request headers (default 30); then 408. */
  headersTimeout?: number;
  /** listen() backlog (default 2048). */
  backlog?: number;
  /** Seconds an idle keep-alive connection stays open (default 5). */
  keepAlive?: number;
  /**
   * Even out keep-alive connections over the workers (default true). The workers accept from one
   * shared socket, so a burst of new connections can land mostly on one worker and stay there;
   * a worker holding clearly more than its share answers the excess with `Connection: close` on
   * their next response, and their clients reconnect. Not a gunicorn setting.
   */
  keepAliveBalance?: boolean;
  /** LaunchDarkly settings. */
  launchdarkly?: LaunchDarklyConfig;
}

/** The shape of `supervisor.config.ts`'s default export: settings and hooks side by side. */
export interface SupervisorConfig extends Settings, Omit<Hooks, 'preload'> {}

/** Settings after defaults, config file, LDSUP_CMD_ARGS and CLI have been merged and validated. */
export interface ResolvedSettings {
  app: string | null;
  bind: string[];
  workers: number;
  timeout: number;
  gracefulTimeout: number;
  preload: boolean;
  pidfile: string | null;
  logLevel: Level;
  logFormat: LogFormat;
  errorLog: string;
  accessLog: string | null;
  accessLogFormat: string;
  env: Record<string, string>;
  chdir: string;
  name: string;
  maxRequests: number;
  maxRequestsJitter: number;
  maxMemory: number;
  daemon: boolean;
  healthBind: string | null;
  metricsBind: string | null;
  readyRequiresFlags: boolean;
  user: string | number | null;
  group: string | number | null;
  limitRequestLine: number;
  limitRequestFields: number;
  limitRequestFieldSize: number;
  headersTimeout: number;
  backlog: number;
  keepAlive: number;
  keepAliveBalance: boolean;
  launchdarkly: LaunchDarklyConfig;
  /** The config file the settings came from, if any. */
  configFile: string | null;
}

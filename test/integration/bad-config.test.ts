/**
 * Bad configuration and bad input, through the real CLI: each case must exit non-zero (1 for a
 * config error, 2 for a command-line usage error) with exactly one line on stderr,
 * `ldsup: error: …`, naming the key and where it came from, and must start nothing: no worker,
 * no listener, no pidfile, the port still free.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, cleanup, freePort, runCli, tmpDir, writeConfig } from '../support/ldsup.js';

const APPS = path.join(FIXTURES, 'apps');
const BASIC = path.join(APPS, 'basic.mjs');
const NO_HANDLER = path.join(APPS, 'no-handler.mjs');

afterEach(cleanup);

/** Can we bind the port ourselves? (nothing, not even a leaked worker, holds it) */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

interface Ctx {
  dir: string;
  port: number;
  pidfile: string;
  /** Writes `supervisor.config.ts` (or `name`) into the temp dir; returns its path. */
  config(body: string, name?: string): string;
}

interface Case {
  /** Builds the command line (the server is really started unless the args say `check`). */
  args(c: Ctx): string[];
  env?: Record<string, string>;
  code: 1 | 2;
  /** Every piece must appear in the error line ($CFG: the config file, $DIR: the temp dir). */
  says: (string | RegExp)[];
}

/** A real start: -b on a free port and -p in the temp dir, so a wrong start would show. */
const serve = (c: Ctx, ...args: string[]) => ['-b', `127.0.0.1:${c.port}`, '-p', c.pidfile, ...args];
/** A config with `settings` (TS object-literal text) and a valid app and bind, and a real start. */
const withConfig =
  (settings: string, name = 'supervisor.config.ts') =>
  (c: Ctx) => ['-c', c.config(`export default {\n  app: ${JSON.stringify(BASIC)},\n  bind: '127.0.0.1:${c.port}',\n  ${settings},\n};\n`, name), '-p', c.pidfile];

const CASES: Record<string, Case> = {
  'unknown key': { args: withConfig('workerz: 2'), code: 1, says: ['unknown setting "workerz" in $CFG', '(did you mean "workers"?)'] },
  'int given as a string': { args: withConfig("workers: '2'"), code: 1, says: ['"workers" in $CFG', 'expected an integer from 1 to 512', 'found "2" (string)'] },
  'number given as text': { args: withConfig("timeout: 'soon'"), code: 1, says: ['"timeout" in $CFG', 'expected a number of seconds >= 0', 'found "soon" (string)'] },
  'bool given as a string': { args: withConfig("preload: 'yes'"), code: 1, says: ['"preload" in $CFG', 'expected true or false', 'found "yes" (string)'] },
  'string given as a number': { args: withConfig('name: 42'), code: 1, says: ['"name" in $CFG', 'expected a non-empty string', 'found 42 (number)'] },
  'enum (logLevel)': { args: withConfig("logLevel: 'verbose'"), code: 1, says: ['"logLevel" in $CFG', 'expected one of debug, info, warning, error, critical', 'found "verbose" (string)'] },
  'bind as a number': {
    args: (c) => ['-c', c.config(`export default { app: ${JSON.stringify(BASIC)}, bind: ${c.port} };\n`), '-p', c.pidfile],
    code: 1,
    says: ['"bind" in $CFG', 'expected an address (HOST:PORT, [v6]:PORT, unix:PATH or fd://N) or a non-empty array of them', /found \d+ \(number\)/],
  },
  'env as a number': { args: withConfig('env: 5'), code: 1, says: ['"env" in $CFG', 'expected an object of string values (or KEY=VALUE strings)', 'found 5 (number)'] },
  'env value not a string': { args: withConfig('env: { RETRIES: 3 }'), code: 1, says: ['"env.RETRIES" in $CFG', 'expected a string', 'found 3 (number)'] },
  'launchdarkly sub-key type': {
    args: withConfig("launchdarkly: { startWait: 'long' }"),
    code: 1,
    says: ['"launchdarkly.startWait" in $CFG', 'expected a number of seconds >= 0', 'found "long" (string)'],
  },
  'launchdarkly unknown sub-key': {
    args: withConfig("launchdarkly: { streamURI: 'http://x' }"),
    code: 1,
    says: ['"launchdarkly" in $CFG', 'found unknown key "streamURI" (did you mean "streamUri"?)'],
  },
  'workers 0': { args: withConfig('workers: 0'), code: 1, says: ['"workers" in $CFG', 'expected an integer from 1 to 512', 'found 0 (number)'] },
  'workers -1': { args: withConfig('workers: -1'), code: 1, says: ['"workers" in $CFG', 'found -1 (number)'] },
  'workers 100000': { args: withConfig('workers: 100000'), code: 1, says: ['"workers" in $CFG', 'found 100000 (number)'] },
  'workers -1 on the command line': { args: (c) => serve(c, '-w', '-1', BASIC), code: 1, says: ['--workers (command line)', 'expected an integer from 1 to 512', 'found "-1" (string)'] },
  'bind host:port:extra': {
    args: (c) => ['-c', c.config(`export default { app: ${JSON.stringify(BASIC)}, bind: '127.0.0.1:${c.port}:9' };\n`), '-p', c.pidfile],
    code: 1,
    says: ['"bind" in $CFG', /found "127\.0\.0\.1:\d+:9" \(string\)/, "too many ':' for HOST:PORT (IPv6 addresses go in brackets: [::1]:8000)"],
  },
  'bind port 70000 (-b)': { args: (c) => ['-b', '127.0.0.1:70000', '-p', c.pidfile, BASIC], code: 1, says: ['--bind (command line)', 'found "127.0.0.1:70000" (string)', 'port 70000 is out of range (0-65535)'] },
  'bind unix: in a missing directory': {
    args: (c) => ['-c', c.config(`export default { app: ${JSON.stringify(BASIC)}, bind: 'unix:${c.dir}/nope/app.sock' };\n`), '-p', c.pidfile],
    code: 1,
    says: ['"bind" in $CFG', '"unix:$DIR/nope/app.sock"', 'directory $DIR/nope does not exist'],
  },
  // A relative socket path is under chdir, where the socket is created (gunicorn binds after chdir), not beside the config.
  'bind unix: relative, its directory missing under chdir': {
    args: (c) => {
      fs.mkdirSync(path.join(c.dir, 'srv'));
      fs.mkdirSync(path.join(c.dir, 'run'));
      return withConfig("chdir: './srv',\n  bind: 'unix:run/app.sock'")(c);
    },
    code: 1,
    says: ['invalid value for "bind" in $CFG', 'found "unix:run/app.sock" (string): directory $DIR/srv/run does not exist'],
  },
  'bind unix: relative, its directory missing under chdir (check)': {
    args: (c) => {
      fs.mkdirSync(path.join(c.dir, 'srv'));
      fs.mkdirSync(path.join(c.dir, 'run'));
      return ['check', ...withConfig("chdir: './srv',\n  bind: 'unix:run/app.sock'")(c)];
    },
    code: 1,
    says: ['invalid value for "bind" in $CFG', 'directory $DIR/srv/run does not exist'],
  },
  'healthBind unix: relative, its directory missing under chdir': {
    args: (c) => {
      fs.mkdirSync(path.join(c.dir, 'srv'));
      fs.mkdirSync(path.join(c.dir, 'run'));
      return withConfig("chdir: './srv',\n  healthBind: 'unix:run/health.sock'")(c);
    },
    code: 1,
    says: ['invalid value for "healthBind" in $CFG: expected an address (HOST:PORT or unix:PATH), found "unix:run/health.sock" (string): directory $DIR/srv/run does not exist'],
  },
  'chdir that does not exist': {
    args: withConfig("chdir: './nope'"),
    code: 1,
    says: ['invalid value for "chdir" in $CFG: expected an existing directory, found "./nope" (string): $DIR/nope does not exist'],
  },
  'chdir that does not exist (check)': { args: (c) => ['check', ...withConfig("chdir: './nope'")(c)], code: 1, says: ['invalid value for "chdir" in $CFG', '$DIR/nope does not exist'] },
  'chdir naming a file': { args: withConfig("chdir: './supervisor.config.ts'"), code: 1, says: ['invalid value for "chdir" in $CFG', '$DIR/supervisor.config.ts is not a directory'] },
  'LDSUP_CMD_ARGS --chdir that does not exist': {
    args: (c) => serve(c, BASIC),
    env: { LDSUP_CMD_ARGS: '--chdir nope' },
    code: 1,
    says: ['invalid value for --chdir (LDSUP_CMD_ARGS): expected an existing directory, found "nope" (string): $DIR/nope does not exist'],
  },
  'pidfile naming a directory (-p)': {
    args: (c) => {
      fs.mkdirSync(path.join(c.dir, 'run'));
      return ['-b', `127.0.0.1:${c.port}`, '-p', 'run', BASIC];
    },
    code: 1,
    says: ['invalid value for --pid (command line): expected the path of a file, found "run" (string): $DIR/run is a directory'],
  },
  'pidfile naming a directory (config)': {
    args: (c) => ['-c', c.config(`export default { app: ${JSON.stringify(BASIC)}, bind: '127.0.0.1:${c.port}', pidfile: '.' };\n`)],
    code: 1,
    says: ['invalid value for "pidfile" in $CFG: expected the path of a file, found "." (string): $DIR is a directory'],
  },
  'error log in a missing directory': {
    args: (c) => serve(c, '--error-logfile', 'logs/error.log', BASIC),
    code: 1,
    says: ['cannot open error log file logs/error.log (--error-logfile / errorLog): ENOENT: no such file or directory'],
  },
  'user that does not exist (-u)': {
    args: (c) => serve(c, '-u', 'ldsup-no-such-user', BASIC),
    code: 1,
    says: ['invalid value for --user (command line): expected a user name from /etc/passwd or a numeric uid, found "ldsup-no-such-user" (string): no such user'],
  },
  'user that does not exist (config)': {
    args: withConfig("user: 'ldsup-no-such-user'"),
    code: 1,
    says: ['invalid value for "user" in $CFG: expected a user name from /etc/passwd or a numeric uid, found "ldsup-no-such-user" (string): no such user'],
  },
  'user that does not exist (check)': { args: () => ['check', '-u', 'ldsup-no-such-user', BASIC], code: 1, says: ['invalid value for --user (command line)', 'no such user'] },
  'group that does not exist (config)': {
    args: withConfig("group: 'ldsup-no-such-group'"),
    code: 1,
    says: ['invalid value for "group" in $CFG: expected a group name from /etc/group or a numeric gid, found "ldsup-no-such-group" (string): no such group'],
  },
  'group that does not exist (check, LDSUP_CMD_ARGS)': {
    args: () => ['check', BASIC],
    env: { LDSUP_CMD_ARGS: '-g ldsup-no-such-group' },
    code: 1,
    says: ['invalid value for --group (LDSUP_CMD_ARGS)', 'no such group'],
  },
  'hook that is not a function': { args: withConfig("postFork: 'log it'"), code: 1, says: ['hook "postFork" in $CFG must be a function', 'found "log it" (string)'] },
  'syntax error (TS)': {
    args: (c) => ['-c', c.config(`export default {\n  workers: 2,\n  app: ,\n};\n`), '-p', c.pidfile],
    code: 1,
    says: ['cannot load config file $CFG', 'Unexpected token', '(line 3'],
  },
  'syntax error (ESM .mjs)': {
    args: (c) => ['-c', c.config(`export default {\n  workers: 2,\n  app: ,\n};\n`, 'supervisor.config.mjs'), '-p', c.pidfile],
    code: 1,
    says: ['cannot load config file $CFG', "Unexpected token ','", '(line 3)'],
  },
  'syntax error (JSON)': {
    args: (c) => ['-c', c.config(`{\n  "workers": 2,\n}\n`, 'supervisor.config.json'), '-p', c.pidfile],
    code: 1,
    says: ['cannot load config file $CFG', 'in JSON at position', '(line 3)'],
  },
  'config that throws at load': {
    args: (c) => ['-c', c.config(`const url = process.env.NOPE;\nif (!url) throw new Error('DATABASE_URL is not set');\nexport default {};\n`), '-p', c.pidfile],
    code: 1,
    says: ['cannot load config file $CFG: DATABASE_URL is not set (line 2)'],
  },
  'config exporting nothing': {
    args: (c) => ['-c', c.config(`export const workers = 2;\n`), '-p', c.pidfile, BASIC],
    code: 1,
    says: ['config file $CFG exports nothing (expected a default export'],
  },
  'config found by search exporting nothing': {
    args: (c) => {
      c.config(`export const workers = 2;\n`);
      return serve(c, BASIC);
    },
    code: 1,
    says: ['config file $CFG exports nothing'],
  },
  'config exporting an array': { args: (c) => ['-c', c.config(`export default [1];\n`), '-p', c.pidfile], code: 1, says: ['config file $CFG must export an object, found [1] (array)'] },
  'no app anywhere': { args: (c) => serve(c), code: 1, says: ['No application module specified (give [app] or set "app" in the config).'] },
  '--config naming a missing file': { args: (c) => serve(c, '-c', 'missing.config.ts', BASIC), code: 1, says: ['config file not found: $DIR/missing.config.ts (given by --config)'] },
  'unknown CLI option': { args: (c) => serve(c, '--wrkers', '2', BASIC), code: 2, says: ["unknown option '--wrkers'", '(run ldsup --help for usage)'] },
  'unknown option after a subcommand': { args: () => ['check', '--bindd', 'x', BASIC], code: 2, says: ["unknown option '--bindd' (Did you mean --bind?)"] },
  '-w missing its value': { args: (c) => [BASIC, '-b', `127.0.0.1:${c.port}`, '-w'], code: 2, says: ["option '-w, --workers <int>' argument missing"] },
  'two apps given': { args: (c) => serve(c, BASIC, BASIC), code: 2, says: ['too many arguments'] },
  '--workers abc': { args: (c) => serve(c, '--workers', 'abc', BASIC), code: 1, says: ['invalid value for --workers (command line): expected an integer from 1 to 512, found "abc" (string)'] },
  '--timeout on check names the flag': { args: () => ['check', '-t', 'x', BASIC], code: 1, says: ['invalid value for --timeout (command line): expected a number of seconds >= 0, found "x" (string)'] },
  'reload --timeout abc': { args: (c) => ['reload', '-p', c.pidfile, '--timeout', 'abc'], code: 2, says: ['invalid value for --timeout: expected a number of seconds > 0, found "abc"'] },
  'reload --timeout 0': { args: (c) => ['reload', '-p', c.pidfile, '--timeout', '0'], code: 2, says: ['invalid value for --timeout: expected a number of seconds > 0, found "0"'] },
  'stop --timeout abc': { args: (c) => ['stop', '-p', c.pidfile, '--timeout', 'abc'], code: 2, says: ['invalid value for --timeout: expected a number of seconds, found "abc"'] },
  'LDSUP_CMD_ARGS with an open quote': { args: (c) => serve(c, BASIC), env: { LDSUP_CMD_ARGS: '-e "A=1' }, code: 1, says: ['invalid LDSUP_CMD_ARGS "-e \\"A=1": unterminated " quote'] },
  'LDSUP_CMD_ARGS with an unknown option': { args: (c) => serve(c, BASIC), env: { LDSUP_CMD_ARGS: '--wrkers 3' }, code: 1, says: ['invalid LDSUP_CMD_ARGS "--wrkers 3": unknown option \'--wrkers\''] },
  'LDSUP_CMD_ARGS with a bad value': { args: (c) => serve(c, BASIC), env: { LDSUP_CMD_ARGS: '-w many' }, code: 1, says: ['invalid value for --workers (LDSUP_CMD_ARGS)', 'found "many" (string)'] },
  'maxRequestsJitter without maxRequests': {
    args: withConfig('maxRequestsJitter: 5'),
    code: 1,
    says: ['conflicting settings: maxRequestsJitter is 5 ("maxRequestsJitter" in $CFG) but maxRequests is 0 (the default); jitter needs maxRequests > 0'],
  },
  'bad WEB_CONCURRENCY': { args: (c) => serve(c, BASIC), env: { WEB_CONCURRENCY: 'lots' }, code: 1, says: ['invalid value for environment variable WEB_CONCURRENCY: expected an integer from 1 to 512, found "lots" (string)'] },
  'bad PORT': { args: (c) => ['-p', c.pidfile, BASIC], env: { PORT: 'http' }, code: 1, says: ['invalid value for environment variable PORT: expected a port number from 0 to 65535, found "http" (string)'] },
};

describe('bad input: one line, the right exit status, nothing started', () => {
  test.each(Object.entries(CASES))(
    '%s',
    async (_name, kase) => {
      const dir = tmpDir('ldsup-bad-');
      const port = await freePort();
      let cfg = '(no config file)';
      const c: Ctx = {
        dir,
        port,
        pidfile: path.join(dir, 'ldsup.pid'),
        config: (body, name = 'supervisor.config.ts') => (cfg = writeConfig(dir, name, body)),
      };
      const args = kase.args(c);
      const before = fs.readdirSync(dir).sort();
      const r = await runCli(args, { cwd: dir, env: kase.env });

      expect(r.code).toBe(kase.code);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      const line = lines[0]!;
      expect(line).toMatch(/^ldsup: error: \S/);
      for (const piece of kase.says) {
        if (typeof piece === 'string') expect(line).toContain(piece.replaceAll('$CFG', cfg).replaceAll('$DIR', dir));
        else expect(line).toMatch(piece);
      }
      // Nothing was started.
      expect(r.output).not.toMatch(/Booting worker|Listening at/);
      expect(fs.existsSync(c.pidfile)).toBe(false);
      expect(await portFree(port)).toBe(true);
      // Nor left behind: no pidfile (or its temp file), no control socket.
      expect(fs.readdirSync(dir).sort()).toEqual(before);
    },
    CI_TIMEOUT * 2,
  );
});

describe('an app with no handler', () => {
  it('ldsup check says so, exit 1', async () => {
    const r = await runCli(['check', NO_HANDLER]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `ldsup: error: app ${NO_HANDLER} must export default a request handler (req, res) => void or a factory (ctx) => handler, found 42 (number)`,
    ]);
  });

  it('a real start halts with exit 4, "App failed to load.", and removes its pidfile', async () => {
    const dir = tmpDir();
    const port = await freePort();
    const pidfile = path.join(dir, 'ldsup.pid');
    const r = await runCli(['-b', `127.0.0.1:${port}`, '-p', pidfile, NO_HANDLER], { cwd: dir });
    expect(r.code).toBe(4);
    expect(r.output).toContain('found 42 (number)');
    expect(r.output).toMatch(/Reason: App failed to load\./);
    expect(fs.existsSync(pidfile)).toBe(false);
    expect(await portFree(port)).toBe(true);
  });
});

describe('config files of every kind load (ldsup check)', () => {
  // [file name, text]: each sets workers 3 and an app relative to the config file.
  test.each<[string, string]>([
    ['supervisor.config.ts', `import { defineConfig } from 'ldsup';\nconst n: number = 3;\nexport default defineConfig({ workers: n, app: './app.mjs' });\n`],
    ['supervisor.config.mts', `const n: number = 3;\nexport default { workers: n, app: './app.mjs' };\n`],
    ['supervisor.config.mjs', `import { defineConfig } from 'ldsup';\nexport default defineConfig({ workers: 3, app: './app.mjs' });\n`],
    ['supervisor.config.js', `export default { workers: 3, app: './app.mjs' };\n`], // ESM: package.json says "type": "module"
    ['supervisor.config.cjs', `module.exports = { workers: 3, app: './app.mjs' };\n`],
    ['supervisor.config.json', `{ "workers": 3, "app": "./app.mjs" }\n`],
    ['.ldsuprc', `workers: 3\napp: ./app.mjs\n`],
    ['package.json', `{ "type": "module", "ldsup": { "workers": 3, "app": "./app.mjs" } }\n`],
  ])(
    '%s, found by search and named by -c, from another directory',
    async (name, text) => {
      const dir = tmpDir();
      const conf = path.join(dir, 'conf');
      fs.mkdirSync(conf);
      if (name !== 'package.json') writeConfig(conf, 'package.json', '{ "type": "module" }');
      const file = writeConfig(conf, name, text);
      fs.copyFileSync(BASIC, path.join(conf, 'app.mjs'));

      const found = await runCli(['print-config'], { cwd: conf });
      expect([found.code, found.stderr]).toEqual([0, '']);
      expect(found.stdout).toContain(`configFile = ${JSON.stringify(file)}`);
      expect(found.stdout).toContain('workers = 3');

      const named = await runCli(['check', '-c', path.join('conf', name)], { cwd: dir });
      expect([named.code, named.stderr]).toEqual([0, '']);
      expect(named.stdout).toBe(`ok: config ${file}, app ${path.join(conf, 'app.mjs')}\n`);
    },
    CI_TIMEOUT * 2,
  );

  // Most projects' package.json names no "type": where Node strips types itself it would have to
  // guess an ES module .ts from its syntax and print a warning in every process (master, workers,
  // `ldsup stop`), so such files go through jiti instead, silently.
  test('a TypeScript config and app in a package without "type": no warning', async () => {
    const dir = tmpDir();
    writeConfig(dir, 'package.json', '{ "name": "plain-project", "private": true }');
    writeConfig(dir, 'app.ts', `import type { IncomingMessage, ServerResponse } from 'node:http';\nexport default (req: IncomingMessage, res: ServerResponse): void => {\n  res.end('ok');\n};\n`);
    const file = writeConfig(dir, 'supervisor.config.ts', `const n: number = 3;\nexport default { workers: n, app: './app.ts' };\n`);
    const r = await runCli(['check', '-c', file], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(`ok: config ${file}, app ${path.join(dir, 'app.ts')}\n`);
    const printed = await runCli(['print-config'], { cwd: dir });
    expect([printed.code, printed.stderr]).toEqual([0, '']);
    expect(printed.stdout).toContain('workers = 3');
  }, CI_TIMEOUT * 2);
});

describe('print-config', () => {
  it('prints sorted `name = value` lines, the SDK key masked, then checks the app', async () => {
    const dir = tmpDir();
    writeConfig(dir, 'supervisor.config.ts', `export default { app: ${JSON.stringify(BASIC)}, launchdarkly: { sdkKey: 'sdk-very-secret', mode: 'direct' } };\n`);
    const r = await runCli(['print-config', '-e', 'LAUNCHDARKLY_SDK_KEY=sdk-also-secret'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trim().split('\n');
    for (const l of lines) expect(l).toMatch(/^[a-zA-Z]+ = \S/);
    const names = lines.map((l) => l.split(' = ')[0]);
    expect(names).toEqual([...names].sort());
    expect(lines).toContain('launchdarkly = {"sdkKey":"***","mode":"direct"}');
    expect(lines).toContain('env = {"LAUNCHDARKLY_SDK_KEY":"***"}');
    expect(r.stdout).not.toContain('secret');
  });

  it('precedence, gunicorn oracle z: config workers=2, LDSUP_CMD_ARGS "-w 3 -t 7", CLI -w 4 → workers 4, timeout 7', async () => {
    const dir = tmpDir();
    writeConfig(dir, 'supervisor.config.ts', `export default { app: ${JSON.stringify(BASIC)}, workers: 2, timeout: 9, keepAlive: 8 };\n`);
    const r = await runCli(['print-config', '-w', '4'], { cwd: dir, env: { LDSUP_CMD_ARGS: '-w 3 -t 7' } });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.split('\n');
    expect(lines).toEqual(expect.arrayContaining(['workers = 4', 'timeout = 7', 'keepAlive = 8', 'gracefulTimeout = 30']));
  });

  it('LDSUP_CMD_ARGS is split as gunicorn splits GUNICORN_CMD_ARGS: a backslash inside double quotes stays unless it escapes " or \\', async () => {
    const r = await runCli(['print-config', BASIC], { cwd: tmpDir(), env: { LDSUP_CMD_ARGS: String.raw`-e "RE=a\d+" -e "Q=say \"hi\"" -e "B=\\"` } });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n')).toContain(`env = ${JSON.stringify({ RE: String.raw`a\d+`, Q: 'say "hi"', B: '\\' })}`);
  });

  it('options before the subcommand count; after it they win (`ldsup -w 7 print-config -t 3`)', async () => {
    const r = await runCli(['-w', '7', '-t', '9', 'print-config', '-t', '3', BASIC], { cwd: tmpDir() });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['workers = 7', 'timeout = 3']));
  });

  it('a --config inside LDSUP_CMD_ARGS is used; the command line -c wins over it', async () => {
    const dir = tmpDir();
    writeConfig(dir, 'a.config.ts', `export default { app: ${JSON.stringify(BASIC)}, workers: 2 };\n`);
    writeConfig(dir, 'b.config.ts', `export default { app: ${JSON.stringify(BASIC)}, workers: 5 };\n`);
    const fromEnv = await runCli(['print-config'], { cwd: dir, env: { LDSUP_CMD_ARGS: '-c a.config.ts' } });
    expect(fromEnv.stdout.split('\n')).toContain('workers = 2');
    const cliWins = await runCli(['print-config', '-c', 'b.config.ts'], { cwd: dir, env: { LDSUP_CMD_ARGS: '-c a.config.ts' } });
    expect(cliWins.stdout.split('\n')).toContain('workers = 5');
  });
});

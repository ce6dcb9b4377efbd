#!/usr/bin/env node
// Builds ldsup's two optional native parts for the Node that runs this script. Each is optional:
// with no compiler or no matching headers it says so and exits 0, and ldsup does without.
// - native/build/reaper.node (Node-API, any Node): only needed to run as PID 1 in a container;
//   without it ldsup warns at PID 1.
// - native/build/watchdog-<ABI>.node (V8's C++ API, one per Node ABI, so a Node 20 and a Node 24
//   build live side by side): the worker watchdog; without it workers use a watchdog thread.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = path.join(root, 'native', 'build');
if (process.platform !== 'linux') process.exit(0);

const candidates = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
// The C++ API must come from this very Node's headers (same NODE_MODULE_VERSION).
const abi = (dir) => /#define NODE_MODULE_VERSION (\d+)/.exec(readFileSync(path.join(dir, 'node_version.h'), 'utf8'))?.[1];
const napiHeaders = candidates.find((d) => existsSync(path.join(d, 'node_api.h')));
const v8Headers = candidates.find((d) => existsSync(path.join(d, 'v8.h')) && existsSync(path.join(d, 'node_version.h')) && abi(d) === process.versions.modules);

function compile(what, compiler, args) {
  try {
    mkdirSync(build, { recursive: true });
    execFileSync(compiler, args, { stdio: 'inherit' });
  } catch (err) {
    console.error(`ldsup: ${what} not built (${err.message.split('\n')[0]})`);
  }
}

if (napiHeaders) {
  compile('native reaper (only needed to run as PID 1)', process.env.CC || 'cc', [
    '-O2', '-shared', '-fPIC', '-Wall', `-I${napiHeaders}`, '-o', path.join(build, 'reaper.node'), path.join(root, 'native', 'reaper.c'),
  ]);
} else console.error('ldsup: native reaper not built (no Node headers found); only needed to run as PID 1');

if (v8Headers) {
  compile('native watchdog (workers use a watchdog thread instead)', process.env.CXX || 'c++', [
    '-O2', '-shared', '-fPIC', '-Wall', '-std=c++20', '-pthread', `-I${v8Headers}`,
    '-o', path.join(build, `watchdog-${process.versions.modules}.node`), path.join(root, 'native', 'watchdog.cc'),
  ]);
} else console.error(`ldsup: native watchdog not built (no headers for Node ${process.version}); workers use a watchdog thread instead`);

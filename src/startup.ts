/**
 * How this process was started, captured before anything changes it: USR2 re-executes the
 * master with the same Node, flags, arguments, directory and (original) environment, as
 * gunicorn's reexec uses `env_orig`.
 */
export const STARTUP = Object.freeze({
  env: { ...process.env },
  cwd: process.cwd(),
  argv: process.argv.slice(1),
  execArgv: process.execArgv.slice(),
  execPath: process.execPath,
});

/*
 * ldsup's zombie reaper for when the master runs as PID 1 (a container's init): orphaned
 * grandchildren of the app are re-parented to PID 1 and must be waited for, which Node cannot
 * do (it only waits for the children it spawned). reap(ownPids) waits for every exited child
 * that is NOT one of ours (those are libuv's to wait for, or their 'exit' events would be lost),
 * peeking first with WNOWAIT so that a child of ours is never reaped here.
 */
#include <node_api.h>
#include <sys/types.h>
#include <sys/wait.h>

#define MAX_KNOWN 4096

static napi_value Reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  static int known[MAX_KNOWN];
  uint32_t n = 0;
  if (argc >= 1) napi_get_array_length(env, argv[0], &n);
  if (n > MAX_KNOWN) n = MAX_KNOWN;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[0], i, &v);
    napi_get_value_int32(env, v, &known[i]);
  }
  napi_value out;
  napi_create_array(env, &out);
  uint32_t reaped = 0;
  for (;;) {
    siginfo_t si;
    si.si_pid = 0;
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0) break;
    int ours = 0;
    for (uint32_t i = 0; i < n; i++) if (known[i] == si.si_pid) ours = 1;
    if (ours) break; /* libuv waits for it; look again on the next call */
    int status;
    if (waitpid(si.si_pid, &status, WNOHANG) <= 0) break;
    napi_value pid;
    napi_create_int32(env, si.si_pid, &pid);
    napi_set_element(env, out, reaped++, pid);
  }
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "reap", NAPI_AUTO_LENGTH, Reap, NULL, &fn);
  napi_set_named_property(env, exports, "reap", fn);
  return exports;
}

/*
 * ldsup's worker watchdog, native (see src/watchdog.ts). A libuv timer on the worker's event loop
 * stamps a clock; a plain thread checks the stamp. When the loop has been blocked for `stallMs`,
 * the thread asks V8 to interrupt the main thread (Isolate::RequestInterrupt: thread-safe, and
 * served even while JavaScript spins, at the next loop back-edge or call), and the interrupt
 * writes the JavaScript stack to a file. It replaces a worker thread that paused the main thread
 * through the inspector: the same stack at no start-up cost (a worker thread costs each worker
 * ~65 ms of CPU at boot and ~10 MB).
 *
 * This uses V8's C++ API, which is not ABI-stable: scripts/build-native.mjs builds it against
 * the headers of the Node that runs the build, and src/watchdog.ts falls back to the thread when
 * it is missing or was built for another Node.
 */
#include <node.h>
#include <uv.h>
#include <v8.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace {

struct Watch {
  v8::Isolate* isolate = nullptr;
  std::string file;
  int64_t stall_ms = 0;
  int64_t period_ms = 0;
  uv_timer_t timer;
  std::atomic<int64_t> last_tick{0};
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
};

Watch* active = nullptr;

int64_t NowMs() { return static_cast<int64_t>(uv_hrtime() / 1000000); }

void OnTick(uv_timer_t* t) { static_cast<Watch*>(t->data)->last_tick.store(NowMs()); }

std::string Utf8(v8::Isolate* isolate, v8::Local<v8::String> s) {
  if (s.IsEmpty()) return "";
  v8::String::Utf8Value v(isolate, s);
  return *v ? std::string(*v, v.length()) : "";
}

/* Runs on the main thread, inside the blocked JavaScript. */
void Capture(v8::Isolate* isolate, void* data) {
  auto* w = static_cast<Watch*>(data);
  v8::HandleScope scope(isolate);
  v8::Local<v8::StackTrace> trace = v8::StackTrace::CurrentStackTrace(isolate, 64, v8::StackTrace::kDetailed);
  std::string out;
  for (int i = 0; i < trace->GetFrameCount(); i++) {
    v8::Local<v8::StackFrame> f = trace->GetFrame(isolate, i);
    std::string fn = Utf8(isolate, f->GetFunctionName());
    std::string script = Utf8(isolate, f->GetScriptNameOrSourceURL());
    out += "    at " + (fn.empty() ? std::string("<anonymous>") : fn) + " (" + (script.empty() ? std::string("<unknown>") : script) + ":" +
           std::to_string(f->GetLineNumber()) + ":" + std::to_string(f->GetColumn()) + ")\n";
  }
  int fd = open(w->file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return; /* run dir gone: the master is stopping */
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = write(fd, out.data() + done, out.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
}

void Loop(Watch* w) {
  bool captured = false;
  std::unique_lock<std::mutex> lock(w->mu);
  while (!w->cv.wait_for(lock, std::chrono::milliseconds(w->period_ms), [w] { return w->stopping; })) {
    bool stalled = NowMs() - w->last_tick.load() >= w->stall_ms;
    if (!stalled) {
      captured = false;
    } else if (!captured) {
      captured = true;
      w->isolate->RequestInterrupt(Capture, w);
    }
  }
}

/* The environment is going away (worker exit): stop asking its isolate for anything. */
void Stop(void* data) {
  auto* w = static_cast<Watch*>(data);
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->stopping = true;
  }
  w->cv.notify_all();
  if (w->thread.joinable()) w->thread.join();
}

/* start(file, stallMs, periodMs): once per process. */
void Start(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (active != nullptr || args.Length() < 3 || !args[0]->IsString()) {
    args.GetReturnValue().Set(false);
    return;
  }
  auto* w = new Watch();
  w->isolate = isolate;
  w->file = Utf8(isolate, args[0].As<v8::String>());
  w->stall_ms = args[1]->IntegerValue(context).FromMaybe(1000);
  w->period_ms = args[2]->IntegerValue(context).FromMaybe(250);
  w->last_tick.store(NowMs());
  uv_loop_t* loop = node::GetCurrentEventLoop(isolate);
  uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  uv_timer_start(&w->timer, OnTick, static_cast<uint64_t>(w->period_ms), static_cast<uint64_t>(w->period_ms));
  uv_unref(reinterpret_cast<uv_handle_t*>(&w->timer));
  w->thread = std::thread(Loop, w);
  node::AddEnvironmentCleanupHook(isolate, Stop, w);
  active = w;
  args.GetReturnValue().Set(true);
}

/* stop(): from process.on('exit'), before V8 goes away (process.exit() runs no cleanup hooks). */
void StopActive(const v8::FunctionCallbackInfo<v8::Value>&) {
  if (active != nullptr) Stop(active);
}

void SetFunction(v8::Local<v8::Context> context, v8::Local<v8::Object> target, const char* name, v8::FunctionCallback fn) {
  v8::Isolate* isolate = context->GetIsolate();
  target->Set(context, v8::String::NewFromUtf8(isolate, name).ToLocalChecked(), v8::FunctionTemplate::New(isolate, fn)->GetFunction(context).ToLocalChecked()).Check();
}

}  // namespace

NODE_MODULE_INIT() {
  SetFunction(context, exports.As<v8::Object>(), "start", Start);
  SetFunction(context, exports.As<v8::Object>(), "stop", StopActive);
}

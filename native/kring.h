// kring native core: shared declarations.
//
// The native layer is deliberately small (liburing's shape): sockets, options, the mapping, the
// poll handle, and the datagram syscalls. It knows no header layout and no protocol; those live in
// src/. Every entry point exported to JavaScript is named kr*.
//
// One convention for every entry point:
// - Arguments: up to three positional ones; an entry point that needs more takes one object with
//   named fields (read with ArgObject, below). Every call names its `op` (what the call is for:
//   'PACKET_RX_RING', 'AF_NETLINK', ...), which the RingError carries; ioctl entry points name
//   their request.
// - Failures: a syscall that fails throws RingError(errno, syscall, op), the class TypeScript
//   handed over once (krInit). Misuse of the binding (wrong argument types) throws TypeError.
// - "Nothing now" is a result, not a failure: EAGAIN on these non-blocking calls returns 0 items
//   (krRecv: -1, as a datagram may be empty). Asynchronous completions (krRecvmmsgStart) pass the
//   RingError to their callback instead of throwing.
#pragma once

#include <napi.h>
#include <uv.h>

#include <unistd.h>

#include <string>
#include <unordered_set>

namespace kring {

class RecvQueue;
void DeleteRecvQueue(RecvQueue* q);

// Per-environment state (worker threads each get their own).
struct AddonData {
  // The RingError class, defined in TypeScript and handed over once by krInit.
  Napi::FunctionReference ringError;
  // krRecvmmsgStart's receive thread (native/recv.cc), started on first use.
  RecvQueue* recvQueue = nullptr;
  // Descriptors krSocket and krOpen made here and krClose has not closed. When the environment
  // goes away with them open (a worker thread that exited or was terminated before closing its
  // sockets), they are closed then: descriptors are the process's, and a socket left open would
  // keep its binding (an NFQUEUE queue, its packets waiting) for the life of the process.
  std::unordered_set<int> fds;
  ~AddonData() {
    DeleteRecvQueue(recvQueue);  // first: its thread may be reading one of them
    for (int fd : fds) close(fd);
  }
};

// Throws `new RingError(errno, syscall, op, strerror(errno))` as a pending JavaScript exception.
// Falls back to a plain Error if krInit has not run (never the case through src/native.ts).
void ThrowRingError(Napi::Env env, int err, const char* syscall, const std::string& op);

// `new RingError(errno, syscall, op, strerror(errno))` as a value (for callbacks).
Napi::Value RingErrorValue(Napi::Env env, int err, const char* syscall, const std::string& op);

// Throws a TypeError; returns false (for `return ThrowType(...)` in argument checks).
bool ThrowType(Napi::Env env, const char* msg);

// Throws a RangeError; returns false.
bool ThrowRange(Napi::Env env, const char* msg);

// Positional argument readers: false (with a TypeError pending) when argument i is not of the form.
bool Int(const Napi::CallbackInfo& info, size_t i, int64_t* out);
bool Str(const Napi::CallbackInfo& info, size_t i, std::string* out);
bool Bytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len);

// The named arguments of an entry point that takes one object: each reader checks its field and,
// on the first one of the wrong form, leaves a TypeError pending and ok() false (later reads then
// answer zero values). Call ok() once, after reading every field.
class ArgObject {
 public:
  ArgObject(const Napi::CallbackInfo& info, const char* fn);
  bool ok() const { return ok_; }
  int64_t Int(const char* key);
  bool Bool(const char* key);
  std::string Str(const char* key);
  // A string, or false for null/undefined.
  bool OptStr(const char* key, std::string* out);
  // A Uint8Array; with `optional`, null/undefined gives data nullptr and returns false.
  bool Bytes(const char* key, uint8_t** data, size_t* len, bool optional = false);
  // An ArrayBuffer or a typed array: the memory it views.
  void Memory(const char* key, uint8_t** data, size_t* len);
  Napi::Float64Array F64(const char* key, bool optional = false);
  Napi::Uint32Array U32(const char* key);
  Napi::Function Fn(const char* key);
  Napi::Value Raw(const char* key);

 private:
  bool Fail(const char* key, const char* want);
  Napi::Env env_;
  Napi::Object obj_;
  const char* fn_;
  bool ok_ = true;
};

// A plan's per-call method (RecvPlan.recv, SendPlan.send, WalkPlan.walk), defined in the plan's
// constructor as an own property of the new object, a function whose data pointer is the C++
// instance. ObjectWrap's prototype methods find the instance with napi_unwrap, a private-symbol
// lookup through V8's runtime (LookupIterator) on every call: about half a microsecond here, paid
// per wake-up of an NFQUEUE consumer (twice) and per block of a capture (docs/benchmarks.md). The
// function holds the object (its `owner` property), so it cannot outlive the instance it points to.
// False, with an exception pending, when a step fails (the constructor then throws it).
template <typename T, Napi::Value (T::*Method)(const Napi::CallbackInfo&)>
bool BindMethod(Napi::Env env, napi_value self, const char* name, T* instance) {
  napi_callback trampoline = [](napi_env e, napi_callback_info cbinfo) -> napi_value {
    Napi::CallbackInfo info(e, cbinfo);
    return (static_cast<T*>(info.Data())->*Method)(info);
  };
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, trampoline, instance, &fn) == napi_ok &&
      napi_set_named_property(env, fn, "owner", self) == napi_ok && napi_set_named_property(env, self, name, fn) == napi_ok)
    return true;
  if (!env.IsExceptionPending()) ThrowType(env, "could not define a plan's method");
  return false;
}

// Closes a libuv handle allocated with malloc, freeing it with libc's free as the close callback.
// The callback must not be code of this library: a worker thread's environment unloads the addon
// before its loop has finished closing handles, and a callback here would run unmapped.
void CloseHandleAndFree(uv_handle_t* handle);

// Registers the Poller class on `exports`.
void InitPoller(Napi::Env env, Napi::Object exports);

// Registers krRecvmmsgInto and krRecvmmsgStart (native/recv.cc) on `exports`.
void InitRecv(Napi::Env env, Napi::Object exports);

// Registers the WalkPlan class (native/walk.cc) on `exports`.
void InitWalk(Napi::Env env, Napi::Object exports);

// Registers krGather (native/gather.cc) on `exports`.
void InitGather(Napi::Env env, Napi::Object exports);

}  // namespace kring

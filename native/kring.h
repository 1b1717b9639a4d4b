// kring native core: shared declarations.
//
// The native layer is deliberately small (liburing's shape): sockets, options, the mapping, the
// poll handle, and the datagram syscalls. It knows no header layout and no protocol; those live in
// src/. Every entry point exported to JavaScript is named kr*.
#pragma once

#include <napi.h>
#include <uv.h>

#include <string>

namespace kring {

class RecvQueue;
void DeleteRecvQueue(RecvQueue* q);

// Per-environment state (worker threads each get their own).
struct AddonData {
  // The RingError class, defined in TypeScript and handed over once by krInit.
  Napi::FunctionReference ringError;
  // krRecvmmsgStart's receive thread (native/recv.cc), started on first use.
  RecvQueue* recvQueue = nullptr;
  ~AddonData() { DeleteRecvQueue(recvQueue); }
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

// Argument readers: false (with a TypeError pending) when argument i is not of the form.
bool Int(const Napi::CallbackInfo& info, size_t i, int64_t* out);
bool Str(const Napi::CallbackInfo& info, size_t i, std::string* out);
bool Bytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len);

// Closes a libuv handle allocated with malloc, freeing it with libc's free as the close callback.
// The callback must not be code of this library: a worker thread's environment unloads the addon
// before its loop has finished closing handles, and a callback here would run unmapped.
void CloseHandleAndFree(uv_handle_t* handle);

// Registers the Poller class on `exports`.
void InitPoller(Napi::Env env, Napi::Object exports);

// Registers krRecvmmsgInto and krRecvmmsgStart (native/recv.cc) on `exports`.
void InitRecv(Napi::Env env, Napi::Object exports);

}  // namespace kring

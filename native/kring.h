// kring native core: shared declarations.
//
// The native layer is deliberately small (liburing's shape): sockets, options, the mapping, the
// poll handle, and the datagram syscalls. It knows no header layout and no protocol; those live in
// src/. Every entry point exported to JavaScript is named kr*.
#pragma once

#include <napi.h>

#include <string>

namespace kring {

// Per-environment state (worker threads each get their own).
struct AddonData {
  // The RingError class, defined in TypeScript and handed over once by krInit.
  Napi::FunctionReference ringError;
};

// Throws `new RingError(errno, syscall, op, strerror(errno))` as a pending JavaScript exception.
// Falls back to a plain Error if krInit has not run (never the case through src/native.ts).
void ThrowRingError(Napi::Env env, int err, const char* syscall, const std::string& op);

// Registers the Poller class on `exports`.
void InitPoller(Napi::Env env, Napi::Object exports);

}  // namespace kring

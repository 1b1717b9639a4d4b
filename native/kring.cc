// kring native core: syscalls and the mapping.
//
// Arguments are validated and normalised in TypeScript (src/native.ts is the only caller); the
// checks here only keep a misuse of the raw binding from crashing the process.
#include "kring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <unordered_map>
#include <thread>
#include <vector>

namespace kring {

struct Mapping {
  void* addr;
  size_t length;
  bool unmapped;
  // Set while krMmap creates the ArrayBuffer: a refused creation (a length over the runtime's
  // largest ArrayBuffer) may run the finalizer before it returns, and krMmap cleans up after it.
  bool creating;
}; 

static AddonData* Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// Live mappings by base address, process-wide (addresses are unique in the process, and a
// finalizer may run on any environment's thread while another is mid-call). Allocated once and
// never freed, so a finalizer that runs during exit still finds it.
static std::mutex& MappingsLock() {
  static std::mutex* m = new std::mutex();
  return *m;
}
static std::unordered_map<void*, Mapping*>& Mappings() {
  static auto* m = new std::unordered_map<void*, Mapping*>();
  return *m;
}

// Raw N-API with every status checked (a null value on failure): this also builds the errors of
// completions delivered while an environment is going away, where node-addon-api's error paths abort.
Napi::Value RingErrorValue(Napi::Env env, int err, const char* syscall, const std::string& op) {
  AddonData* data = nullptr;
  napi_get_instance_data(env, reinterpret_cast<void**>(&data));
  const char* detail = strerror(err);
  napi_value ctor = nullptr, args[4], out = nullptr;
  bool ok = napi_create_int32(env, err, &args[0]) == napi_ok &&
            napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &args[1]) == napi_ok &&
            napi_create_string_utf8(env, op.c_str(), op.size(), &args[2]) == napi_ok &&
            napi_create_string_utf8(env, detail, NAPI_AUTO_LENGTH, &args[3]) == napi_ok;
  if (ok && data != nullptr && !data->ringError.IsEmpty() &&
      napi_get_reference_value(env, data->ringError.operator napi_ref(), &ctor) == napi_ok && ctor != nullptr) {
    if (napi_new_instance(env, ctor, 4, args, &out) != napi_ok) out = nullptr;
  } else if (ok) {
    napi_value msg;
    std::string text = std::string(syscall) + "(" + op + "): " + detail;
    if (napi_create_string_utf8(env, text.c_str(), text.size(), &msg) != napi_ok || napi_create_error(env, nullptr, msg, &out) != napi_ok)
      out = nullptr;
  }
  return Napi::Value(env, out);
}

void ThrowRingError(Napi::Env env, int err, const char* syscall, const std::string& op) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  napi_value e = RingErrorValue(env, err, syscall, op);
  if (e != nullptr) napi_throw(env, e);
}

void CloseHandleAndFree(uv_handle_t* handle) {
  // free(void*) called as uv_close_cb (void(uv_handle_t*)): the same ABI for a pointer argument.
  uv_close(handle, reinterpret_cast<uv_close_cb>(reinterpret_cast<void (*)(void)>(&free)));
}

bool ThrowType(Napi::Env env, const char* msg) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) napi_throw_type_error(env, nullptr, msg);
  return false;
}

bool ThrowRange(Napi::Env env, const char* msg) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) napi_throw_range_error(env, nullptr, msg);
  return false;
}

// Argument readers: return false (with a TypeError pending) when the argument is not of the form.
bool Int(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  if (!info[i].IsNumber()) return ThrowType(info.Env(), "kring native: expected a number argument");
  *out = info[i].As<Napi::Number>().Int64Value();
  return true;
}

bool Str(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) return ThrowType(info.Env(), "kring native: expected a string argument");
  *out = info[i].As<Napi::String>().Utf8Value();
  // A C string ends at the first NUL: "lo\0garbage" would silently name "lo".
  if (out->find('\0') != std::string::npos) return ThrowType(info.Env(), "kring native: a name must not contain a NUL character");
  return true;
}

bool Bytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
  if (!info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    return ThrowType(info.Env(), "kring native: expected a Uint8Array argument");
  Napi::Uint8Array a = info[i].As<Napi::Uint8Array>();
  *data = a.Data();
  *len = a.ByteLength();
  return true;
}

ArgObject::ArgObject(const Napi::CallbackInfo& info, const char* fn) : env_(info.Env()), fn_(fn) {
  if (!info[0].IsObject()) {
    ok_ = false;
    ThrowType(env_, (std::string(fn) + ": expected an object of named arguments").c_str());
    return;
  }
  obj_ = info[0].As<Napi::Object>();
}

bool ArgObject::Fail(const char* key, const char* want) {
  if (ok_) ThrowType(env_, (std::string(fn_) + ": " + key + " must be " + want).c_str());
  ok_ = false;
  return false;
}

Napi::Value ArgObject::Raw(const char* key) { return ok_ ? obj_.Get(key) : env_.Undefined(); }

int64_t ArgObject::Int(const char* key) {
  Napi::Value v = Raw(key);
  if (!ok_) return 0;
  if (!v.IsNumber()) return Fail(key, "a number"), 0;
  return v.As<Napi::Number>().Int64Value();
}

bool ArgObject::Bool(const char* key) {
  Napi::Value v = Raw(key);
  if (!ok_) return false;
  if (!v.IsBoolean()) return Fail(key, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string ArgObject::Str(const char* key) {
  std::string out;
  if (!OptStr(key, &out) && ok_) Fail(key, "a string");
  return out;
}

bool ArgObject::OptStr(const char* key, std::string* out) {
  Napi::Value v = Raw(key);
  if (!ok_ || v.IsNull() || v.IsUndefined()) return false;
  if (!v.IsString()) return Fail(key, "a string");
  *out = v.As<Napi::String>().Utf8Value();
  // A C string ends at the first NUL: "lo\0garbage" would silently name "lo".
  if (out->find('\0') != std::string::npos) return Fail(key, "a string without NUL characters");
  return true;
}

bool ArgObject::Bytes(const char* key, uint8_t** data, size_t* len, bool optional) {
  *data = nullptr;
  *len = 0;
  Napi::Value v = Raw(key);
  if (!ok_) return false;
  if (optional && (v.IsNull() || v.IsUndefined())) return false;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return Fail(key, "a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  *data = a.Data();
  *len = a.ByteLength();
  return true;
}

void ArgObject::Memory(const char* key, uint8_t** data, size_t* len) {
  *data = nullptr;
  *len = 0;
  Napi::Value v = Raw(key);
  if (!ok_) return;
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    *data = static_cast<uint8_t*>(ab.Data());
    *len = ab.ByteLength();
  } else if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    *data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    *len = ta.ByteLength();
  } else {
    Fail(key, "an ArrayBuffer or a typed array");
  }
}

Napi::Float64Array ArgObject::F64(const char* key, bool optional) {
  Napi::Value v = Raw(key);
  if (!ok_ || (optional && (v.IsNull() || v.IsUndefined()))) return Napi::Float64Array();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) return Fail(key, "a Float64Array"), Napi::Float64Array();
  return v.As<Napi::Float64Array>();
}

Napi::Uint32Array ArgObject::U32(const char* key) {
  Napi::Value v = Raw(key);
  if (!ok_) return Napi::Uint32Array();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) return Fail(key, "a Uint32Array"), Napi::Uint32Array();
  return v.As<Napi::Uint32Array>();
}

Napi::Function ArgObject::Fn(const char* key) {
  Napi::Value v = Raw(key);
  if (!ok_) return Napi::Function();
  if (!v.IsFunction()) return Fail(key, "a function"), Napi::Function();
  return v.As<Napi::Function>();
}

// The (fd, bytes, op) arguments of krBind, krGetsockname and krAttachFilter.
struct FdBytesOp {
  int64_t fd = -1;
  uint8_t* data = nullptr;
  size_t len = 0;
  std::string op;
  bool Read(const Napi::CallbackInfo& info) { return Int(info, 0, &fd) && Bytes(info, 1, &data, &len) && Str(info, 2, &op); }
};

// krInit({ RingError }): receives the error class once, at load.
static Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) return ThrowType(env, "krInit: expected an object"), env.Undefined();
  Napi::Value ctor = info[0].As<Napi::Object>().Get("RingError");
  if (!ctor.IsFunction()) return ThrowType(env, "krInit: RingError must be a class"), env.Undefined();
  Data(env)->ringError = Napi::Persistent(ctor.As<Napi::Function>());
  return env.Undefined();
}

static Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sysconf(_SC_PAGESIZE)));
}

// Runs `make` (which returns a descriptor or -1 with errno and *syscall set) on a short-lived
// helper thread that has joined the network namespace at `netnsPath`: setns(CLONE_NEWNET) changes
// only the calling thread, so the JavaScript thread's namespace is never touched, and what the
// thread opens (a socket, a /proc/thread-self/net file) keeps that namespace for its life.
template <typename Make>
static int OpenIn(const std::string& netnsPath, Make make, int* err, const char** syscall) {
  int fd = -1;
  std::thread t([&] {
    int ns = open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
      *err = errno;
      *syscall = "open";
      return;
    }
    if (setns(ns, CLONE_NEWNET) != 0) {
      *err = errno;
      *syscall = "setns";
      close(ns);
      return;
    }
    close(ns);
    fd = make(syscall);
    if (fd < 0) *err = errno;
  });
  t.join();
  return fd;
}

// krSocket({ domain, type, protocol, netns: path | null, op }) -> fd. Always close-on-exec and
// non-blocking: kring waits with poll, never in a blocking syscall.
static Napi::Value Socket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject a(info, "krSocket");
  int64_t domain = a.Int("domain"), type = a.Int("type"), protocol = a.Int("protocol");
  std::string netns, op = a.Str("op");
  bool inNetns = a.OptStr("netns", &netns);
  if (!a.ok()) return env.Undefined();
  int flags = static_cast<int>(type) | SOCK_CLOEXEC | SOCK_NONBLOCK;
  int fd;
  if (inNetns) {
    int err = 0;
    const char* syscall = "socket";
    fd = OpenIn(
        netns,
        [&](const char** sc) {
          *sc = "socket";
          return socket(static_cast<int>(domain), flags, static_cast<int>(protocol));
        },
        &err, &syscall);
    if (fd < 0) return ThrowRingError(env, err, syscall, op), env.Undefined();
  } else {
    fd = socket(static_cast<int>(domain), flags, static_cast<int>(protocol));
    if (fd < 0) return ThrowRingError(env, errno, "socket", op), env.Undefined();
  }
  Data(env)->fds.insert(fd);
  return Napi::Number::New(env, fd);
}

// krBind(fd, sockaddr bytes, op). The sockaddr is built in TypeScript.
static Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FdBytesOp a;
  if (!a.Read(info)) return env.Undefined();
  if (bind(static_cast<int>(a.fd), reinterpret_cast<sockaddr*>(a.data), static_cast<socklen_t>(a.len)) != 0)
    ThrowRingError(env, errno, "bind", a.op);
  return env.Undefined();
}

// The named arguments krSetsockopt and krGetsockopt share.
struct SockoptArgs {
  int fd, level, name;
  std::string op;
  explicit SockoptArgs(ArgObject& a)
      : fd(static_cast<int>(a.Int("fd"))), level(static_cast<int>(a.Int("level"))), name(static_cast<int>(a.Int("name"))), op(a.Str("op")) {}
};

// krSetsockopt({ fd, level, name, value: number | Uint8Array, op }): a number is passed as a C int
// (range-checked: the kernel reads an int, and 2^31 must not wrap into INT_MIN), bytes as they are.
static Napi::Value Setsockopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject a(info, "krSetsockopt");
  SockoptArgs o(a);
  Napi::Value value = a.Raw("value");
  if (!a.ok()) return env.Undefined();
  int v = 0;
  const void* val = &v;
  socklen_t len = sizeof(v);
  if (value.IsNumber()) {
    int64_t n = value.As<Napi::Number>().Int64Value();
    if (n < INT32_MIN || n > INT32_MAX) return ThrowRange(env, "krSetsockopt: value must fit a C int"), env.Undefined();
    v = static_cast<int>(n);
  } else {
    uint8_t* bytes;
    size_t blen;
    if (!a.Bytes("value", &bytes, &blen)) return env.Undefined();
    val = bytes;
    len = static_cast<socklen_t>(blen);
  }
  if (setsockopt(o.fd, o.level, o.name, val, len) != 0) ThrowRingError(env, errno, "setsockopt", o.op);
  return env.Undefined();
}

// krGetsockopt({ fd, level, name, out, op }) -> length the kernel wrote into out
static Napi::Value Getsockopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject a(info, "krGetsockopt");
  SockoptArgs o(a);
  uint8_t* out;
  size_t len;
  a.Bytes("out", &out, &len);
  if (!a.ok()) return env.Undefined();
  socklen_t sl = static_cast<socklen_t>(len);
  if (getsockopt(o.fd, o.level, o.name, out, &sl) != 0) return ThrowRingError(env, errno, "getsockopt", o.op), env.Undefined();
  return Napi::Number::New(env, sl);
}

// krGetsockname(fd, out bytes, op) -> length of the address the kernel wrote.
static Napi::Value Getsockname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FdBytesOp a;
  if (!a.Read(info)) return env.Undefined();
  socklen_t sl = static_cast<socklen_t>(a.len);
  if (getsockname(static_cast<int>(a.fd), reinterpret_cast<sockaddr*>(a.data), &sl) != 0)
    return ThrowRingError(env, errno, "getsockname", a.op), env.Undefined();
  return Napi::Number::New(env, sl);
}

// An ioctl that takes a struct ifreq naming an interface, asked through the socket so that it
// answers for the socket's own network namespace (if_nametoindex would open a socket in the
// caller's). Returns false with a RingError pending on failure.
static bool IfreqIoctl(const Napi::CallbackInfo& info, unsigned long request, const char* op, struct ifreq* ifr) {
  Napi::Env env = info.Env();
  int64_t fd;
  std::string name;
  if (!Int(info, 0, &fd) || !Str(info, 1, &name)) return false;
  memset(ifr, 0, sizeof(*ifr));
  if (name.size() >= IFNAMSIZ) return ThrowRingError(env, ENODEV, "ioctl", op), false;
  memcpy(ifr->ifr_name, name.data(), name.size());
  if (ioctl(static_cast<int>(fd), request, ifr) != 0) return ThrowRingError(env, errno, "ioctl", op), false;
  return true;
}

// krIfIndex(fd, name) -> ifindex (SIOCGIFINDEX).
static Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  struct ifreq ifr;
  if (!IfreqIoctl(info, SIOCGIFINDEX, "SIOCGIFINDEX", &ifr)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ifr.ifr_ifindex);
}

// krIfMtu(fd, name) -> MTU (SIOCGIFMTU).
static Napi::Value IfMtu(const Napi::CallbackInfo& info) {
  struct ifreq ifr;
  if (!IfreqIoctl(info, SIOCGIFMTU, "SIOCGIFMTU", &ifr)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ifr.ifr_mtu);
}

// Sets a socket option whose value is a struct sock_fprog over a classic BPF program given as
// packed struct sock_filter entries (8 bytes each). Native only because sock_fprog holds a pointer.
static void SetProgram(Napi::Env env, int fd, int level, int name, const uint8_t* data, size_t len, const std::string& op) {
  if (len == 0 || len % sizeof(sock_filter) != 0 || len / sizeof(sock_filter) > BPF_MAXINSNS)
    return (void)ThrowType(env, "a BPF program must be 1..4096 packed sock_filter entries");
  // Copy: the bytes may sit at any alignment inside their ArrayBuffer.
  std::vector<sock_filter> prog(len / sizeof(sock_filter));
  memcpy(prog.data(), data, len);
  sock_fprog fprog;
  fprog.len = static_cast<unsigned short>(prog.size());
  fprog.filter = prog.data();
  if (setsockopt(fd, level, name, &fprog, sizeof(fprog)) != 0) ThrowRingError(env, errno, "setsockopt", op);
}

// krAttachFilter(fd, instructions, op): SO_ATTACH_FILTER with a classic BPF program.
static Napi::Value AttachFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FdBytesOp a;
  if (!a.Read(info)) return env.Undefined();
  SetProgram(env, static_cast<int>(a.fd), SOL_SOCKET, SO_ATTACH_FILTER, a.data, a.len, a.op);
  return env.Undefined();
}

// krSetProgram({ fd, level, name, instructions, op }): any option that takes a sock_fprog
// (PACKET_FANOUT_DATA for a PACKET_FANOUT_CBPF group).
static Napi::Value SetProgramOpt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject a(info, "krSetProgram");
  int64_t fd = a.Int("fd"), level = a.Int("level"), name = a.Int("name");
  std::string op = a.Str("op");
  uint8_t* data;
  size_t len;
  a.Bytes("instructions", &data, &len, false);
  if (!a.ok()) return env.Undefined();
  SetProgram(env, static_cast<int>(fd), static_cast<int>(level), static_cast<int>(name), data, len, op);
  return env.Undefined();
}

// The ArrayBuffer's finalizer: the safety net for a mapping nobody unmapped. Runs on the JS thread.
static void FinalizeMapping(napi_env env, void* addr, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  std::lock_guard<std::mutex> lock(MappingsLock());
  if (!m->unmapped) munmap(m->addr, m->length);
  m->unmapped = true;
  if (m->creating) return;  // krMmap is still in the call that ran this; it erases and frees
  auto it = Mappings().find(m->addr);
  if (it != Mappings().end() && it->second == m) Mappings().erase(it);
  delete m;
}

// krMmap(fd, length, op) -> ArrayBuffer: one external ArrayBuffer per mapping, shared read/write.
// fd -1 maps private anonymous memory (the emulated rings): page-aligned, unlike a V8 allocation,
// so the rings can place every frame where the kernel's copies into it run fastest.
// Raw N-API: node-addon-api's ArrayBuffer::New frees its finalizer data a second time when the
// runtime refuses the buffer (longer than buffer.constants.MAX_LENGTH) after running the finalizer.
static Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, length;
  std::string op;
  if (!Int(info, 0, &fd) || !Int(info, 1, &length) || !Str(info, 2, &op)) return env.Undefined();
  if (length <= 0) return ThrowRingError(env, EINVAL, "mmap", op), env.Undefined();
  int flags = fd == -1 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
  void* addr = mmap(nullptr, static_cast<size_t>(length), PROT_READ | PROT_WRITE, flags,
                    static_cast<int>(fd), 0);
  if (addr == MAP_FAILED) return ThrowRingError(env, errno, "mmap", op), env.Undefined();
  Mapping* m = new Mapping{addr, static_cast<size_t>(length), false, true};
  {
    std::lock_guard<std::mutex> lock(MappingsLock());
    Mappings()[addr] = m;
  }
  napi_value ab = nullptr;
  napi_status st = napi_create_external_arraybuffer(env, addr, static_cast<size_t>(length), FinalizeMapping, m, &ab);
  {
    std::lock_guard<std::mutex> lock(MappingsLock());
    m->creating = false;
    if (st == napi_ok) return Napi::Value(env, ab);
    // Refused: the finalizer may or may not have unmapped already; either way nothing refers to m.
    if (!m->unmapped) munmap(addr, m->length);
    auto it = Mappings().find(addr);
    if (it != Mappings().end() && it->second == m) Mappings().erase(it);
    delete m;
  }
  // Replace the runtime's own exception (if any) with one that names the mapping.
  bool pending = false;
  napi_value ignored;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &ignored);
  std::string msg = "krMmap(" + op + "): a mapping of " + std::to_string(length) +
                    " bytes cannot be an ArrayBuffer in this runtime (larger than buffer.constants.MAX_LENGTH?)";
  ThrowRange(env, msg.c_str());
  return env.Undefined();
}

// krMunmap(ArrayBuffer, op): detach first, so every view over the mapping becomes unusable (reads
// give undefined, methods throw TypeError) before the pages go away; then munmap. Idempotent.
static Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string op;
  if (!Str(info, 1, &op)) return env.Undefined();
  if (!info[0].IsArrayBuffer()) return ThrowType(env, "krMunmap: expected an ArrayBuffer"), env.Undefined();
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) return env.Undefined();
  void* addr;
  size_t length;
  {
    std::lock_guard<std::mutex> lock(MappingsLock());
    auto it = Mappings().find(ab.Data());
    if (it == Mappings().end() || it->second->unmapped)
      return ThrowType(env, "krMunmap: not a kring mapping"), env.Undefined();
    Mapping* m = it->second;
    addr = m->addr;
    length = m->length;
    // Mark first: detaching may release the backing store, and its finalizer must not unmap again.
    m->unmapped = true;
    Mappings().erase(it);
  }
  ab.Detach();
  if (munmap(addr, length) != 0) ThrowRingError(env, errno, "munmap", op);
  return env.Undefined();
}

// krRecv({ fd, buf, flags, op }) -> bytes (with MSG_TRUNC: the datagram's full length), or -1
// when nothing is queued (EAGAIN).
static Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject a(info, "krRecv");
  int64_t fd = a.Int("fd"), flags = a.Int("flags");
  std::string op = a.Str("op");
  uint8_t* buf;
  size_t len;
  a.Bytes("buf", &buf, &len);
  if (!a.ok()) return env.Undefined();
  ssize_t n;
  do {
    n = recv(static_cast<int>(fd), buf, len, static_cast<int>(flags) | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    return ThrowRingError(env, errno, "recv", op), env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// One sendmmsg (MSG_DONTWAIT) of `n` datagrams: datagram i is base[offsets[i] .. + lengths[i]], or
// without offsets back to back from base. Returns the datagrams sent (0 for EAGAIN); a failure of
// the first throws RingError; a datagram outside the buffer is a TypeError. `msgs` and `iov` are
// the caller's, so that a plan reuses them.
static Napi::Value SendSome(Napi::Env env, int fd, uint8_t* base, size_t baseLen, const double* offsets, const uint32_t* lengths, size_t n,
                            uint8_t* addr, size_t addrLen, const std::string& op, std::vector<mmsghdr>* msgs, std::vector<iovec>* iov) {
  if (n == 0) return Napi::Number::New(env, 0);
  msgs->assign(n, mmsghdr{});
  iov->resize(n);
  double next = 0;
  for (size_t i = 0; i < n; i++) {
    double off = offsets == nullptr ? next : offsets[i];
    if (!(off >= 0) || off + lengths[i] > static_cast<double>(baseLen)) return ThrowType(env, "krSendmmsg: a datagram lies outside the buffer"), env.Undefined();
    next = off + lengths[i];
    (*iov)[i] = {base + static_cast<size_t>(off), lengths[i]};
    mmsghdr& m = (*msgs)[i];
    m.msg_hdr.msg_iov = &(*iov)[i];
    m.msg_hdr.msg_iovlen = 1;
    m.msg_hdr.msg_name = addr;
    m.msg_hdr.msg_namelen = static_cast<socklen_t>(addrLen);
  }
  int sent;
  do {
    sent = sendmmsg(fd, msgs->data(), static_cast<unsigned>(n), MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
    return ThrowRingError(env, errno, "sendmmsg", op), env.Undefined();
  }
  return Napi::Number::New(env, sent);
}

// krSendmmsg({ fd, buffer, offsets?, lengths, count, address?, op }) -> datagrams sent, in one
// sendmmsg (MSG_DONTWAIT). Datagram i is buffer[offsets[i] .. + lengths[i]] in place (ring frames
// go out without a copy), or, without offsets, the datagrams lie back to back. `address`: a
// sockaddr, else the socket's default destination. A failure after the first datagram shows only
// as a short count (sendmmsg's own contract: the caller may resend that one alone to learn why); a
// failure of the first throws RingError, except EAGAIN, which is 0 sent.
static Napi::Value Sendmmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject a(info, "krSendmmsg");
  int64_t fd = a.Int("fd"), count = a.Int("count");
  std::string op = a.Str("op");
  uint8_t* base;
  size_t baseLen;
  a.Memory("buffer", &base, &baseLen);
  Napi::Float64Array offsets = a.F64("offsets", true);
  Napi::Uint32Array lengths = a.U32("lengths");
  uint8_t* addr;
  size_t addrLen;
  a.Bytes("address", &addr, &addrLen, true);
  if (!a.ok()) return env.Undefined();
  if (count < 0 || static_cast<size_t>(count) > lengths.ElementLength() || (!offsets.IsEmpty() && static_cast<size_t>(count) > offsets.ElementLength()))
    return ThrowType(env, "krSendmmsg: count exceeds offsets or lengths"), env.Undefined();
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  return SendSome(env, static_cast<int>(fd), base, baseLen, offsets.IsEmpty() ? nullptr : offsets.Data(), lengths.Data(), static_cast<size_t>(count), addr,
                  addrLen, op, &msgs, &iov);
}

// new SendPlan({ fd, buffer, offsets, lengths, address?, op }): krSendmmsg set up once for a caller
// whose arrays stay the same from call to call (a TX ring's send list), so that a send pays one
// N-API crossing and the syscall, not the reading of its named arguments. The arrays' values are
// read at each call. send(from, count): datagrams from..from+count-1, as krSendmmsg sends them
// (the same results and failures); a detached `buffer` (the ring was unmapped) is a TypeError.
class SendPlan : public Napi::ObjectWrap<SendPlan> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "SendPlan", {}); }

  explicit SendPlan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SendPlan>(info) {
    Napi::Env env = info.Env();
    ArgObject a(info, "SendPlan");
    int64_t fd = a.Int("fd");
    op_ = a.Str("op");
    Napi::Value buffer = a.Raw("buffer");
    Napi::Float64Array offsets = a.F64("offsets");
    Napi::Uint32Array lengths = a.U32("lengths");
    uint8_t* addr;
    size_t addrLen;
    a.Bytes("address", &addr, &addrLen, true);
    if (!a.ok()) return;
    if (!buffer.IsArrayBuffer()) {
      ThrowType(env, "SendPlan: buffer must be an ArrayBuffer");
      return;
    }
    if (offsets.ElementLength() != lengths.ElementLength()) {
      ThrowType(env, "SendPlan: offsets and lengths must be as long");
      return;
    }
    fd_ = static_cast<int>(fd);
    if (addr != nullptr) address_.assign(addr, addr + addrLen);
    offsets_ = offsets.Data();
    lengths_ = lengths.Data();
    max_ = lengths.ElementLength();
    buffer_ = Napi::Persistent(buffer.As<Napi::Object>());
    keep_ = Napi::Persistent(Napi::Object::New(env));
    keep_.Set("offsets", offsets);
    keep_.Set("lengths", lengths);
    BindMethod<SendPlan, &SendPlan::Send>(env, info.This(), "send", this);
  }

 private:
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t from, count;
    if (!Int(info, 0, &from) || !Int(info, 1, &count)) return env.Undefined();
    if (from < 0 || count < 0 || static_cast<size_t>(from + count) > max_) return ThrowRange(env, "SendPlan.send: from + count exceeds the arrays"), env.Undefined();
    bool detached = true;
    Napi::ArrayBuffer ab = buffer_.Value().As<Napi::ArrayBuffer>();
    if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached) return ThrowType(env, "SendPlan.send: the buffer was detached (the ring is closed)"), env.Undefined();
    return SendSome(env, fd_, static_cast<uint8_t*>(ab.Data()), ab.ByteLength(), offsets_ + from, lengths_ + from, static_cast<size_t>(count),
                    address_.empty() ? nullptr : address_.data(), address_.size(), op_, &msgs_, &iov_);
  }

  int fd_ = -1;
  std::string op_;
  std::vector<uint8_t> address_;
  const double* offsets_ = nullptr;
  const uint32_t* lengths_ = nullptr;
  size_t max_ = 0;
  Napi::ObjectReference buffer_;
  Napi::ObjectReference keep_;  // the arrays the pointers above point into, kept alive
  std::vector<mmsghdr> msgs_;    // keep their capacity from call to call
  std::vector<iovec> iov_;
};

// krPoll(fd, events, op) -> revents of a poll() that does not wait. On a netlink socket with the
// kernel's RX ring, poll() is also what lets a dump go on (netlink_poll runs the next dump step
// when the ring has room), so the kernel-mode consumer calls it once per wake-up.
static Napi::Value Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, events;
  std::string op;
  if (!Int(info, 0, &fd) || !Int(info, 1, &events) || !Str(info, 2, &op)) return env.Undefined();
  struct pollfd p = {static_cast<int>(fd), static_cast<short>(events), 0};
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowRingError(env, errno, "poll", op), env.Undefined();
  return Napi::Number::New(env, n == 0 ? 0 : p.revents);
}

// krRingKick(fd, op, flags = MSG_DONTWAIT) -> bytes sent, or -1 when the kernel could take nothing
// now (EAGAIN): sendto(fd, NULL, 0, flags, NULL, 0). A NULL buffer is how netlink_sendmsg tells a
// TX-ring send from an ordinary one; AF_PACKET's packet_sendmsg sends from its TX ring whenever
// one is set up (tpacket_snd). Without MSG_DONTWAIT tpacket_snd waits until every frame it sent is
// released by the driver. Any other failure throws RingError.
static Napi::Value RingKick(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, flags = MSG_DONTWAIT;
  // `op` is read only for an error: this runs once per TX batch, and a string costs an allocation.
  if (!Int(info, 0, &fd) || !info[1].IsString()) return ThrowType(env, "krRingKick(fd, op, flags?)"), env.Undefined();
  if (info.Length() > 2 && !Int(info, 2, &flags)) return env.Undefined();
  ssize_t n;
  do {
    n = sendto(static_cast<int>(fd), nullptr, 0, static_cast<int>(flags), nullptr, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Napi::Number::New(env, -1);
  if (n < 0) {
    int err = errno;
    std::string op;
    if (!Str(info, 1, &op)) return env.Undefined();
    return ThrowRingError(env, err, "sendto", op), env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// krIfIoctl({ fd, name, request, data, op }): an interface ioctl whose struct ifreq points at
// `data` (ifr_data): SIOCETHTOOL (data starts with the ethtool command word) and SIOCSHWTSTAMP /
// SIOCGHWTSTAMP (struct hwtstamp_config). The kernel reads and writes `data` in place.
static Napi::Value IfIoctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject a(info, "krIfIoctl");
  int64_t fd = a.Int("fd"), request = a.Int("request");
  std::string name = a.Str("name"), op = a.Str("op");
  uint8_t* data;
  size_t len;
  a.Bytes("data", &data, &len, false);
  if (!a.ok()) return env.Undefined();
  if (name.empty() || name.size() >= IFNAMSIZ) return ThrowType(env, "krIfIoctl: name must be 1..15 bytes"), env.Undefined();
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_data = reinterpret_cast<char*>(data);
  if (ioctl(static_cast<int>(fd), static_cast<unsigned long>(request), &ifr) != 0)
    return ThrowRingError(env, errno, "ioctl", op), env.Undefined();
  return env.Undefined();
}

// krOpen({ path, netns: path | null, op }) -> fd: open(path, O_RDONLY | O_CLOEXEC), inside the
// namespace at `netns` when given (for /proc/thread-self/net files: they show the namespace of
// the thread that opened them, for as long as the descriptor lives).
static Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject a(info, "krOpen");
  std::string path = a.Str("path"), netns, op = a.Str("op");
  bool inNetns = a.OptStr("netns", &netns);
  if (!a.ok()) return env.Undefined();
  auto make = [&](const char** sc) {
    *sc = "open";
    return open(path.c_str(), O_RDONLY | O_CLOEXEC);
  };
  int err = 0;
  const char* syscall = "open";
  int fd = inNetns ? OpenIn(netns, make, &err, &syscall) : make(&syscall);
  if (fd < 0) return ThrowRingError(env, inNetns ? err : errno, syscall, op), env.Undefined();
  Data(env)->fds.insert(fd);
  return Napi::Number::New(env, fd);
}

// krPread(fd, buf, op) -> bytes: reads the file from offset 0 into buf until it is full or the
// file ends (a /proc file rendered afresh on every read from 0).
static Napi::Value Pread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FdBytesOp a;
  if (!a.Read(info)) return env.Undefined();
  size_t got = 0;
  while (got < a.len) {
    ssize_t n = pread(static_cast<int>(a.fd), a.data + got, a.len - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ThrowRingError(env, errno, "pread", a.op), env.Undefined();
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return Napi::Number::New(env, static_cast<double>(got));
}

// krClose(fd, op). EINTR is not retried: on Linux the descriptor is gone either way.
static Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  std::string op;
  if (!Int(info, 0, &fd) || !Str(info, 1, &op)) return env.Undefined();
  Data(env)->fds.erase(static_cast<int>(fd));
  if (close(static_cast<int>(fd)) != 0 && errno != EINTR) ThrowRingError(env, errno, "close", op);
  return env.Undefined();
}

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("krInit", Napi::Function::New(env, Init, "krInit"));
  exports.Set("krPageSize", Napi::Function::New(env, PageSize, "krPageSize"));
  exports.Set("krSocket", Napi::Function::New(env, Socket, "krSocket"));
  exports.Set("krBind", Napi::Function::New(env, Bind, "krBind"));
  exports.Set("krSetsockopt", Napi::Function::New(env, Setsockopt, "krSetsockopt"));
  exports.Set("krGetsockopt", Napi::Function::New(env, Getsockopt, "krGetsockopt"));
  exports.Set("krGetsockname", Napi::Function::New(env, Getsockname, "krGetsockname"));
  exports.Set("krIfIndex", Napi::Function::New(env, IfIndex, "krIfIndex"));
  exports.Set("krIfMtu", Napi::Function::New(env, IfMtu, "krIfMtu"));
  exports.Set("krAttachFilter", Napi::Function::New(env, AttachFilter, "krAttachFilter"));
  exports.Set("krMmap", Napi::Function::New(env, Mmap, "krMmap"));
  exports.Set("krMunmap", Napi::Function::New(env, Munmap, "krMunmap"));
  exports.Set("krRecv", Napi::Function::New(env, Recv, "krRecv"));
  exports.Set("krSendmmsg", Napi::Function::New(env, Sendmmsg, "krSendmmsg"));
  exports.Set("krPoll", Napi::Function::New(env, Poll, "krPoll"));
  exports.Set("krRingKick", Napi::Function::New(env, RingKick, "krRingKick"));
  exports.Set("SendPlan", SendPlan::Define(env));
  exports.Set("krSetProgram", Napi::Function::New(env, SetProgramOpt, "krSetProgram"));
  exports.Set("krIfIoctl", Napi::Function::New(env, IfIoctl, "krIfIoctl"));
  exports.Set("krClose", Napi::Function::New(env, Close, "krClose"));
  exports.Set("krOpen", Napi::Function::New(env, Open, "krOpen"));
  exports.Set("krPread", Napi::Function::New(env, Pread, "krPread"));
  InitPoller(env, exports);
  InitRecv(env, exports);
  InitWalk(env, exports);
  InitGather(env, exports);
  return exports;
}

}  // namespace kring

static Napi::Object KringInit(Napi::Env env, Napi::Object exports) { return kring::InitModule(env, exports); }

NODE_API_MODULE(kring, KringInit)

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

// Creates the socket on a short-lived helper thread that has joined the target network
// namespace: setns(CLONE_NEWNET) changes only the calling thread, so the JavaScript thread's
// namespace is never touched, and a socket keeps the namespace it was created in for its life.
static int SocketIn(const std::string& netnsPath, int domain, int type, int protocol,
                    int* err, const char** syscall) {
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
    fd = socket(domain, type, protocol);
    if (fd < 0) {
      *err = errno;
      *syscall = "socket";
    }
  });
  t.join();
  return fd;
}

// krSocket(domain, type, protocol, netnsPath | null, op) -> fd. Always close-on-exec and
// non-blocking: kring waits with poll, never in a blocking syscall.
static Napi::Value Socket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t domain, type, protocol;
  std::string op;
  if (!Int(info, 0, &domain) || !Int(info, 1, &type) || !Int(info, 2, &protocol) ||
      !Str(info, 4, &op))
    return env.Undefined();
  int flags = static_cast<int>(type) | SOCK_CLOEXEC | SOCK_NONBLOCK;
  int fd;
  if (info[3].IsString()) {
    int err = 0;
    const char* syscall = "socket";
    fd = SocketIn(info[3].As<Napi::String>().Utf8Value(), static_cast<int>(domain), flags,
                  static_cast<int>(protocol), &err, &syscall);
    if (fd < 0) return ThrowRingError(env, err, syscall, op), env.Undefined();
  } else {
    fd = socket(static_cast<int>(domain), flags, static_cast<int>(protocol));
    if (fd < 0) return ThrowRingError(env, errno, "socket", op), env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// krBind(fd, sockaddr bytes, op). The sockaddr is built in TypeScript.
static Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  uint8_t* addr;
  size_t len;
  std::string op;
  if (!Int(info, 0, &fd) || !Bytes(info, 1, &addr, &len) || !Str(info, 2, &op))
    return env.Undefined();
  if (bind(static_cast<int>(fd), reinterpret_cast<sockaddr*>(addr), static_cast<socklen_t>(len)) != 0)
    ThrowRingError(env, errno, "bind", op);
  return env.Undefined();
}

// krSetsockopt(fd, level, name, value bytes, op)
static Napi::Value Setsockopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, level, name;
  uint8_t* val;
  size_t len;
  std::string op;
  if (!Int(info, 0, &fd) || !Int(info, 1, &level) || !Int(info, 2, &name) ||
      !Bytes(info, 3, &val, &len) || !Str(info, 4, &op))
    return env.Undefined();
  if (setsockopt(static_cast<int>(fd), static_cast<int>(level), static_cast<int>(name), val,
                 static_cast<socklen_t>(len)) != 0)
    ThrowRingError(env, errno, "setsockopt", op);
  return env.Undefined();
}

// krSetsockoptInt(fd, level, name, value, op)
static Napi::Value SetsockoptInt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, level, name, value;
  std::string op;
  if (!Int(info, 0, &fd) || !Int(info, 1, &level) || !Int(info, 2, &name) ||
      !Int(info, 3, &value) || !Str(info, 4, &op))
    return env.Undefined();
  // The kernel reads an int: a value outside it must not wrap into another (2^31 into INT_MIN).
  if (value < INT32_MIN || value > INT32_MAX) return ThrowRange(env, "krSetsockoptInt: value must fit a C int"), env.Undefined();
  int v = static_cast<int>(value);
  if (setsockopt(static_cast<int>(fd), static_cast<int>(level), static_cast<int>(name), &v,
                 sizeof(v)) != 0)
    ThrowRingError(env, errno, "setsockopt", op);
  return env.Undefined();
}

// krGetsockopt(fd, level, name, out bytes, op) -> length the kernel wrote
static Napi::Value Getsockopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, level, name;
  uint8_t* out;
  size_t len;
  std::string op;
  if (!Int(info, 0, &fd) || !Int(info, 1, &level) || !Int(info, 2, &name) ||
      !Bytes(info, 3, &out, &len) || !Str(info, 4, &op))
    return env.Undefined();
  socklen_t sl = static_cast<socklen_t>(len);
  if (getsockopt(static_cast<int>(fd), static_cast<int>(level), static_cast<int>(name), out, &sl) != 0)
    return ThrowRingError(env, errno, "getsockopt", op), env.Undefined();
  return Napi::Number::New(env, sl);
}

// krGetsockname(fd, out bytes, op) -> length of the address the kernel wrote.
static Napi::Value Getsockname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  uint8_t* out;
  size_t len;
  std::string op;
  if (!Int(info, 0, &fd) || !Bytes(info, 1, &out, &len) || !Str(info, 2, &op)) return env.Undefined();
  socklen_t sl = static_cast<socklen_t>(len);
  if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(out), &sl) != 0)
    return ThrowRingError(env, errno, "getsockname", op), env.Undefined();
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

// krAttachFilter(fd, instructions, op): SO_ATTACH_FILTER with a classic BPF program given as
// packed struct sock_filter entries (8 bytes each). Native only because sock_fprog holds a pointer.
static Napi::Value AttachFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  uint8_t* insns;
  size_t len;
  std::string op;
  if (!Int(info, 0, &fd) || !Bytes(info, 1, &insns, &len) || !Str(info, 2, &op)) return env.Undefined();
  if (len == 0 || len % sizeof(sock_filter) != 0 || len / sizeof(sock_filter) > BPF_MAXINSNS)
    return ThrowType(env, "krAttachFilter: instructions must be 1..4096 packed sock_filter entries"), env.Undefined();
  // Copy: the bytes may sit at any alignment inside their ArrayBuffer.
  std::vector<sock_filter> prog(len / sizeof(sock_filter));
  memcpy(prog.data(), insns, len);
  sock_fprog fprog;
  fprog.len = static_cast<unsigned short>(prog.size());
  fprog.filter = prog.data();
  if (setsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) != 0)
    ThrowRingError(env, errno, "setsockopt", op);
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

// krMunmap(ArrayBuffer): detach first, so every view over the mapping becomes unusable (reads
// give undefined, methods throw TypeError) before the pages go away; then munmap. Idempotent.
static Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
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
  if (munmap(addr, length) != 0) ThrowRingError(env, errno, "munmap", "ring");
  return env.Undefined();
}

// krRecv(fd, buf, flags, op) -> bytes (with MSG_TRUNC: the datagram's full length), or -1 when
// nothing is queued (EAGAIN).
static Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, flags;
  uint8_t* buf;
  size_t len;
  std::string op;
  if (!Int(info, 0, &fd) || !Bytes(info, 1, &buf, &len) || !Int(info, 2, &flags) || !Str(info, 3, &op))
    return env.Undefined();
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

// krSendmmsg(fd, buf, lengths, count, op) -> datagrams sent. The datagrams lie back to back in
// buf; lengths[i] is the i-th one's size. A failure after the first datagram returns the count
// sent so far (the kernel's own sendmmsg contract); a failure on the first throws, except EAGAIN,
// which returns 0.
static Napi::Value Sendmmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, count;
  uint8_t* buf;
  size_t len;
  std::string op;
  if (!Int(info, 0, &fd) || !Bytes(info, 1, &buf, &len) || !Int(info, 3, &count) || !Str(info, 4, &op))
    return env.Undefined();
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    return ThrowType(env, "krSendmmsg: lengths must be a Uint32Array"), env.Undefined();
  Napi::Uint32Array lengths = info[2].As<Napi::Uint32Array>();
  if (count < 0 || static_cast<size_t>(count) > lengths.ElementLength())
    return ThrowType(env, "krSendmmsg: count exceeds lengths"), env.Undefined();
  std::vector<mmsghdr> msgs(static_cast<size_t>(count));
  std::vector<iovec> iov(static_cast<size_t>(count));
  size_t off = 0;
  for (size_t i = 0; i < static_cast<size_t>(count); i++) {
    size_t l = lengths[i];
    if (off + l > len) return ThrowType(env, "krSendmmsg: lengths exceed the buffer"), env.Undefined();
    iov[i] = {buf + off, l};
    memset(&msgs[i], 0, sizeof(mmsghdr));
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    off += l;
  }
  size_t sent = 0;
  while (sent < static_cast<size_t>(count)) {
    int n = sendmmsg(static_cast<int>(fd), msgs.data() + sent, static_cast<unsigned>(count - sent), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (sent > 0 || errno == EAGAIN || errno == ENOBUFS) break;
      return ThrowRingError(env, errno, "sendmmsg", op), env.Undefined();
    }
    sent += static_cast<size_t>(n);
  }
  return Napi::Number::New(env, static_cast<double>(sent));
}

// krSendmmsgAt(fd, buffer, offsets, lengths, count, address | null, op) -> datagrams sent, or a
// negative errno when the first one fails (sendmmsg's own contract: a later failure shows only as a
// short count; the caller resends that one alone to learn its errno). Datagram i is
// buffer[offsets[i] .. + lengths[i]], in place: ring frames go out without being copied in JS.
static Napi::Value SendmmsgAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, count;
  std::string op;
  if (!Int(info, 0, &fd) || !Int(info, 4, &count) || !Str(info, 6, &op)) return env.Undefined();
  if (!info[1].IsArrayBuffer()) return ThrowType(env, "krSendmmsgAt: buffer must be an ArrayBuffer"), env.Undefined();
  Napi::ArrayBuffer ab = info[1].As<Napi::ArrayBuffer>();
  uint8_t* base = static_cast<uint8_t*>(ab.Data());
  size_t baseLen = ab.ByteLength();
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      !info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    return ThrowType(env, "krSendmmsgAt: offsets must be a Float64Array and lengths a Uint32Array"), env.Undefined();
  Napi::Float64Array offsets = info[2].As<Napi::Float64Array>();
  Napi::Uint32Array lengths = info[3].As<Napi::Uint32Array>();
  if (count < 0 || static_cast<size_t>(count) > offsets.ElementLength() || static_cast<size_t>(count) > lengths.ElementLength())
    return ThrowType(env, "krSendmmsgAt: count exceeds offsets or lengths"), env.Undefined();
  uint8_t* addr = nullptr;
  size_t addrLen = 0;
  if (!info[5].IsNull() && !info[5].IsUndefined() && !Bytes(info, 5, &addr, &addrLen)) return env.Undefined();
  size_t n = static_cast<size_t>(count);
  std::vector<mmsghdr> msgs(n);
  std::vector<iovec> iov(n);
  for (size_t i = 0; i < n; i++) {
    double off = offsets[i];
    if (!(off >= 0) || off + lengths[i] > static_cast<double>(baseLen))
      return ThrowType(env, "krSendmmsgAt: a datagram lies outside the buffer"), env.Undefined();
    iov[i] = {base + static_cast<size_t>(off), lengths[i]};
    memset(&msgs[i], 0, sizeof(mmsghdr));
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = addr;
    msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(addrLen);
  }
  if (n == 0) return Napi::Number::New(env, 0);
  int sent;
  do {
    sent = sendmmsg(static_cast<int>(fd), msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  return Napi::Number::New(env, sent < 0 ? -errno : sent);
}

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

// krRingKick(fd, op) -> bytes sent, or -errno: sendto(fd, NULL, 0, 0, NULL, 0). A NULL buffer is
// how the kernel's netlink_sendmsg tells a TX-ring send from an ordinary one.
static Napi::Value RingKick(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  std::string op;
  if (!Int(info, 0, &fd) || !Str(info, 1, &op)) return env.Undefined();
  ssize_t n;
  do {
    n = sendto(static_cast<int>(fd), nullptr, 0, MSG_DONTWAIT, nullptr, 0);
  } while (n < 0 && errno == EINTR);
  return Napi::Number::New(env, n < 0 ? -errno : static_cast<double>(n));
}

// krClose(fd). EINTR is not retried: on Linux the descriptor is gone either way.
static Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!Int(info, 0, &fd)) return env.Undefined();
  if (close(static_cast<int>(fd)) != 0 && errno != EINTR) ThrowRingError(env, errno, "close", "socket");
  return env.Undefined();
}

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("krInit", Napi::Function::New(env, Init, "krInit"));
  exports.Set("krPageSize", Napi::Function::New(env, PageSize, "krPageSize"));
  exports.Set("krSocket", Napi::Function::New(env, Socket, "krSocket"));
  exports.Set("krBind", Napi::Function::New(env, Bind, "krBind"));
  exports.Set("krSetsockopt", Napi::Function::New(env, Setsockopt, "krSetsockopt"));
  exports.Set("krSetsockoptInt", Napi::Function::New(env, SetsockoptInt, "krSetsockoptInt"));
  exports.Set("krGetsockopt", Napi::Function::New(env, Getsockopt, "krGetsockopt"));
  exports.Set("krGetsockname", Napi::Function::New(env, Getsockname, "krGetsockname"));
  exports.Set("krIfIndex", Napi::Function::New(env, IfIndex, "krIfIndex"));
  exports.Set("krIfMtu", Napi::Function::New(env, IfMtu, "krIfMtu"));
  exports.Set("krAttachFilter", Napi::Function::New(env, AttachFilter, "krAttachFilter"));
  exports.Set("krMmap", Napi::Function::New(env, Mmap, "krMmap"));
  exports.Set("krMunmap", Napi::Function::New(env, Munmap, "krMunmap"));
  exports.Set("krRecv", Napi::Function::New(env, Recv, "krRecv"));
  exports.Set("krSendmmsg", Napi::Function::New(env, Sendmmsg, "krSendmmsg"));
  exports.Set("krSendmmsgAt", Napi::Function::New(env, SendmmsgAt, "krSendmmsgAt"));
  exports.Set("krPoll", Napi::Function::New(env, Poll, "krPoll"));
  exports.Set("krRingKick", Napi::Function::New(env, RingKick, "krRingKick"));
  exports.Set("krClose", Napi::Function::New(env, Close, "krClose"));
  InitPoller(env, exports);
  InitRecv(env, exports);
  return exports;
}

}  // namespace kring

static Napi::Object KringInit(Napi::Env env, Napi::Object exports) { return kring::InitModule(env, exports); }

NODE_API_MODULE(kring, KringInit)

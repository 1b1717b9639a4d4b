// kring native core: syscalls and the mapping.
//
// Arguments are validated and normalised in TypeScript (src/native.ts is the only caller); the
// checks here only keep a misuse of the raw binding from crashing the process.
#include "kring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
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

void ThrowRingError(Napi::Env env, int err, const char* syscall, const std::string& op) {
  AddonData* data = Data(env);
  Napi::Value e;
  if (data != nullptr && !data->ringError.IsEmpty()) {
    e = data->ringError.New({Napi::Number::New(env, err), Napi::String::New(env, syscall),
                             Napi::String::New(env, op), Napi::String::New(env, strerror(err))});
  } else {
    e = Napi::Error::New(env, std::string(syscall) + "(" + op + "): " + strerror(err)).Value();
  }
  if (!env.IsExceptionPending()) napi_throw(env, e);
}

static bool ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

// Argument readers: return false (with a TypeError pending) when the argument is not of the form.
static bool Int(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  if (!info[i].IsNumber()) return ThrowType(info.Env(), "kring native: expected a number argument");
  *out = info[i].As<Napi::Number>().Int64Value();
  return true;
}

static bool Str(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) return ThrowType(info.Env(), "kring native: expected a string argument");
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

static bool Bytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
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
static void FinalizeMapping(Napi::Env env, void* addr, Mapping* m) {
  {
    std::lock_guard<std::mutex> lock(MappingsLock());
    auto it = Mappings().find(m->addr);
    if (it != Mappings().end() && it->second == m) Mappings().erase(it);
  }
  if (!m->unmapped) munmap(m->addr, m->length);
  delete m;
}

// krMmap(fd, length, op) -> ArrayBuffer: one external ArrayBuffer per mapping, shared read/write.
static Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, length;
  std::string op;
  if (!Int(info, 0, &fd) || !Int(info, 1, &length) || !Str(info, 2, &op)) return env.Undefined();
  if (length <= 0) return ThrowRingError(env, EINVAL, "mmap", op), env.Undefined();
  void* addr = mmap(nullptr, static_cast<size_t>(length), PROT_READ | PROT_WRITE, MAP_SHARED,
                    static_cast<int>(fd), 0);
  if (addr == MAP_FAILED) return ThrowRingError(env, errno, "mmap", op), env.Undefined();
  Mapping* m = new Mapping{addr, static_cast<size_t>(length), false};
  {
    std::lock_guard<std::mutex> lock(MappingsLock());
    Mappings()[addr] = m;
  }
  return Napi::ArrayBuffer::New(env, addr, static_cast<size_t>(length), FinalizeMapping, m);
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

// Per-message metadata krRecvmmsgInto writes, KR_META_WORDS u32 each (mirrored in src/native.ts).
enum { KR_META_LEN, KR_META_FLAGS, KR_META_GROUP, KR_META_PID, KR_META_UID, KR_META_GID, KR_META_PORTID, KR_META_WORDS };

// One recvmmsg into caller-laid-out slots: message i into base[offsets[i] .. + capacity], then
// spill[i * spillSize .. + spillSize]. Knows no header format. Run() makes the syscall and touches
// only the slots, the spill area and its own vectors, so it may run off the JavaScript thread;
// WriteMeta() copies the per-message results out and runs on the JavaScript thread.
struct RecvBatch {
  static constexpr size_t kCtrl = CMSG_SPACE(sizeof(struct nl_pktinfo)) + CMSG_SPACE(sizeof(struct ucred));
  int fd = -1;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<sockaddr_nl> names;
  std::vector<uint8_t> ctrl;
  int got = 0;    // messages received, or -errno
  bool overran = false;  // an ENOBUFS was answered (and reading went on) before `got`

  void Prepare(int sock, uint8_t* base, const double* offsets, size_t n, size_t capacity, uint8_t* spill, size_t spillSize) {
    fd = sock;
    msgs.assign(n, mmsghdr{});
    iov.resize(2 * n);
    names.assign(n, sockaddr_nl{});
    ctrl.assign(n * kCtrl, 0);
    for (size_t i = 0; i < n; i++) {
      iov[2 * i] = {base + static_cast<size_t>(offsets[i]), capacity};
      iov[2 * i + 1] = {spill + i * spillSize, spillSize};
      msgs[i].msg_hdr.msg_iov = &iov[2 * i];
      msgs[i].msg_hdr.msg_iovlen = spillSize > 0 ? 2 : 1;
      msgs[i].msg_hdr.msg_name = &names[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
      msgs[i].msg_hdr.msg_control = ctrl.data() + i * kCtrl;
      msgs[i].msg_hdr.msg_controllen = kCtrl;
    }
  }

  // Non-blocking: 0 when nothing is queued. With retryOverrun, an ENOBUFS (the socket overran: a
  // loss to report, not a failure) is noted and the read goes on at once, as the kernel drops
  // everything more while an overrun socket's queue is not drained.
  void Run(bool retryOverrun) {
    for (int pass = 0; pass < 2; pass++) {
      do {
        got = recvmmsg(fd, msgs.data(), static_cast<unsigned>(msgs.size()), MSG_DONTWAIT | MSG_TRUNC, nullptr);
      } while (got < 0 && errno == EINTR);
      if (got >= 0) return;
      got = (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
      if (got != -ENOBUFS || !retryOverrun || overran) return;
      overran = true;
    }
  }

  void WriteMeta(uint32_t* meta) const {
    for (int i = 0; i < got; i++) {
      uint32_t* m = meta + static_cast<size_t>(i) * KR_META_WORDS;
      memset(m, 0, KR_META_WORDS * sizeof(uint32_t));
      m[KR_META_LEN] = msgs[i].msg_len;
      m[KR_META_FLAGS] = static_cast<uint32_t>(msgs[i].msg_hdr.msg_flags);
      m[KR_META_PORTID] = names[i].nl_pid;
      mmsghdr copy = msgs[i];  // CMSG_NXTHDR takes a non-const header
      for (cmsghdr* c = CMSG_FIRSTHDR(&copy.msg_hdr); c != nullptr; c = CMSG_NXTHDR(&copy.msg_hdr, c)) {
        if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_PKTINFO) {
          struct nl_pktinfo pi;
          memcpy(&pi, CMSG_DATA(c), sizeof(pi));
          m[KR_META_GROUP] = pi.group;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
          struct ucred cr;
          memcpy(&cr, CMSG_DATA(c), sizeof(cr));
          m[KR_META_PID] = static_cast<uint32_t>(cr.pid);
          m[KR_META_UID] = cr.uid;
          m[KR_META_GID] = cr.gid;
        }
      }
    }
  }
};

// The arguments krRecvmmsgInto and krRecvmmsgStart share, checked: (fd, buffer, offsets, count,
// capacity, spill, spillSize, meta, op). Returns false with a TypeError pending.
struct RecvArgs {
  int64_t fd, count, capacity, spillSize;
  uint8_t* base;
  uint8_t* spill;
  size_t spillLen;
  std::string op;
  Napi::Float64Array offsets;
  Napi::Uint32Array meta;
};

static bool ReadRecvArgs(const Napi::CallbackInfo& info, const char* name, RecvArgs* a) {
  Napi::Env env = info.Env();
  if (!Int(info, 0, &a->fd) || !Int(info, 3, &a->count) || !Int(info, 4, &a->capacity) ||
      !Bytes(info, 5, &a->spill, &a->spillLen) || !Int(info, 6, &a->spillSize) || !Str(info, 8, &a->op))
    return false;
  size_t baseLen;
  if (info[1].IsArrayBuffer()) {
    Napi::ArrayBuffer ab = info[1].As<Napi::ArrayBuffer>();
    a->base = static_cast<uint8_t*>(ab.Data());
    baseLen = ab.ByteLength();
  } else if (info[1].IsTypedArray()) {
    Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
    a->base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    baseLen = ta.ByteLength();
  } else {
    return ThrowType(env, (std::string(name) + ": buffer must be an ArrayBuffer").c_str());
  }
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    return ThrowType(env, (std::string(name) + ": offsets must be a Float64Array").c_str());
  if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    return ThrowType(env, (std::string(name) + ": meta must be a Uint32Array").c_str());
  a->offsets = info[2].As<Napi::Float64Array>();
  a->meta = info[7].As<Napi::Uint32Array>();
  if (a->count <= 0 || a->capacity < 0 || a->spillSize < 0 || static_cast<size_t>(a->count) > a->offsets.ElementLength() ||
      static_cast<size_t>(a->count) * KR_META_WORDS > a->meta.ElementLength() ||
      static_cast<size_t>(a->count) * static_cast<size_t>(a->spillSize) > a->spillLen)
    return ThrowType(env, (std::string(name) + ": count exceeds offsets, meta or spill").c_str());
  for (size_t i = 0; i < static_cast<size_t>(a->count); i++) {
    double off = a->offsets[i];
    if (!(off >= 0) || off + static_cast<double>(a->capacity) > static_cast<double>(baseLen))
      return ThrowType(env, (std::string(name) + ": a message slot lies outside the buffer").c_str());
  }
  return true;
}

static void PrepareBatch(RecvBatch* b, const RecvArgs& a) {
  b->Prepare(static_cast<int>(a.fd), a.base, a.offsets.Data(), static_cast<size_t>(a.count), static_cast<size_t>(a.capacity),
             a.spill, static_cast<size_t>(a.spillSize));
}

// krRecvmmsgInto(fd, buffer, offsets, count, capacity, spill, spillSize, meta, op) -> messages, or a
// negative errno for ENOBUFS (the socket overran: a loss to report, not a failure); 0 when nothing
// is queued. Message i is received into buffer[offsets[i] .. + capacity], continuing into
// spill[i * spillSize .. + spillSize]; meta gets its full length (MSG_TRUNC semantics), flags,
// netlink group (NETLINK_PKTINFO), sender credentials (SCM_CREDENTIALS) and sender port id. One
// call per wake-up: the caller lays out where messages go; this knows no header format.
static Napi::Value RecvmmsgInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RecvArgs a;
  if (!ReadRecvArgs(info, "krRecvmmsgInto", &a)) return env.Undefined();
  RecvBatch b;
  PrepareBatch(&b, a);
  b.Run(false);
  if (b.got < 0 && b.got != -ENOBUFS) return ThrowRingError(env, -b.got, "recvmmsg", a.op), env.Undefined();
  b.WriteMeta(a.meta.Data());
  return Napi::Number::New(env, b.got);
}

// The same recvmmsg on a libuv worker thread, so the kernel's work for it (for a dump: building the
// next chunks, which netlink_recvmsg does in the reader's context) overlaps JavaScript reading the
// chunks already received. The owner keeps the slots and the spill area untouched until `done`
// runs, and keeps the fd open until then (closing it earlier could hand the number to another
// socket before the worker's recvmmsg). References to the buffers keep them alive meanwhile.
class RecvWork : public Napi::AsyncWorker {
 public:
  RecvWork(Napi::Function done, const Napi::CallbackInfo& info, const RecvArgs& a)
      : Napi::AsyncWorker(done, "kring:recvmmsg"), op_(a.op), meta_(Napi::Persistent(a.meta)) {
    keep_ = Napi::Persistent(Napi::Object::New(info.Env()));
    keep_.Set("buffer", info[1]);
    keep_.Set("spill", info[5]);
    PrepareBatch(&batch_, a);
  }
  void Execute() override { batch_.Run(true); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Value err = env.Null();
    if (batch_.got < 0) {
      AddonData* data = Data(env);
      int e = -batch_.got;
      err = data != nullptr && !data->ringError.IsEmpty()
                ? data->ringError.New({Napi::Number::New(env, e), Napi::String::New(env, "recvmmsg"),
                                       Napi::String::New(env, op_), Napi::String::New(env, strerror(e))})
                : Napi::Error::New(env, std::string("recvmmsg(") + op_ + "): " + strerror(e)).Value();
    } else {
      batch_.WriteMeta(meta_.Value().Data());
    }
    Callback().Call({err, Napi::Number::New(env, batch_.got < 0 ? 0 : batch_.got), Napi::Boolean::New(env, batch_.overran)});
  }

 private:
  RecvBatch batch_;
  std::string op_;
  Napi::Reference<Napi::Uint32Array> meta_;
  Napi::ObjectReference keep_;
};

// krRecvmmsgStart(fd, buffer, offsets, count, capacity, spill, spillSize, meta, op, done): starts
// krRecvmmsgInto's recvmmsg on a worker thread; `done(error, received, overran)` runs on the
// JavaScript thread with meta written: `error` a RingError or null, `overran` whether an ENOBUFS
// was answered (and reading went on) first.
static Napi::Value RecvmmsgStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RecvArgs a;
  if (!ReadRecvArgs(info, "krRecvmmsgStart", &a)) return env.Undefined();
  if (!info[9].IsFunction()) return ThrowType(env, "krRecvmmsgStart: done must be a function"), env.Undefined();
  auto* work = new RecvWork(info[9].As<Napi::Function>(), info, a);
  work->Queue();
  return env.Undefined();
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
  exports.Set("krRecvmmsgInto", Napi::Function::New(env, RecvmmsgInto, "krRecvmmsgInto"));
  exports.Set("krRecvmmsgStart", Napi::Function::New(env, RecvmmsgStart, "krRecvmmsgStart"));
  exports.Set("krSendmmsgAt", Napi::Function::New(env, SendmmsgAt, "krSendmmsgAt"));
  exports.Set("krPoll", Napi::Function::New(env, Poll, "krPoll"));
  exports.Set("krRingKick", Napi::Function::New(env, RingKick, "krRingKick"));
  exports.Set("krClose", Napi::Function::New(env, Close, "krClose"));
  InitPoller(env, exports);
  return exports;
}

}  // namespace kring

static Napi::Object KringInit(Napi::Env env, Napi::Object exports) { return kring::InitModule(env, exports); }

NODE_API_MODULE(kring, KringInit)

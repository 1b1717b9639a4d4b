// kring native core: receiving datagrams into caller-laid-out slots.
//
// krRecvmmsgInto is the emulated netlink RX ring's "kernel": one recvmmsg per wake-up into the
// frames TypeScript reserved. krRecvmmsgStart runs the same call on kring's receive thread, so the
// kernel's work for it (for a dump: building the next chunks, which netlink_recvmsg does in the
// receiver's context) overlaps JavaScript reading the chunks already received. Neither knows a
// header format or a status word: the ring protocol stays in src/netlink/emulated-rx.ts.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "kring.h"

namespace kring {

// Per-message metadata krRecvmmsgInto writes, KR_META_WORDS u32 each (mirrored in src/native.ts):
// the length received (the datagram's whole length, with MSG_TRUNC), msg_flags, then the sender's
// address and the control messages as the kernel wrote them, raw: what they mean (a netlink
// group, credentials) is the caller's to read.
constexpr size_t kNameBytes = 32;     // any sockaddr kring receives from (sockaddr_nl: 12 bytes)
constexpr size_t kControlBytes = 64;  // the control messages (nl_pktinfo and ucred: 56 bytes on LP64)
enum {
  KR_META_LEN,
  KR_META_FLAGS,
  KR_META_NAMELEN,
  KR_META_CONTROLLEN,
  KR_META_NAME,
  KR_META_CONTROL = KR_META_NAME + kNameBytes / 4,
  KR_META_WORDS = KR_META_CONTROL + kControlBytes / 4,
};

// One recvmmsg into caller-laid-out slots: message i into base[offsets[i] .. + capacity], then
// spill[i * spillSize .. + spillSize]. Knows no header format. Run() makes the syscall and touches
// only the slots, the spill area and its own vectors, so it may run off the JavaScript thread;
// WriteMeta() copies the per-message results out and runs on the JavaScript thread.
struct RecvBatch {
  int fd = -1;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<uint8_t> names;
  std::vector<uint8_t> ctrl;
  int got = 0;    // messages received, or -errno
  bool overran = false;  // an ENOBUFS was answered (and reading went on) before `got`

  void Prepare(int sock, uint8_t* base, const double* offsets, size_t n, size_t capacity, uint8_t* spill, size_t spillSize) {
    fd = sock;
    msgs.assign(n, mmsghdr{});
    iov.resize(2 * n);
    names.assign(n * kNameBytes, 0);
    ctrl.assign(n * kControlBytes, 0);
    for (size_t i = 0; i < n; i++) {
      iov[2 * i] = {base + static_cast<size_t>(offsets[i]), capacity};
      iov[2 * i + 1] = {spill + i * spillSize, spillSize};
      msgs[i].msg_hdr.msg_iov = &iov[2 * i];
      msgs[i].msg_hdr.msg_iovlen = spillSize > 0 ? 2 : 1;
      msgs[i].msg_hdr.msg_name = names.data() + i * kNameBytes;
      msgs[i].msg_hdr.msg_namelen = kNameBytes;
      msgs[i].msg_hdr.msg_control = ctrl.data() + i * kControlBytes;
      msgs[i].msg_hdr.msg_controllen = kControlBytes;
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
      const msghdr& h = msgs[i].msg_hdr;
      memset(m, 0, KR_META_WORDS * sizeof(uint32_t));
      m[KR_META_LEN] = msgs[i].msg_len;
      m[KR_META_FLAGS] = static_cast<uint32_t>(h.msg_flags);
      m[KR_META_NAMELEN] = h.msg_namelen < kNameBytes ? h.msg_namelen : kNameBytes;
      m[KR_META_CONTROLLEN] = h.msg_controllen < kControlBytes ? static_cast<uint32_t>(h.msg_controllen) : kControlBytes;
      memcpy(m + KR_META_NAME, names.data() + i * kNameBytes, kNameBytes);
      memcpy(m + KR_META_CONTROL, ctrl.data() + i * kControlBytes, kControlBytes);
    }
  }
};

// The arguments krRecvmmsgInto and krRecvmmsgStart share, named: { fd, buffer, offsets, count,
// capacity, spill, spillSize, meta, op }. Returns false with a TypeError pending.
struct RecvArgs {
  int64_t fd = 0, count = 0, capacity = 0, spillSize = 0;
  uint8_t* base = nullptr;
  uint8_t* spill = nullptr;
  size_t spillLen = 0;
  std::string op;
  Napi::Float64Array offsets;
  Napi::Uint32Array meta;
};

// `count` < 0: read from the object; else (RecvPlan) the count every check is made for.
static bool ReadRecvArgs(ArgObject& a, const char* name, RecvArgs* r, int64_t count = -1) {
  r->fd = a.Int("fd");
  r->count = count < 0 ? a.Int("count") : count;
  r->capacity = a.Int("capacity");
  r->spillSize = a.Int("spillSize");
  r->op = a.Str("op");
  size_t baseLen = 0;
  a.Memory("buffer", &r->base, &baseLen);
  a.Bytes("spill", &r->spill, &r->spillLen);
  r->offsets = a.F64("offsets");
  r->meta = a.U32("meta");
  if (!a.ok()) return false;
  if (r->count <= 0 || r->capacity < 0 || r->spillSize < 0 || static_cast<size_t>(r->count) > r->offsets.ElementLength() ||
      static_cast<size_t>(r->count) * KR_META_WORDS > r->meta.ElementLength() ||
      static_cast<size_t>(r->count) * static_cast<size_t>(r->spillSize) > r->spillLen)
    return ThrowType(r->offsets.Env(), (std::string(name) + ": count exceeds offsets, meta or spill").c_str());
  for (size_t i = 0; i < static_cast<size_t>(r->count); i++) {
    double off = r->offsets[i];
    if (!(off >= 0) || off + static_cast<double>(r->capacity) > static_cast<double>(baseLen))
      return ThrowType(r->offsets.Env(), (std::string(name) + ": a message slot lies outside the buffer").c_str());
  }
  return true;
}

static void PrepareBatch(RecvBatch* b, const RecvArgs& a) {
  b->Prepare(static_cast<int>(a.fd), a.base, a.offsets.Data(), static_cast<size_t>(a.count), static_cast<size_t>(a.capacity),
             a.spill, static_cast<size_t>(a.spillSize));
}

// krRecvmmsgInto({ fd, buffer, offsets, count, capacity, spill, spillSize, meta, op }) -> messages
// received, 0 when nothing is queued. Message i is received into buffer[offsets[i] .. + capacity],
// continuing into spill[i * spillSize .. + spillSize]; meta gets its full length (MSG_TRUNC
// semantics), flags, netlink group (NETLINK_PKTINFO), sender credentials (SCM_CREDENTIALS) and
// sender port id. One call per wake-up: the caller lays out where messages go; this knows no header
// format. ENOBUFS (the socket overran) throws RingError like any failure: the caller reports the
// loss and reads again.
static Napi::Value RecvmmsgInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject args(info, "krRecvmmsgInto");
  RecvArgs a;
  if (!ReadRecvArgs(args, "krRecvmmsgInto", &a)) return env.Undefined();
  RecvBatch b;
  PrepareBatch(&b, a);
  b.Run(false);
  if (b.got < 0) return ThrowRingError(env, -b.got, "recvmmsg", a.op), env.Undefined();
  b.WriteMeta(a.meta.Data());
  return Napi::Number::New(env, b.got);
}

// The receive thread: one per environment, started on first use, running krRecvmmsgStart's jobs
// in submission order (the order of their frames in the ring). Completions go back to the
// JavaScript thread through one uv_async handle, in the same order.
//
// Why not libuv's thread pool: a pool thread sleeps between jobs and is woken for each one, and a
// second job for the same socket could run beside the first. Here the owner keeps the next job
// queued while one runs, so a dump's chunks are received back to back.
//
// Memory: the bytes the kernel copied into the slots on this thread are visible to JavaScript when
// `done` runs, because the finished job passes through mu_ (unlocked after the push here, locked
// before the swap in OnAsync). Status words are never touched here: the completion writes them, on
// the JavaScript thread (plain stores: the emulated ring's only writer is that thread, Ring's
// 'same-thread' ordering).
//
// Chaining: a job submitted while an earlier one for the same fd is outstanding continues its
// frames. If that earlier one came back short (the socket ran dry, or failed), the chained job is
// not run (it completes with 0 received): its frames would otherwise hold datagrams after a gap of
// free frames, and the ring's consumer stops at the first free frame.
class RecvQueue {
 public:
  struct Job {
    RecvBatch batch;
    bool chained = false;
    size_t count = 0;
    std::string op;
    Napi::FunctionReference done;
    Napi::ObjectReference keep;  // buffer and spill: alive until done runs
    Napi::Reference<Napi::Uint32Array> meta;
  };

  explicit RecvQueue(Napi::Env env) : env_(env) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    async_ = static_cast<uv_async_t*>(malloc(sizeof(uv_async_t)));
    uv_async_init(loop, async_, OnAsync);
    async_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    context_ = new Napi::AsyncContext(env, "kring:recvmmsg");
    thread_ = std::thread([this] { Loop(); });
  }

  // Environment teardown: stop the thread (jobs not yet run are dropped with their callbacks).
  ~RecvQueue() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    for (Job* j : todo_) delete j;
    for (Job* j : done_) delete j;
    async_->data = nullptr;
    CloseHandleAndFree(reinterpret_cast<uv_handle_t*>(async_));
    delete context_;
  }

  void Submit(Job* job) {
    // Outstanding jobs keep the event loop alive, as any pending I/O does.
    if (outstanding_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(async_));
    {
      std::lock_guard<std::mutex> lock(mu_);
      todo_.push_back(job);
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    std::unordered_set<int> broken;  // fds whose last job came back short: chained jobs are not run
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !todo_.empty(); });
        if (stopping_) return;
        job = todo_.front();
        todo_.pop_front();
      }
      int fd = job->batch.fd;
      if (job->chained && broken.count(fd) != 0) {
        job->batch.got = 0;
      } else {
        if (!job->chained) broken.erase(fd);
        job->batch.Run(true);
        if (job->batch.got < static_cast<int>(job->count)) broken.insert(fd);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_.push_back(job);
      }
      uv_async_send(async_);
    }
  }

  static void OnAsync(uv_async_t* h) {
    auto* self = static_cast<RecvQueue*>(h->data);
    if (self == nullptr) return;
    std::deque<Job*> ready;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      ready.swap(self->done_);
    }
    Napi::Env env = self->env_;
    for (Job* job : ready) {
      if (--self->outstanding_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(self->async_));
      Deliver(env, job, self->context_);
    }
  }

  // Calls the job's `done`. Raw N-API with every status checked, because this can run while the
  // environment is going away (a worker thread calling process.exit with a read in flight): then
  // nothing can be called, and the job is dropped instead of aborting the process.
  static void Deliver(Napi::Env env, Job* job, Napi::AsyncContext* context) {
    std::unique_ptr<Job> owned(job);
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value argv[3], fn, global, result;
    bool ok = napi_get_global(env, &global) == napi_ok && napi_get_reference_value(env, job->done.operator napi_ref(), &fn) == napi_ok && fn != nullptr;
    if (ok && job->batch.got < 0) {
      argv[0] = RingErrorValue(env, -job->batch.got, "recvmmsg", job->op);
      ok = argv[0] != nullptr;
    } else if (ok) {
      ok = napi_get_null(env, &argv[0]) == napi_ok;
      napi_value meta;
      void* data = nullptr;
      size_t length = 0;
      if (ok) ok = napi_get_reference_value(env, job->meta.operator napi_ref(), &meta) == napi_ok && meta != nullptr &&
                   napi_get_typedarray_info(env, meta, nullptr, &length, &data, nullptr, nullptr) == napi_ok &&
                   length >= static_cast<size_t>(job->batch.got) * KR_META_WORDS;
      if (ok) job->batch.WriteMeta(static_cast<uint32_t*>(data));
    }
    ok = ok && napi_create_int32(env, job->batch.got < 0 ? 0 : job->batch.got, &argv[1]) == napi_ok &&
         napi_get_boolean(env, job->batch.overran, &argv[2]) == napi_ok;
    if (ok) {
      // MakeCallback, as for any I/O completion: runs the microtask queue and async hooks.
      napi_status st = napi_make_callback(env, *context, global, fn, 3, argv, &result);
      if (st == napi_pending_exception) {
        napi_value e;
        if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
      }
    }
    napi_close_handle_scope(env, scope);
  }

  Napi::Env env_;
  uv_async_t* async_ = nullptr;
  Napi::AsyncContext* context_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> todo_;
  std::deque<Job*> done_;
  bool stopping_ = false;
  size_t outstanding_ = 0;  // JavaScript thread only
};

// krRecvmmsgStart({ fd, buffer, offsets, count, capacity, spill, spillSize, meta, op, chained, done }):
// queues krRecvmmsgInto's recvmmsg on the receive thread (an ENOBUFS is noted and reading goes
// on); `done(error, received, overran)` runs on the JavaScript thread with meta written: `error` a
// RingError or null, `overran` whether an ENOBUFS was answered first. `chained`: see RecvQueue.
static Napi::Value RecvmmsgStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ArgObject args(info, "krRecvmmsgStart");
  RecvArgs a;
  bool chained = args.Bool("chained");
  Napi::Function done = args.Fn("done");
  if (!ReadRecvArgs(args, "krRecvmmsgStart", &a)) return env.Undefined();
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data->recvQueue == nullptr) data->recvQueue = new RecvQueue(env);
  auto* job = new RecvQueue::Job();
  PrepareBatch(&job->batch, a);
  job->chained = chained;
  job->count = static_cast<size_t>(a.count);
  job->op = a.op;
  job->done = Napi::Persistent(done);
  job->keep = Napi::Persistent(Napi::Object::New(env));
  job->keep.Set("buffer", args.Raw("buffer"));
  job->keep.Set("spill", args.Raw("spill"));
  job->meta = Napi::Persistent(a.meta);
  data->recvQueue->Submit(job);
  return env.Undefined();
}

void DeleteRecvQueue(RecvQueue* q) { delete q; }

// new RecvPlan({ fd, buffer, offsets, capacity, spill, spillSize, meta, op }): krRecvmmsgInto set
// up once for a caller whose arrays stay the same from call to call (a ring's fill area), so that a
// wake-up pays one N-API crossing and the syscall, not the reading and checking of nine named
// arguments (about a microsecond and a half, measured). `offsets` gives the slots' places; its
// values are read at each call. recv(count) receives up to `count` (at most offsets.length)
// datagrams as krRecvmmsgInto does and returns how many; a detached `buffer` (the ring was
// unmapped) is a TypeError, any failure but EAGAIN a RingError.
class RecvPlan : public Napi::ObjectWrap<RecvPlan> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "RecvPlan", {}); }

  explicit RecvPlan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RecvPlan>(info) {
    Napi::Env env = info.Env();
    ArgObject args(info, "RecvPlan");
    Napi::Value buffer = args.Raw("buffer");
    if (args.ok() && !buffer.IsArrayBuffer()) {
      ThrowType(env, "RecvPlan: buffer must be an ArrayBuffer");
      return;
    }
    // Every slot of `offsets` must be usable: check the arrays for its full length.
    Napi::Value offsets = args.Raw("offsets");
    if (args.ok() && offsets.IsTypedArray()) max_ = offsets.As<Napi::TypedArray>().ElementLength();
    RecvArgs a;
    if (!ReadRecvArgs(args, "RecvPlan", &a, static_cast<int64_t>(max_))) return;
    fd_ = static_cast<int>(a.fd);
    op_ = a.op;
    capacity_ = static_cast<size_t>(a.capacity);
    spillSize_ = static_cast<size_t>(a.spillSize);
    spill_ = a.spill;
    offsets_ = a.offsets.Data();
    meta_ = a.meta.Data();
    buffer_ = Napi::Persistent(buffer.As<Napi::Object>());
    keep_ = Napi::Persistent(Napi::Object::New(env));
    keep_.Set("offsets", a.offsets);
    keep_.Set("meta", a.meta);
    keep_.Set("spill", args.Raw("spill"));
    BindMethod<RecvPlan, &RecvPlan::Recv>(env, info.This(), "recv", this);
  }

 private:
  Napi::Value Recv(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t count;
    if (!Int(info, 0, &count)) return env.Undefined();
    if (count < 1 || static_cast<size_t>(count) > max_) return ThrowRange(env, "RecvPlan.recv: count must be 1..offsets.length"), env.Undefined();
    bool detached = true;
    Napi::ArrayBuffer ab = buffer_.Value().As<Napi::ArrayBuffer>();
    if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached) return ThrowType(env, "RecvPlan.recv: the buffer was detached (the ring is closed)"), env.Undefined();
    uint8_t* base = static_cast<uint8_t*>(ab.Data());
    double baseLen = static_cast<double>(ab.ByteLength());
    for (int64_t i = 0; i < count; i++) {
      double off = offsets_[i];
      if (!(off >= 0) || off + static_cast<double>(capacity_) > baseLen) return ThrowType(env, "RecvPlan.recv: a message slot lies outside the buffer"), env.Undefined();
    }
    batch_.Prepare(fd_, base, offsets_, static_cast<size_t>(count), capacity_, spill_, spillSize_);
    batch_.Run(false);
    if (batch_.got < 0) return ThrowRingError(env, -batch_.got, "recvmmsg", op_), env.Undefined();
    batch_.WriteMeta(meta_);
    return Napi::Number::New(env, batch_.got);
  }

  int fd_ = -1;
  std::string op_;
  size_t max_ = 0, capacity_ = 0, spillSize_ = 0;
  uint8_t* spill_ = nullptr;
  const double* offsets_ = nullptr;
  uint32_t* meta_ = nullptr;
  Napi::ObjectReference buffer_;
  Napi::ObjectReference keep_;  // the arrays the pointers above point into, kept alive
  RecvBatch batch_;              // its vectors keep their capacity from call to call
};

void InitRecv(Napi::Env env, Napi::Object exports) {
  exports.Set("krRecvmmsgInto", Napi::Function::New(env, RecvmmsgInto, "krRecvmmsgInto"));
  exports.Set("krRecvmmsgStart", Napi::Function::New(env, RecvmmsgStart, "krRecvmmsgStart"));
  exports.Set("RecvPlan", RecvPlan::Define(env));
}

}  // namespace kring

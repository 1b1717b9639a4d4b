// kring native core: the poll handle.
//
// One libuv poll handle per socket. Its callback crosses into JavaScript once per readiness
// event (a wake-up), never per frame: the ring is walked in JavaScript over the mapping.
//
// Edge-triggered. A ring socket stays readable while the frame the kernel wrote last is not back
// in its hands (packet_poll() tests the frame before the kernel's head), so a consumer that holds
// that frame would see level-triggered readiness forever and spin. libuv's poll handle is
// level-triggered only, so the socket is registered with EPOLLET in an epoll instance of its own,
// and libuv watches that instance: it becomes readable on each new kernel wake-up
// (sk_data_ready) and is re-armed by draining it with epoll_wait(0) before JavaScript runs, so a
// frame that lands while JavaScript drains the ring raises a fresh event rather than being lost.
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <uv.h>

#include "kring.h"

namespace kring {

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {InstanceMethod("start", &Poller::Start), InstanceMethod("stop", &Poller::Stop),
                        InstanceMethod("wait", &Poller::Wait), InstanceMethod("close", &Poller::Close)});
  }

  // new Poller(fd, op, callback(status, events)): events are the socket's epoll events of the
  // wake-up (EPOLLIN 1, EPOLLOUT 4, EPOLLERR 8); op names the socket in errors (as every entry point's op).
  explicit Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsString() || !info[2].IsFunction()) {
      ThrowType(env, "Poller(fd, op, callback)");
      return;
    }
    fd_ = info[0].As<Napi::Number>().Int32Value();
    op_ = info[1].As<Napi::String>().Utf8Value();
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
      ThrowRingError(env, errno, "epoll_create1", op_);
      return;
    }
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    handle_ = static_cast<uv_poll_t*>(malloc(sizeof(uv_poll_t)));
    int rc = uv_poll_init(loop, handle_, epfd_);
    if (rc != 0) {
      free(handle_);
      handle_ = nullptr;
      CloseHandle();
      ThrowRingError(env, -rc, "uv_poll_init", op_);
      return;
    }
    handle_->data = this;
    env_ = env;
    napi_value name;
    if (napi_create_reference(env, info[2], 1, &callback_) != napi_ok ||
        napi_create_string_utf8(env, "kring:poll", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_async_init(env, nullptr, name, &context_) != napi_ok) {
      CloseHandle();
      DropCallback();
      if (!env.IsExceptionPending()) ThrowType(env, "Poller: could not keep the callback");
    }
  }

  ~Poller() override {
    CloseHandle();
    DropCallback();
  }

 private:
  // start(events): 1 = readable (EPOLLIN), 2 = writable (EPOLLOUT), or both. libuv always watches
  // the inner epoll instance for readability; the mask is what the socket is registered with
  // there. The socket is registered only while started: a registered socket has an entry on its
  // wait queue, and the kernel then runs a wake-up for every event on it (each packet, each skb a
  // TX ring frees), which costs a sender as much as a tenth of its send path. Registering, or
  // changing the mask, reports readiness that holds at that moment once, as an edge: a TX ring
  // with a free frame wakes a writer that starts waiting at once, and data that arrived while
  // stopped is reported on start.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ == nullptr) return env.Undefined();
    if (!Register(env, info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1)) return env.Undefined();
    int rc = uv_poll_start(handle_, UV_READABLE, OnPoll);
    if (rc != 0) ThrowRingError(env, -rc, "uv_poll_start", op_);
    return env.Undefined();
  }

  // wait(events, timeoutMs): a synchronous reader's wait, on the calling thread, while the libuv
  // handle is stopped. The socket is registered as start() registers it (edge-triggered: each
  // kernel wake-up is reported once, so a ring whose head frame user space holds does not make
  // this return at once forever), and the thread blocks in epoll_wait on the inner instance until
  // the next wake-up or the timeout (-1: none; EINTR waits again, so a signal can lengthen a
  // timed wait, never end it). Returns the wake-up's epoll events, 0 when the wait timed out.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ == nullptr) return ThrowType(env, "Poller.wait: the poller is closed"), env.Undefined();
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(handle_)))
      return ThrowType(env, "Poller.wait: the poller is started (the event loop waits for it)"), env.Undefined();
    if (!info[0].IsNumber() || !info[1].IsNumber()) return ThrowType(env, "Poller.wait(events, timeoutMs)"), env.Undefined();
    const int64_t timeout = info[1].As<Napi::Number>().Int64Value();
    if (timeout < -1 || timeout > INT32_MAX) return ThrowRange(env, "Poller.wait: timeoutMs must be -1..2^31-1"), env.Undefined();
    if (!Register(env, info[0].As<Napi::Number>().Int32Value())) return env.Undefined();
    struct epoll_event evs[4];
    int n;
    do {
      n = epoll_wait(epfd_, evs, 4, static_cast<int>(timeout));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ThrowRingError(env, errno, "epoll_wait", op_), env.Undefined();
    int seen = 0;
    for (int i = 0; i < n; i++) seen |= static_cast<int>(evs[i].events);
    return Napi::Number::New(env, seen);
  }

  // The socket's registration in the inner instance for `events` (see start). False, with a
  // RingError thrown, when epoll_ctl fails.
  bool Register(Napi::Env env, int events) {
    uint32_t mask = static_cast<uint32_t>(EPOLLET) | ((events & 1) ? static_cast<uint32_t>(EPOLLIN) : 0u) |
                    ((events & 2) ? static_cast<uint32_t>(EPOLLOUT) : 0u);
    if (mask == mask_) return true;
    struct epoll_event ev = {};
    ev.events = mask;
    ev.data.fd = fd_;
    if (epoll_ctl(epfd_, mask_ == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd_, &ev) != 0) {
      ThrowRingError(env, errno, "epoll_ctl", op_);
      return false;
    }
    mask_ = mask;
    return true;
  }

  // stop(): unregisters the socket (see start) and stops watching.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_poll_stop(handle_);
    if (mask_ != 0 && epfd_ >= 0) {
      struct epoll_event ev = {};
      epoll_ctl(epfd_, EPOLL_CTL_DEL, fd_, &ev);  // fails only if not registered: nothing to undo
      mask_ = 0;
    }
    return info.Env().Undefined();
  }

  // close(): must run before the socket is closed. uv_close stops the handle and removes the epoll
  // instance from libuv's at once; only the handle's memory waits for the loop's close callback.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseHandle();
    DropCallback();
    return info.Env().Undefined();
  }

  // Statuses ignored: this also runs from the finalizer while the environment is torn down, when
  // there is nobody left to tell.
  void DropCallback() {
    if (callback_ != nullptr) napi_delete_reference(env_, callback_);
    callback_ = nullptr;
    if (context_ != nullptr) napi_async_destroy(env_, context_);
    context_ = nullptr;
  }

  void CloseHandle() {
    if (handle_ != nullptr) {
      handle_->data = nullptr;
      CloseHandleAndFree(reinterpret_cast<uv_handle_t*>(handle_));
      handle_ = nullptr;
    }
    if (epfd_ >= 0) {
      close(epfd_);
      epfd_ = -1;
    }
  }

  // Raw N-API with every status checked, never node-addon-api's wrappers: this runs from the event
  // loop, also while a worker's environment is being terminated, when any call into JavaScript
  // fails and node-addon-api's error paths (Error objects, MakeCallback) abort the process. A
  // wake-up that cannot be delivered then is dropped: the socket is going away with its thread.
  static void OnPoll(uv_poll_t* h, int status, int events) {
    Poller* self = static_cast<Poller*>(h->data);
    if (self == nullptr || self->callback_ == nullptr) return;
    // Consume the edge first (see the top of this file), and collect what the socket reported:
    // EPOLLERR comes with a pending socket error (a bound interface going down or away).
    struct epoll_event evs[4];
    int seen = 0;
    for (;;) {
      int n = epoll_wait(self->epfd_, evs, 4, 0);
      for (int i = 0; i < n; i++) seen |= static_cast<int>(evs[i].events);
      if (n < 4) break;
    }
    napi_env env = self->env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value fn, argv[2], result;
    if (napi_get_reference_value(env, self->callback_, &fn) == napi_ok && fn != nullptr &&
        napi_create_int32(env, status, &argv[0]) == napi_ok && napi_create_int32(env, seen, &argv[1]) == napi_ok) {
      // make_callback, not call_function: runs the microtask queue and async hooks as any I/O
      // callback does. The JavaScript side catches its own errors; anything that escapes is reported
      // like any uncaught exception from an I/O callback rather than left pending. The receiver
      // (`this`, which must be an object here) is the callback itself, not the global object:
      // napi_get_global cost 1.5 % of an NFQUEUE consumer's user time (v8::Context::Global), and
      // kring's callbacks are arrow functions that never read `this`.
      if (napi_make_callback(env, self->context_, fn, fn, 2, argv, &result) == napi_pending_exception) {
        napi_value e;
        if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
      }
    }
    napi_close_handle_scope(env, scope);
  }

  int fd_ = -1;
  std::string op_;
  int epfd_ = -1;
  uint32_t mask_ = 0;  // the socket's registration in epfd_: 0 while not registered
  uv_poll_t* handle_ = nullptr;
  napi_env env_ = nullptr;
  napi_ref callback_ = nullptr;
  napi_async_context context_ = nullptr;
};

void InitPoller(Napi::Env env, Napi::Object exports) {
  exports.Set("Poller", Poller::Define(env));
}

}  // namespace kring

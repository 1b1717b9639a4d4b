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
                        InstanceMethod("close", &Poller::Close)});
  }

  // new Poller(fd, callback(status, events))
  explicit Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "Poller(fd, callback)").ThrowAsJavaScriptException();
      return;
    }
    fd_ = info[0].As<Napi::Number>().Int32Value();
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
      ThrowRingError(env, errno, "epoll_create1", "poll");
      return;
    }
    struct epoll_event ev = {};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.fd = fd_;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd_, &ev) != 0) {
      ThrowRingError(env, errno, "epoll_ctl", "poll");
      CloseHandle();
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
      ThrowRingError(env, -rc, "epoll_ctl", "uv_poll_init");
      return;
    }
    handle_->data = this;
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = new Napi::AsyncContext(env, "kring:poll");
  }

  ~Poller() override {
    CloseHandle();
    delete context_;
  }

 private:
  // start(events): UV_READABLE = 1. Readiness that arose while stopped is reported on start only
  // if a new kernel wake-up comes: the owner drains once itself after starting.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ == nullptr) return env.Undefined();
    int events = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : UV_READABLE;
    int rc = uv_poll_start(handle_, events, OnPoll);
    if (rc != 0) ThrowRingError(env, -rc, "epoll_ctl", "uv_poll_start");
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_poll_stop(handle_);
    return info.Env().Undefined();
  }

  // close(): must run before the socket is closed. uv_close stops the handle and removes the epoll
  // instance from libuv's at once; only the handle's memory waits for the loop's close callback.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseHandle();
    callback_.Reset();
    return info.Env().Undefined();
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

  static void OnPoll(uv_poll_t* h, int status, int events) {
    Poller* self = static_cast<Poller*>(h->data);
    if (self == nullptr || self->callback_.IsEmpty()) return;
    // Consume the edge first (see the top of this file).
    struct epoll_event evs[4];
    while (epoll_wait(self->epfd_, evs, 4, 0) == 4) {
    }
    Napi::Env env = self->callback_.Env();
    Napi::HandleScope scope(env);
    // MakeCallback, not Call: runs the microtask queue and async hooks as any I/O callback does.
    self->callback_.MakeCallback(self->Value(),
                                 {Napi::Number::New(env, status), Napi::Number::New(env, events)},
                                 *self->context_);
    // The JavaScript side catches its own errors; anything that escapes is reported like any
    // uncaught exception from an I/O callback rather than left pending on the environment.
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  int fd_ = -1;
  int epfd_ = -1;
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::AsyncContext* context_ = nullptr;
};

void InitPoller(Napi::Env env, Napi::Object exports) {
  exports.Set("Poller", Poller::Define(env));
}

}  // namespace kring

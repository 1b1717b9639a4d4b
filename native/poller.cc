// kring native core: the poll handle.
//
// One libuv poll handle per socket. Its callback crosses into JavaScript once per readiness
// event (a wake-up), never per frame: the ring is walked in JavaScript over the mapping.
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
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = new Napi::AsyncContext(env, "kring:poll");
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    handle_ = new uv_poll_t;
    int rc = uv_poll_init_socket(loop, handle_, fd_);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      ThrowRingError(env, -rc, "epoll_ctl", "uv_poll_init");
      return;
    }
    handle_->data = this;
  }

  ~Poller() override { CloseHandle(); delete context_; }

 private:
  // start(events): UV_READABLE = 1, UV_WRITABLE = 2. Level-triggered (epoll): the owner stops the
  // handle when it cannot make progress (all ready frames held) and starts it again on release.
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

  // close(): must run before the fd is closed. uv_close stops the handle and removes the fd from
  // epoll at once; only the handle's memory waits for the loop's close callback.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseHandle();
    callback_.Reset();
    return info.Env().Undefined();
  }

  void CloseHandle() {
    if (handle_ == nullptr) return;
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    handle_ = nullptr;
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    Poller* self = static_cast<Poller*>(h->data);
    if (self == nullptr || self->callback_.IsEmpty()) return;
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
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::AsyncContext* context_ = nullptr;
};

void InitPoller(Napi::Env env, Napi::Object exports) {
  exports.Set("Poller", Poller::Define(env));
}

}  // namespace kring

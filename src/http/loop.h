#pragma once
// What a handler may use of the event loop that owns its connection: its
// own file descriptors with callbacks, timers, deferred calls and per-loop
// storage. Everything runs on that loop's thread, so none of it locks; an
// asynchronous handler (the proxy) keeps its upstream sockets here.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "http/inline_function.h"

namespace wok::http {

class Mailbox;

class Loop {
 public:
  // Move-only; callables of up to 48 bytes (a shared_ptr, `this` and an
  // id or two) are kept without a heap allocation.
  using IoCallback = InlineFunction<void(uint32_t epoll_events)>;
  using Callback = InlineFunction<void()>;

  virtual ~Loop() = default;

  // Registers fd (the caller keeps owning it) for the given epoll events;
  // the callback runs on this loop. Returns a token for unwatch(), 0 on
  // failure. Unwatch before closing the fd.
  virtual uint64_t watch(int fd, uint32_t events, IoCallback callback) = 0;
  virtual void unwatch(uint64_t token) = 0;
  // Gives a watched fd a new callback, keeping its registration (no
  // epoll_ctl): a pooled upstream connection changes hands this way.
  // False when token is not watched.
  virtual bool rewatch(uint64_t token, IoCallback callback) = 0;

  // Runs callback once after delay_ms; returns an id for cancel_timer().
  virtual uint64_t add_timer(int64_t delay_ms, Callback callback) = 0;
  virtual void cancel_timer(uint64_t id) = 0;

  // Runs callback on this loop after the current event has been handled
  // (never inside the caller's stack: breaks re-entrancy).
  virtual void defer(Callback callback) = 0;
  // As defer, but after the loop has looked at its descriptors once more
  // (epoll, without waiting) and handled what came: work that goes on
  // turn after turn (an answer sent a budget at a time) lets the loop's
  // other connections in between.
  virtual void defer_next_turn(Callback callback) = 0;

  // Monotonic milliseconds as of this loop iteration.
  virtual int64_t now_ms() const = 0;

  // Storage that lives as long as the loop, one slot per key; destroyed on
  // the loop's thread when it stops (e.g. keep-alive upstream pools).
  virtual std::shared_ptr<void>& local(const void* key) = 0;

  // Where other threads post work for this loop (a password checked off
  // the loop, say); hold it weakly: it closes when the loop goes. Null for
  // a loop that takes no posts.
  virtual std::shared_ptr<Mailbox> mailbox() { return nullptr; }
};

// Callbacks from any thread, run on the loop's thread at its next wake.
class Mailbox {
 public:
  // False (the callback dropped) once the loop is gone or stopping.
  bool post(Loop::Callback callback);

 private:
  friend class EventLoop;
  std::mutex mu_;
  std::vector<Loop::Callback> items_;
  int wake_fd_ = -1;
  bool closed_ = false;
};

}  // namespace wok::http

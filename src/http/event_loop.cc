#include "http/event_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "http/connection.h"
#include "http/http_date.h"

namespace wok::http {
namespace {

constexpr int kMaxEvents = 256;
// The listener is level-triggered: the rest come next turn, or go to
// another loop (a few at a time, so that a burst of connections is shared).
constexpr int kMaxAcceptsPerWake = 4;
constexpr int64_t kListenPauseMs = 100;
constexpr uint64_t kWatchBit = uint64_t{1} << 63;

int64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

std::string peer_address(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, buf, sizeof buf);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

bool add_fd(int epoll_fd, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

// Every loop watches the shared listening socket; EPOLLEXCLUSIVE wakes one
// waiting loop per new connection instead of all of them.
bool add_listener(int epoll_fd, int fd) { return add_fd(epoll_fd, fd, EPOLLIN | EPOLLEXCLUSIVE); }

}  // namespace

EventLoop::EventLoop(const ServerOptions& options, const AsyncHandler& handler,
                     std::atomic<int>* live_connections)
    : options_(options), handler_(handler), live_connections_(live_connections) {
  int shortest =
      std::min({options.idle_timeout_ms, options.header_timeout_ms, options.body_timeout_ms});
  tick_interval_ms_ = std::clamp<int64_t>(shortest / 4, 10, 1000);
}

bool Mailbox::post(Loop::Callback callback) {
  std::lock_guard lock(mu_);
  if (closed_ || wake_fd_ < 0) return false;
  items_.push_back(std::move(callback));
  uint64_t one = 1;
  ssize_t rc = write(wake_fd_, &one, sizeof one);
  (void)rc;  // a full counter still wakes the loop
  return true;
}

void EventLoop::run_posted() {
  std::vector<Callback> items;
  {
    std::lock_guard lock(mailbox_->mu_);
    items.swap(mailbox_->items_);
  }
  for (Callback& c : items) {
    try {
      c();
    } catch (const std::exception& e) {
      // One posted answer that fails must not end every connection of the
      // loop (and the process with it).
      spdlog::error("a posted callback failed: {}", e.what());
    }
  }
}

EventLoop::~EventLoop() {
  std::vector<Callback> dropped;
  {
    // Nothing is posted after this: the eventfd closes below.
    std::lock_guard lock(mailbox_->mu_);
    mailbox_->closed_ = true;
    dropped.swap(mailbox_->items_);
  }
  dropped.clear();
  close_all();
  for (int fd : {listen_fd_, wake_fd_, epoll_fd_, reserve_fd_}) {
    if (fd >= 0) close(fd);
  }
}

bool EventLoop::init(int listen_fd, std::string* error) {
  listen_fd_ = listen_fd;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || !add_fd(epoll_fd_, wake_fd_, EPOLLIN) ||
      !add_listener(epoll_fd_, listen_fd_)) {
    *error = std::string("event loop setup: ") + strerror(errno);
    return false;
  }
  refresh_clock();
  {
    std::lock_guard lock(mailbox_->mu_);
    mailbox_->wake_fd_ = wake_fd_;
  }
  return true;
}

void EventLoop::request_stop(int grace_ms) {
  stop_deadline_ms_.store(monotonic_ms() + std::max(grace_ms, 0));
  uint64_t one = 1;
  ssize_t rc = write(wake_fd_, &one, sizeof one);
  (void)rc;  // a full eventfd counter still wakes the loop
}

void EventLoop::run() {
  epoll_event events[kMaxEvents];
  int64_t last_tick = now_ms_;
  while (true) {
    int64_t timeout = wait_timeout();
    if (stopping_) timeout = std::clamp<int64_t>(stop_deadline_ms_.load() - now_ms_, 0, timeout);
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(timeout));
    if (n < 0 && errno != EINTR) break;  // the epoll fd itself is broken: nothing to salvage
    refresh_clock();
    for (int i = 0; i < n; ++i) {
      uint64_t data = events[i].data.u64;
      if (data & kWatchBit) {
        auto it = watchers_.find(data & ~kWatchBit);
        if (it == watchers_.end()) continue;
        std::shared_ptr<IoCallback> callback = it->second;  // may unwatch itself
        (*callback)(events[i].events);
        continue;
      }
      int fd = static_cast<int>(data);
      if (fd == listen_fd_) {
        accept_all();
      } else if (fd == wake_fd_) {
        uint64_t count;
        ssize_t rc = read(wake_fd_, &count, sizeof count);
        (void)rc;
        adopt_handed_over();
        run_posted();
        if (stop_deadline_ms_.load() >= 0) begin_stop();
      } else if (Connection* connection = connection_at(fd)) {
        if (!connection->on_events(events[i].events)) drop(fd);
      }
    }
    run_timers();
    // What was put off to this turn runs after its events.
    for (auto& callback : next_turn_) deferred_.push_back(std::move(callback));
    next_turn_.clear();
    run_deferred();
    if (now_ms_ - last_tick >= tick_interval_ms_) {
      tick();
      last_tick = now_ms_;
    }
    if (stopping_ && (connection_count_ == 0 || now_ms_ >= stop_deadline_ms_.load())) break;
  }
  close_all();
}

void EventLoop::accept_all() {
  for (int i = 0; i < kMaxAcceptsPerWake && listen_fd_ >= 0; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE) shed_connection();
      return;  // EAGAIN, or a resource error worth retrying later
    }
    if (live_connections_->fetch_add(1) >= options_.max_connections) {
      live_connections_->fetch_sub(1);
      std::string remote = peer_address(addr);
      options_.on_limit({"max_connections", 0, remote, "connection refused"});
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Whichever loop accepted, the connection goes to the loop with the
    // fewest: kept-alive connections stay where they land, and the loop
    // that happens to be awake when a burst arrives would otherwise take
    // most of them (80/20 with wrk's 64 connections on two loops).
    EventLoop* target = this;
    for (EventLoop* loop : siblings_) {
      if (loop->accepting_.load(std::memory_order_relaxed) &&
          loop->load_.load(std::memory_order_relaxed) <
              target->load_.load(std::memory_order_relaxed)) {
        target = loop;
      }
    }
    target->load_.fetch_add(1, std::memory_order_relaxed);
    std::string remote = peer_address(addr);
    if (target != this && !target->hand_over(fd, remote)) {  // it has just begun to stop
      target->load_.fetch_sub(1, std::memory_order_relaxed);
      load_.fetch_add(1, std::memory_order_relaxed);
      target = this;
    }
    if (target == this) adopt(fd, std::move(remote));
  }
}

void EventLoop::adopt(int fd, std::string remote) {
  auto connection =
      std::make_unique<Connection>(fd, std::move(remote), *this, next_connection_id_++);
  if (!add_fd(epoll_fd_, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
    live_connections_->fetch_sub(1);
    load_.fetch_sub(1, std::memory_order_relaxed);
    return;  // the Connection closes fd
  }
  if (static_cast<size_t>(fd) >= connections_.size())
    connections_.resize(static_cast<size_t>(fd) + 1);
  connections_[static_cast<size_t>(fd)] = std::move(connection);
  ++connection_count_;
}

// Called by another loop's thread. Checked under the inbox's lock, so that
// nothing arrives after stop_accepting(): a stopped loop's inbox stays empty.
bool EventLoop::hand_over(int fd, std::string& remote) {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    if (!accepting_.load(std::memory_order_relaxed)) return false;
    inbox_.push_back({fd, std::move(remote)});
  }
  uint64_t one = 1;
  ssize_t rc = write(wake_fd_, &one, sizeof one);
  (void)rc;  // a full eventfd counter still wakes the loop
  return true;
}

void EventLoop::stop_accepting() {
  std::lock_guard<std::mutex> lock(inbox_mutex_);
  accepting_.store(false, std::memory_order_relaxed);
}

void EventLoop::adopt_handed_over() {
  std::vector<HandedOver> arrived;
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    arrived.swap(inbox_);
  }
  for (HandedOver& h : arrived) {
    if (stopping_) {  // it would only be closed: close it now
      close(h.fd);
      live_connections_->fetch_sub(1);
      load_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    adopt(h.fd, std::move(h.remote));
  }
}

// Out of descriptors, the pending connection would make the level-triggered
// listener fire forever. Accept it on a spare descriptor and close it at
// once (the client sees a close rather than a hang); without a spare,
// stop listening for a moment.
void EventLoop::shed_connection() {
  if (reserve_fd_ >= 0) {
    close(reserve_fd_);
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) close(fd);
    reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) return;
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  listen_resume_ms_ = now_ms_ + kListenPauseMs;
}

void EventLoop::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_accepting();  // other loops stop handing connections over
  if (listen_fd_ >= 0) {
    // Explicitly: other loops' dups keep the socket open, and with it this
    // loop's registration, which closing this fd alone would not remove.
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    close(listen_fd_);
    listen_fd_ = -1;
  }
  std::vector<int> done;
  for (size_t fd = 0; fd < connections_.size(); ++fd) {
    if (connections_[fd] && !connections_[fd]->on_stop()) done.push_back(static_cast<int>(fd));
  }
  for (int fd : done) drop(fd);
}

void EventLoop::tick() {
  if (listen_resume_ms_ >= 0 && now_ms_ >= listen_resume_ms_ && listen_fd_ >= 0) {
    if (add_listener(epoll_fd_, listen_fd_)) listen_resume_ms_ = -1;
  }
  std::vector<int> done;
  for (size_t fd = 0; fd < connections_.size(); ++fd) {
    if (connections_[fd] && !connections_[fd]->on_tick()) done.push_back(static_cast<int>(fd));
  }
  for (int fd : done) drop(fd);
}

void EventLoop::refresh_clock() {
  now_ms_ = monotonic_ms();
  time_t second = time(nullptr);
  if (second != date_second_) {
    date_second_ = second;
    date_ = format_http_date(second);
  }
}

LoopState EventLoop::state() const {
  LoopState loop;
  loop.options = &options_;
  loop.handler = &handler_;
  loop.date = date_;
  loop.now_ms = now_ms_;
  loop.stopping = stopping_;
  return loop;
}

void EventLoop::drop(int fd) {
  if (connection_at(fd) == nullptr) return;
  // Moved out first: the slot is empty while the connection is destroyed.
  std::unique_ptr<Connection> gone = std::move(connections_[static_cast<size_t>(fd)]);
  --connection_count_;
  load_.fetch_sub(1, std::memory_order_relaxed);
  live_connections_->fetch_sub(1);
}

// Connections go first: their exchanges' abort callbacks may still use the
// handlers' descriptors and loop storage, which go next.
void EventLoop::close_all() {
  stopping_ = true;  // connections already handed over are closed
  stop_accepting();
  adopt_handed_over();
  live_connections_->fetch_sub(static_cast<int>(connection_count_));
  load_.fetch_sub(static_cast<int>(connection_count_), std::memory_order_relaxed);
  connection_count_ = 0;
  for (auto& connection : connections_) connection.reset();
  connections_.clear();
  for (int round = 0; round < 4 && !(deferred_.empty() && next_turn_.empty()); ++round) {
    for (auto& callback : next_turn_) deferred_.push_back(std::move(callback));
    next_turn_.clear();
    run_deferred();
  }
  timers_.clear();
  timer_deadlines_.clear();
  spare_timers_.clear();
  watchers_.clear();  // handlers' sessions go before the loop storage they use
  watched_fds_.clear();
  locals_.clear();
  deferred_.clear();
  next_turn_.clear();
}

void EventLoop::poke(int fd, uint64_t connection_id, bool next_turn) {
  Callback drive = [this, fd, connection_id] {
    Connection* connection = connection_at(fd);
    if (connection == nullptr || connection->id() != connection_id) return;
    if (!connection->on_poke()) drop(fd);
  };
  if (next_turn)
    defer_next_turn(std::move(drive));
  else
    defer(std::move(drive));
}

uint64_t EventLoop::watch(int fd, uint32_t events, IoCallback callback) {
  uint64_t token = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token | kWatchBit;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return 0;
  watchers_.emplace(token, std::make_shared<IoCallback>(std::move(callback)));
  watched_fds_.emplace(token, fd);
  return token;
}

void EventLoop::unwatch(uint64_t token) {
  auto it = watched_fds_.find(token);
  if (it == watched_fds_.end()) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second, nullptr);
  watched_fds_.erase(it);
  watchers_.erase(token);
}

bool EventLoop::rewatch(uint64_t token, IoCallback callback) {
  auto it = watchers_.find(token);
  if (it == watchers_.end()) return false;
  // A callback running now holds a second reference and keeps its own
  // object; otherwise the new one takes the old one's place.
  if (it->second.use_count() == 1) {
    *it->second = std::move(callback);
  } else {
    it->second = std::make_shared<IoCallback>(std::move(callback));
  }
  return true;
}

// Most timers are deadlines set and cancelled once per request: their map
// nodes are recycled rather than freed and allocated again.
uint64_t EventLoop::add_timer(int64_t delay_ms, Callback callback) {
  uint64_t id = next_token_++;
  int64_t deadline = now_ms_ + std::max<int64_t>(delay_ms, 0);
  if (spare_timers_.empty()) {
    timers_.emplace(std::make_pair(deadline, id), std::move(callback));
    timer_deadlines_.emplace(id, deadline);
  } else {
    TimerNodes nodes = std::move(spare_timers_.back());
    spare_timers_.pop_back();
    nodes.timer.key() = {deadline, id};
    nodes.timer.mapped() = std::move(callback);
    nodes.deadline.key() = id;
    nodes.deadline.mapped() = deadline;
    timers_.insert(std::move(nodes.timer));
    timer_deadlines_.insert(std::move(nodes.deadline));
  }
  return id;
}

void EventLoop::cancel_timer(uint64_t id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return;
  TimerNodes nodes{timers_.extract({it->second, id}), timer_deadlines_.extract(it)};
  nodes.timer.mapped() = nullptr;  // what the callback holds goes now
  if (spare_timers_.size() < kMaxSpareTimers) spare_timers_.push_back(std::move(nodes));
}

void EventLoop::defer(Callback callback) { deferred_.push_back(std::move(callback)); }

void EventLoop::defer_next_turn(Callback callback) { next_turn_.push_back(std::move(callback)); }

void EventLoop::run_timers() {
  while (!timers_.empty() && timers_.begin()->first.first <= now_ms_) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    node.mapped()();
    run_deferred();
  }
}

// Deferred calls may defer more; they all run before the loop sleeps. The
// two vectors trade places so neither gives up its capacity (a defer per
// request would otherwise allocate).
void EventLoop::run_deferred() {
  while (!deferred_.empty()) {
    std::vector<Callback> batch;
    batch.swap(running_);
    batch.swap(deferred_);
    for (auto& callback : batch) callback();
    batch.clear();
    running_.swap(batch);
  }
}

int64_t EventLoop::wait_timeout() const {
  if (!deferred_.empty() || !next_turn_.empty()) return 0;
  int64_t timeout = tick_interval_ms_;
  if (!timers_.empty()) {
    timeout = std::clamp<int64_t>(timers_.begin()->first.first - now_ms_, 0, timeout);
  }
  return timeout;
}

}  // namespace wok::http

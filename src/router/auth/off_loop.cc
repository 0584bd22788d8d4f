#include "router/auth/off_loop.h"

namespace wok::router {

OffLoopPool::OffLoopPool(int threads, size_t max_queue, size_t per_tenant)
    : max_queue_(max_queue), per_tenant_(per_tenant) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

OffLoopPool::~OffLoopPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

bool OffLoopPool::run(std::shared_ptr<http::Mailbox> mailbox, const std::string& tenant,
                      Work work) {
  if (!mailbox) return false;
  {
    std::lock_guard lock(mu_);
    size_t& mine = in_flight_[tenant];
    if (stopping_ || queued_ >= max_queue_ || mine >= per_tenant_) {
      if (mine == 0) in_flight_.erase(tenant);
      return false;
    }
    ++mine;
    std::deque<Job>& queue = queues_[tenant];
    if (queue.empty()) turns_.push_back(tenant);
    queue.push_back({mailbox, tenant, std::move(work)});
    ++queued_;
  }
  ready_.notify_one();
  return true;
}

void OffLoopPool::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    ready_.wait(lock, [this] { return stopping_ || queued_ > 0; });
    if (stopping_) return;
    std::string tenant = std::move(turns_.front());
    turns_.pop_front();
    auto queue = queues_.find(tenant);
    Job job = std::move(queue->second.front());
    queue->second.pop_front();
    --queued_;
    if (queue->second.empty())
      queues_.erase(queue);
    else
      turns_.push_back(std::move(tenant));  // its next job after the others' turns
    lock.unlock();
    std::function<void()> then = job.work();
    // The work's captures (an exchange, say) go here, before the loop can
    // run `then`: the last reference to what they hold is dropped on the
    // loop, never on this thread.
    job.work = nullptr;
    if (auto mailbox = job.mailbox.lock(); mailbox && then)
      mailbox->post([then = std::move(then)]() mutable { then(); });
    lock.lock();
    if (auto it = in_flight_.find(job.tenant); it != in_flight_.end() && --it->second == 0)
      in_flight_.erase(it);
  }
}

}  // namespace wok::router

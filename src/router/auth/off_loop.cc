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
    if (stopping_ || jobs_.size() >= max_queue_ || mine >= per_tenant_) {
      if (mine == 0) in_flight_.erase(tenant);
      return false;
    }
    ++mine;
    jobs_.push_back({mailbox, tenant, std::move(work)});
  }
  ready_.notify_one();
  return true;
}

void OffLoopPool::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    std::function<void()> then = job.work();
    if (auto mailbox = job.mailbox.lock(); mailbox && then)
      mailbox->post([then = std::move(then)]() mutable { then(); });
    lock.lock();
    if (auto it = in_flight_.find(job.tenant); it != in_flight_.end() && --it->second == 0)
      in_flight_.erase(it);
  }
}

}  // namespace wok::router

#include "http/off_loop.h"

#include <algorithm>
#include <exception>

namespace wok::http {

OffLoopPool::OffLoopPool(int threads, size_t max_queue, size_t per_tenant,
                         size_t running_per_tenant)
    : max_queue_(max_queue),
      per_tenant_(per_tenant),
      running_per_tenant_(running_per_tenant ? running_per_tenant : static_cast<size_t>(threads)) {
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

bool OffLoopPool::run(std::shared_ptr<Mailbox> mailbox, const std::string& tenant, Work work) {
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
    // The next tenant in turn that may run one more job.
    auto next = turns_.end();
    ready_.wait(lock, [&] {
      if (stopping_) return true;
      next = std::find_if(turns_.begin(), turns_.end(), [this](const std::string& t) {
        auto r = running_.find(t);
        return r == running_.end() || r->second < running_per_tenant_;
      });
      return next != turns_.end();
    });
    if (stopping_) return;
    std::string tenant = std::move(*next);
    turns_.erase(next);
    ++running_[tenant];
    auto queue = queues_.find(tenant);
    Job job = std::move(queue->second.front());
    queue->second.pop_front();
    --queued_;
    if (queue->second.empty())
      queues_.erase(queue);
    else
      turns_.push_back(std::move(tenant));  // its next job after the others' turns
    lock.unlock();
    std::function<void()> then;
    try {
      then = job.work();
    } catch (const std::exception&) {
      // A job must not take the process down (a provider's malformed
      // answer, say); what it was doing is left unanswered here, and its
      // exchange times out as any stalled one does.
      then = nullptr;
    }
    // The work's captures (an exchange, say) go here, before the loop can
    // run `then`: the last reference to what they hold is dropped on the
    // loop, never on this thread.
    job.work = nullptr;
    // Done before its answer is posted: whoever the answer reaches may ask
    // again at once, and finds the tenant's place free.
    lock.lock();
    if (auto it = in_flight_.find(job.tenant); it != in_flight_.end() && --it->second == 0)
      in_flight_.erase(it);
    if (auto it = running_.find(job.tenant); it != running_.end() && --it->second == 0)
      running_.erase(it);
    ready_.notify_all();  // a tenant held at its running limit may go on
    lock.unlock();
    if (auto mailbox = job.mailbox.lock(); mailbox && then)
      mailbox->post([then = std::move(then)]() mutable { then(); });
    lock.lock();
  }
}

}  // namespace wok::http

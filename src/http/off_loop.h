#pragma once
// Blocking work for the loops (an OpenID provider's token endpoint, a
// password hash), done on a few threads of its own, its answer posted back
// to the loop that asked through that loop's Mailbox. Bounded twice: the
// queue as a whole (a flood is shed, not queued), and per tenant (one
// site's slow provider or password flood holds at most `per_tenant` jobs
// queued or running). Tenants take turns: the next job is the next
// tenant's, not the oldest, so a tenant with many jobs waiting delays
// another's by one job per thread at most. A tenant may also be held to
// fewer running jobs than there are threads (its provider stalling holds
// that many threads, no more).
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/loop.h"

namespace wok::http {

class OffLoopPool {
 public:
  // What runs on a pool thread; it returns what then runs on the loop.
  using Work = std::function<std::function<void()>()>;

  // per_tenant: jobs of one tenant queued or running at most;
  // running_per_tenant: running at most (0: as many as there are threads).
  OffLoopPool(int threads, size_t max_queue, size_t per_tenant, size_t running_per_tenant = 0);
  ~OffLoopPool();
  OffLoopPool(const OffLoopPool&) = delete;
  OffLoopPool& operator=(const OffLoopPool&) = delete;

  // False (nothing queued) when the queue is full, `tenant` has per_tenant
  // jobs queued or running, or the mailbox is closed. The answer is dropped
  // if the loop is gone by then.
  bool run(std::shared_ptr<Mailbox> mailbox, const std::string& tenant, Work work);

 private:
  struct Job {
    std::weak_ptr<Mailbox> mailbox;
    std::string tenant;
    Work work;
  };
  void loop();

  size_t max_queue_, per_tenant_, running_per_tenant_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::map<std::string, std::deque<Job>> queues_;  // by tenant, only those with jobs
  std::deque<std::string> turns_;                  // tenants with queued jobs, in turn
  size_t queued_ = 0;
  std::map<std::string, size_t> in_flight_;  // queued or running, by tenant
  std::map<std::string, size_t> running_;    // running, by tenant
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace wok::http

#pragma once
// `GET .../sites/NAME/logs?follow=true` (docs/api.md, "Logs"): the output
// of a site's instances as it is written, one SiteLogs object per line
// (newline-delimited JSON): the first as a plain GET answers, then, about
// every half second, one with the lines written since (only the streams
// that have new ones; an instance that appears is read from the start of
// its run). It ends when the site is deleted (a last Status line, 404), the
// caller's token is revoked (401) or the caller loses the project (403),
// the client goes away or the server stops. One thread reads for every
// follower and posts each its lines to the loop of its connection.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/exchange.h"
#include "server/api_server.h"
#include "server/auth.h"

namespace wok::store {
class Store;
}

namespace wok::server {

class LogFollowers {
 public:
  using SiteLogs = std::function<nlohmann::json(const std::string& ns, const std::string& name,
                                                const LogsQuery& query)>;
  LogFollowers(store::Store& store, SiteLogs site_logs,
               std::chrono::milliseconds every = std::chrono::milliseconds(500));
  ~LogFollowers();
  LogFollowers(const LogFollowers&) = delete;
  LogFollowers& operator=(const LogFollowers&) = delete;

  // On the exchange's loop, with the caller already allowed to read the
  // site: starts the stream (429 past the per-user bound).
  void add(http::Exchange exchange, const Caller& caller, const std::string& token_hash,
           const std::string& ns, const std::string& name, const LogsQuery& query);
  void stop();
  bool stopped();
  size_t followers();

 private:
  struct Follower;
  void run();
  // One read for `f`: its new lines posted; false once its stream ended.
  bool poll(Follower& f, std::chrono::steady_clock::time_point now);

  store::Store& store_;
  SiteLogs site_logs_;
  const std::chrono::milliseconds every_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<Follower>> followers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wok::server

#pragma once
// wok up's backups (docs/data.md): the answer to `wok backup` (server::
// ApiOptions::site_backups) and the schedule of spec.backup.
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "controllers/backups.h"
#include "server/api_server.h"

namespace wok::controllers {
class SiteController;
}
namespace wok::store {
class Store;
}

namespace wok::platform {

server::BackupAnswer site_backups(controllers::Backups& backups, controllers::SiteController& sites,
                                  const server::BackupRequest& request);

// spec.backup.schedule: each site's backup when its schedule says (UTC),
// one at a time, then the retention of spec.backup.keep; every hour, the
// backups of deleted sites past their retention are forgotten. The last
// backup and error are in the site's status.backup.
class BackupSchedule {
 public:
  BackupSchedule(store::Store& store, controllers::Backups& backups);
  ~BackupSchedule();
  void start();
  void stop();

 private:
  void loop();
  void pass();

  store::Store& store_;
  controllers::Backups& backups_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::map<std::string, int64_t> next_;  // by site uid: the next time due (epoch seconds)
  std::map<std::string, std::string>
      schedule_of_;  // by uid: the schedule `next_` was computed from
  int64_t next_sweep_ = 0;
};

}  // namespace wok::platform

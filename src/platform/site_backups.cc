#include "platform/site_backups.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <map>
#include <set>

#include "api/cron.h"
#include "api/validation.h"
#include "controllers/site_controller.h"
#include "store/store.h"

namespace wok::platform {

using nlohmann::json;

server::BackupAnswer site_backups(controllers::Backups& backups, controllers::SiteController& sites,
                                  const server::BackupRequest& q) {
  server::BackupAnswer answer;
  controllers::BackupError error;
  auto fail = [&] {
    answer.status = error.status;
    answer.error = error.message;
    return answer;
  };
  switch (q.verb) {
    case server::BackupRequest::kCreate: {
      auto made = backups.create(q.ns, q.site, "manual", &error);
      if (!made) return fail();
      answer.body = made->to_json();
      return answer;
    }
    case server::BackupRequest::kList: {
      auto list = backups.list(q.ns, q.site, &error);
      if (!list) return fail();
      json items = json::array();
      for (const auto& b : *list) items.push_back(b.to_json());
      answer.body = {{"apiVersion", "wok.dev/v1alpha1"}, {"kind", "BackupList"}, {"items", items}};
      return answer;
    }
    case server::BackupRequest::kDelete: {
      auto gone = backups.remove(q.ns, q.site, q.backup, &error);
      if (!gone) return fail();
      answer.body = gone->to_json();
      return answer;
    }
    case server::BackupRequest::kShow:
    case server::BackupRequest::kRestore: {
      auto b = backups.find(q.ns, q.site, q.backup, &error, q.site_uid);
      if (!b) return fail();
      auto manifest = backups.manifest(q.ns, *b, &error);
      if (!manifest) return fail();
      if (q.verb == server::BackupRequest::kRestore) {
        auto done = sites.restore(q.ns, q.site, *b, *manifest, &error);
        if (!done) return fail();
        answer.body = *done;
        return answer;
      }
      answer.body = b->to_json();
      for (const char* key : {"commit", "spec", "storage", "services", "database"})
        answer.body[key] = (*manifest)[key];
      return answer;
    }
  }
  return answer;
}

BackupSchedule::BackupSchedule(store::Store& store, controllers::Backups& backups)
    : store_(store), backups_(backups) {}

BackupSchedule::~BackupSchedule() { stop(); }

void BackupSchedule::start() {
  thread_ = std::thread([this] { loop(); });
}

void BackupSchedule::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackupSchedule::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    pass();
    lock.lock();
    // Whole minutes are what a schedule names: a look every few seconds.
    wake_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_; });
  }
}

void BackupSchedule::pass() {
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  std::set<std::string> seen;
  std::map<std::string, json> projects;  // spec of each, read once a pass
  for (const auto& p : store_.list("Project"))
    projects[p["metadata"].value("name", "")] = p.value("spec", json::object());
  for (const auto& site : store_.list("Site")) {
    const std::string ns = site["metadata"].value("namespace", ""),
                      name = site["metadata"].value("name", ""),
                      uid = site["metadata"].value("uid", "");
    seen.insert(uid);
    // Its own spec.backup, else its project's (a site that keeps data).
    const json policy = api::backup_policy(site["spec"], projects[ns]);
    if (!policy.is_object()) {
      next_.erase(uid);
      continue;
    }
    const std::string text = policy.value("schedule", "");
    std::string error;
    auto schedule = api::parse_cron(text, &error);
    if (!schedule) continue;  // validation refused it already
    if (!next_.count(uid) || schedule_of_[uid] != text) {
      auto next =
          api::next_cron_time(*schedule, std::chrono::sys_seconds(std::chrono::seconds(now)));
      next_[uid] = next ? next->time_since_epoch().count() : INT64_MAX;
      schedule_of_[uid] = text;
    }
    if (now < next_[uid]) continue;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    controllers::BackupError failure;
    auto made = backups_.create(ns, name, "scheduled", &failure);
    if (!made && failure.busy)
      continue;  // a restore or another backup of it: due still, tried again shortly
    std::string retention;
    if (made) retention = backups_.apply_retention(ns, name, uid, controllers::backup_keep(policy));
    auto next = api::next_cron_time(
        *schedule,
        std::chrono::sys_seconds(std::chrono::seconds(static_cast<int64_t>(::time(nullptr)))));
    next_[uid] = next ? next->time_since_epoch().count() : INT64_MAX;
    json status = {{"schedule", text}};
    if (made) {
      status["last"] = made->id;
      status["lastTime"] = made->time;
      spdlog::info("site {}/{}: scheduled backup {}", ns, name, made->id);
    }
    std::string why = made ? retention : failure.message;
    status["lastError"] = why.empty() ? json(nullptr) : json(why);
    if (!why.empty()) spdlog::warn("site {}/{}: scheduled backup: {}", ns, name, why);
    store_.patch_status("Site", ns, name, {{"backup", status}});
  }
  // Sites gone: their schedules are forgotten.
  std::erase_if(next_, [&](const auto& e) { return !seen.count(e.first); });
  std::erase_if(schedule_of_, [&](const auto& e) { return !seen.count(e.first); });
  if (next_sweep_ == 0) next_sweep_ = now + 600;  // not in the rush of a start
  if (now >= next_sweep_) {
    next_sweep_ = now + 3600;
    backups_.sweep_deleted();
  }
}

}  // namespace wok::platform

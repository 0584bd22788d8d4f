#include "controllers/snapshot.h"

#include <algorithm>

namespace wok::controllers {

using nlohmann::json;

int BackupKeep::retain_days() const {
  int days = std::max({daily, weekly * 7, monthly * 31, hourly > 0 ? 1 : 0});
  return days > 0 ? days : 30;
}

BackupKeep backup_keep(const json& policy) {
  BackupKeep keep;
  const json backup = policy.is_object() ? policy : json::object();
  if (!backup.contains("keep")) {
    if (backup.contains("schedule")) keep.daily = 7, keep.weekly = 4;
    return keep;
  }
  const json& k = backup["keep"];
  keep.last = k.value("last", 0);
  keep.hourly = k.value("hourly", 0);
  keep.daily = k.value("daily", 0);
  keep.weekly = k.value("weekly", 0);
  keep.monthly = k.value("monthly", 0);
  return keep;
}

json snapshot_manifest(const SnapshotOf& of) {
  return {{"apiVersion", "wok.dev/v1alpha1"},
          {"kind", "SiteBackup"},
          {"project", of.project},
          {"site", of.site},
          {"siteUid", of.site_uid},
          {"revision", of.revision},
          {"commit", of.commit},
          {"spec", of.spec},
          {"storage", json::array()},
          {"services", json::array()},
          {"database", nullptr}};
}

std::vector<std::string> snapshot_backup_args(const SnapshotOf& of) {
  const BackupKeep keep = backup_keep(of.policy);
  return {"backup", "--json",
          "--host", "wok",
          "--tag",  "wok",
          "--tag",  "site=" + of.site,
          "--tag",  "uid=" + of.site_uid,
          "--tag",  "revision=" + std::to_string(of.revision),
          "--tag",  "reason=" + of.reason,
          "--tag",  "retain=" + std::to_string(keep.retain_days()),
          "."};
}

std::string snapshot_id(const std::string& out) {
  std::string id;
  for (size_t at = 0; at < out.size();) {  // one JSON object per line; the summary last
    size_t end = out.find('\n', at);
    json line =
        json::parse(out.substr(at, end == std::string::npos ? end : end - at), nullptr, false);
    if (line.is_object() && line.value("message_type", "") == "summary")
      id = line.value("snapshot_id", "");
    at = end == std::string::npos ? out.size() : end + 1;
  }
  return id;
}

std::vector<std::string> retention_args(const std::string& name, const std::string& uid,
                                        const BackupKeep& keep) {
  std::vector<std::string> args = {
      "--tag", "wok,site=" + name + ",uid=" + uid + ",reason=scheduled", "--group-by", ""};
  auto add = [&](const char* flag, int n) {
    if (n > 0) args.insert(args.end(), {flag, std::to_string(n)});
  };
  add("--keep-last", keep.last);
  add("--keep-hourly", keep.hourly);
  add("--keep-daily", keep.daily);
  add("--keep-weekly", keep.weekly);
  add("--keep-monthly", keep.monthly);
  if (args.size() == 4) return {};  // nothing said: everything kept
  return args;
}

std::vector<std::string> manual_cap_args(const std::string& name, const std::string& uid,
                                         const std::string& reason) {
  return {"--tag",       "wok,site=" + name + ",uid=" + uid + ",reason=" + reason,
          "--group-by",  "",
          "--keep-last", std::to_string(kManualBackupsKept)};
}

}  // namespace wok::controllers

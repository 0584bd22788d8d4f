#pragma once
// What a backup is, in one place for both platforms (docs/data.md,
// "Backups"): wok up's Backups (controllers/backups.h) and the Kubernetes
// backup Job (`wok backup-job`, platform/backup_job.h) lay out the same
// snapshot, tag it the same way and keep the same ones, so that either
// lists, restores and forgets what the other made.
//
//   /backup.json      the revision (spec, source commit, number) and what follows
//   /database.sql     a consistent dump of spec.database (one transaction)
//   /storage/NAME/    each spec.storage volume's files
//   /services/NAME/   each spec.services server's data directory (wok up);
//                     on a cluster a Redis service's snapshot, dump.rdb
//                     (render/backup.cc: redis-cli --rdb out, MIGRATE in),
//                     a RabbitMQ service's definitions.json and
//                     messages.json (platform/rabbitmq_backup.h)
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wok::controllers {

// A backup policy's keep (the newest backup of each of the last N days,
// weeks...); a schedule without keep keeps {daily: 7, weekly: 4}.
struct BackupKeep {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0;
  // How long a backup of a deleted site stays: what the policy would keep
  // at most (7 daily = 7 days, 4 weekly = 28 days); 30 days when nothing says.
  int retain_days() const;
};
// Of `policy`, what api::backup_policy gives ({schedule, keep}; null:
// none, backups by hand only).
BackupKeep backup_keep(const nlohmann::json& policy);

// A site's manual (and pre-restore) backups beyond the newest 20 are
// forgotten: a member cannot fill the repository by hand.
inline constexpr int kManualBackupsKept = 20;

// The site revision a snapshot holds.
struct SnapshotOf {
  std::string project, site, site_uid;
  int64_t revision = 0;
  std::string commit;
  nlohmann::json spec;  // the revision's
  std::string reason;   // "manual", "scheduled", "pre-restore"
  // The backup policy the site follows (api::backup_policy: its own
  // spec.backup or its project's): its keep sets the retain tag.
  nlohmann::json policy;
};

// /backup.json without its parts: {"database": null, "storage": [],
// "services": []} for the caller to fill with what it puts beside it.
nlohmann::json snapshot_manifest(const SnapshotOf& of);

// `restic backup` run in the snapshot's directory: its tags (wok,
// site=, uid=, revision=, reason=, retain=DAYS from the spec's keep).
std::vector<std::string> snapshot_backup_args(const SnapshotOf& of);

// The snapshot id in `restic backup --json`'s output ("" when none).
std::string snapshot_id(const std::string& restic_json_lines);

// `restic forget` arguments that keep what `keep` says of the scheduled
// backups of site name/uid; empty when the policy keeps everything.
std::vector<std::string> retention_args(const std::string& name, const std::string& uid,
                                        const BackupKeep& keep);

// `restic forget` arguments that keep the newest kManualBackupsKept of a
// site's backups made for `reason`.
std::vector<std::string> manual_cap_args(const std::string& name, const std::string& uid,
                                         const std::string& reason);

}  // namespace wok::controllers

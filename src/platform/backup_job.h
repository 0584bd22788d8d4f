#pragma once
// `wok backup-job create`: a site's backup on Kubernetes, in the Job that
// render::render_site's CronJob "SITE-backup" makes (docs/data.md, "On
// Kubernetes"). Its pod mounts the site's volumes read-only under DIR/storage
// and an init container of the database's image dumps it into
// DIR/database.sql; this writes DIR/backup.json and runs restic there, with
// the layout, tags and retention of controllers/snapshot.h: the backups are
// those wok up makes.
#include <iosfwd>

#include "cmd/cli.h"

namespace wok::platform {

// 0 when made (one JSON line on `out`: {"backup": {id, project, site,
// revision, reason}}); 1 with "error: ..." on `err` otherwise.
int run_backup_job(const cmd::BackupJobOptions& options, std::ostream& out, std::ostream& err);
int run_backup_job(const cmd::BackupJobOptions& options);

}  // namespace wok::platform

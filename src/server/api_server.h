#pragma once
// The HTTP/JSON API: Kubernetes-style REST paths over the store, with
// authentication and project-level authorization. See docs/api.md.
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "hooks/push_hook.h"
#include "http/exchange.h"
#include "http/message.h"
#include "server/quota.h"

namespace wok::store {
class Store;
class SecretStore;
struct Result;
}  // namespace wok::store

namespace wok::server {

class AuditLog;

struct LogsQuery {
  std::string component;  // "" = every component
  int tail = 100;         // lines per stream when no offset is known
  // "ID:stdout" -> byte offset already read (`-f` polls with these).
  std::map<std::string, int64_t> from;
  bool previous = false;  // the run before the current (or last) one of each instance
};

// The query of GET .../sites/NAME/logs: "" and *query, *follow set, or why
// it is refused (a 400).
std::string parse_logs_query(std::string_view query_string, LogsQuery* query, bool* follow);

// What a database command answered: the output (a file: a dump may be
// large) or why not.
struct DatabaseAnswer {
  int status = 200;   // 200; 404: no database; 422: the SQL failed; 503: not running
  std::string error;  // status != 200
  int fd = -1;        // status 200: the output, from its start; the server closes it
  size_t length = 0;
};

// wok backup (docs/data.md): what the platform is asked, and its answer.
struct BackupRequest {
  enum Verb { kCreate, kList, kShow, kRestore, kDelete } verb = kList;
  std::string ns;
  std::string site;    // kList: "" for every site of the project, deleted ones too
  std::string backup;  // kShow, kRestore: an id or "latest"; kDelete: an id
  // kShow, kRestore in place: "latest" is the newest of this site uid's
  // (not of an earlier site of the same name).
  std::string site_uid;
};
struct BackupAnswer {
  int status = 200;
  std::string error;  // status != 200
  nlohmann::json body;
};

struct ApiOptions {
  std::string version = "0.1.0";
  // GET /ca.crt: the local CA's certificate (PEM) that sites' HTTPS
  // certificates chain to (wok up's data directory); "": 404.
  std::string ca_certificate;
  // Appended to /metrics (the router and controllers expose their counters here).
  std::function<std::string()> extra_metrics;
  // GET .../namespaces/{ns}/sites/{name}/stats?minutes=N: the router's
  // request statistics of one site over the last N minutes (a JSON object,
  // see docs/api.md). Unset: that path answers 404.
  std::function<nlohmann::json(const std::string& ns, const std::string& name, int minutes)>
      site_stats;
  // GET .../namespaces/{ns}/sites/{name}/logs?component=C&tail=N&from=ID:STREAM:OFFSET,...
  // The output of the site's running instances (a JSON object, see
  // docs/api.md). Unset: that path answers 404.
  std::function<nlohmann::json(const std::string& ns, const std::string& name,
                               const LogsQuery& query)>
      site_logs;
  // GET .../sites/{name}/joblogs?job=JOB&tail=N: the kept runs of a job of
  // spec.app.jobs and their output (a JobLogs object). Unset: 404.
  std::function<nlohmann::json(const std::string& ns, const std::string& name,
                               const std::string& job, int tail)>
      job_logs;
  // Where members' sites may read local sources (file:// and path git URLs,
  // oci:/dir:/... images); empty: nowhere. The platform admin may use any.
  std::vector<std::string> allowed_local_sources;
  // Upper bounds on each site's resources (wok up --max-site-*): a create,
  // replace or rollback over one is refused, for the platform admin too.
  SiteBounds site_bounds;
  // .../namespaces/{ns}/secrets (secrets_api.h); unset: those paths answer 404.
  store::SecretStore* secrets = nullptr;
  // GET .../sites/{name}/dbdump (a dump of the site's database) and POST
  // .../sites/{name}/dbexec (the body's SQL run, its output answered):
  // `wok db dump`, `import` and `shell` (docs/data.md). Developers and
  // admins of the project only. Unset: 404.
  // `sql_fd` >= 0: the SQL is that file's (an upload, below), not `sql`.
  std::function<DatabaseAnswer(const std::string& ns, const std::string& name, bool dump,
                               const std::string& sql, int sql_fd)>
      site_database;
  // POST .../dbexec?upload=ID&offset=N[&done=1]: SQL over 16 MiB (the
  // body limit) sent in parts, each appended to a file here (the API
  // process's own, 0600) at its offset; the part with done=1 runs the
  // whole. Empty: only whole bodies.
  std::filesystem::path upload_dir;
  // GET .../sites/{name}/buildlog: the build under way, {revision, output so
  // far}; nullopt when none is (the newest revision's log is answered then).
  std::function<std::optional<std::pair<int64_t, std::string>>(const std::string& ns,
                                                               const std::string& name)>
      build_output;
  // Where every change asked of the API is recorded (server/audit.h);
  // unset: nothing is, and GET .../audit answers 404.
  AuditLog* audit = nullptr;
  // How often a watch that allows bookmarks gets one (when the store's
  // version moved past what it was sent).
  int watch_bookmark_ms = 10'000;
  // wok backup create|list|restore (unset: 404). Runs restic: off the loops.
  std::function<BackupAnswer(const BackupRequest&)> site_backups;
};

// Requests that may take minutes (GET .../sites/S/dbdump, POST .../dbexec):
// the platform runs them off its loops. `tenant`: the project's name.
// `backup`, when given, says whether it is a backup or restore (their own pool).
bool is_long_running(const http::Request& request, std::string* tenant, bool* backup = nullptr);
// A Kubernetes Status object (JSON text) with `code`, `reason`, `message`.
std::string status_json(int code, const std::string& reason, const std::string& message);

class WatchHub;
class LogFollowers;

class ApiHandler {
 public:
  ApiHandler(store::Store& store, ApiOptions options);
  ~ApiHandler();
  void handle(const http::Request& request, http::Response& response);
  // A GET with watch=1 (server/watch.h) or of a site's logs with
  // follow=true (server/log_follow.h): answers it (an error) or starts its
  // stream, and returns true; false for any other request (handle()
  // answers those). On the exchange's loop.
  bool watch(http::Exchange& exchange);
  // Ends the watches' and follows' streams (before the server stops: they
  // never finish by themselves).
  void stop_watches();
  // Whether `request` (is_long_running) comes from a developer or admin of
  // its project about one of its sites: only those wait for the platform's
  // pool; anything else is answered at once by handle().
  bool may_run_long(const http::Request& request);

 private:
  struct Context;
  void route(Context& ctx);
  void projects(Context& ctx, const std::string& name);
  void sites(Context& ctx, const std::string& ns, const std::string& name, const std::string& sub);
  void all_sites(Context& ctx);
  // GET .../sites/{name}/buildlog (ApiOptions::build_output).
  void build_log(Context& ctx, const std::string& ns, const std::string& name);
  // GET .../projects/{name}/usage: what its sites count against its quota.
  void project_usage(Context& ctx, const std::string& name);
  // GET .../namespaces/{ns}/events[?fieldSelector=involvedObject.name=SITE]: an EventList.
  void events(Context& ctx, const std::string& ns);
  // A list's apiVersion, kind, metadata.resourceVersion (to watch from) and no items yet.
  nlohmann::json list_head(const char* kind);
  void create_site(Context& ctx, const std::string& ns);
  void replace_site(Context& ctx, const std::string& ns, const std::string& name);
  void revisions(Context& ctx, const std::string& ns, const std::string& name);
  void rollback(Context& ctx, const std::string& ns, const std::string& name);
  void refresh(Context& ctx, const std::string& ns, const std::string& name);
  // POST .../sites/{name}/jobrun?job=JOB (a run now), GET .../joblogs.
  void jobs(Context& ctx, const std::string& ns, const std::string& name, const std::string& sub);
  void tokens(Context& ctx, const std::string& name);
  void logs(Context& ctx, const std::string& ns, const std::string& name);
  void secrets(Context& ctx, const std::string& ns, const std::string& name);
  // GET .../dbdump, POST .../dbexec: the site's database (ApiOptions::site_database).
  void database_upgrade(Context& ctx, const std::string& ns, const std::string& name);
  bool sql_upload_part(Context& ctx, const std::string& ns, const std::string& name,
                       const nlohmann::json& spec, base::UniqueFd* fd);
  void database(Context& ctx, const std::string& ns, const std::string& name, bool dump,
                bool may_edit);
  std::string host_conflict_message(Context& ctx, const store::Result& result);
  // .../sites/S/backups[/ID] (GET, POST), .../sites/S/restore (POST),
  // .../namespaces/P/backups (GET, `site` "").
  void backups(Context& ctx, const std::string& ns, const std::string& site, const std::string& id,
               bool restore);
  // A spec of the past (a rollback's revision, a restored backup's) checked
  // as a new one would be: hosts, local sources, bounds, quota. False when
  // refused (answered, `what` first: "cannot roll back to revision 3").
  bool admissible_past_spec(Context& ctx, const std::string& ns, const std::string& name,
                            const nlohmann::json& spec, const std::string& what);
  // spec.cloneFrom naming another project: the writer must be a developer
  // or admin there (nothing is checked when `before` already said the same).
  std::vector<api::FieldError> clone_errors(Context& ctx, const std::string& ns,
                                            const nlohmann::json& spec,
                                            const nlohmann::json* before);
  // After the platform admin wrote `site`: lets its local sources be fetched.
  void approve_local_sources(Context& ctx, nlohmann::json& site);
  std::string metrics() const;
  // The audit log: what a change names and its state before (handle()),
  // then the entry once answered; GET .../audit for the platform admin.
  nlohmann::json audit_subject(const http::Request& request, bool known_caller);
  void audit(Context& ctx, const nlohmann::json& subject);
  void audit_read(Context& ctx);
  // GET /console/NAME: the web console's embedded files (server/console_assets.h).
  void console_file(Context& ctx, std::string_view name);

  store::Store& store_;
  ApiOptions options_;
  std::once_flag watches_started_;
  std::unique_ptr<WatchHub> watches_;             // made by the first watch
  std::atomic<WatchHub*> open_watches_{nullptr};  // watches_, for metrics() on any thread
  std::once_flag follows_started_;
  std::unique_ptr<LogFollowers> follows_;             // made by the first follow
  std::atomic<LogFollowers*> open_follows_{nullptr};  // follows_, for metrics()
  // GET .../sites/NAME/logs?follow=true, authenticated: answered or streamed.
  void follow_logs(http::Exchange& exchange, Context& ctx, const std::vector<std::string>& parts);
  std::mutex audit_mu_;
  std::map<std::string, std::pair<int64_t, int>> refused_by_address_;  // minute, 401s written
  std::atomic<uint64_t> audit_suppressed_{0};
  std::atomic<uint64_t> requests_[6] = {};  // by status class 1xx..5xx (index 1..5)
  // POST /hooks/v1/projects/{ns}/sites/{name}: push webhooks, no bearer token (docs/webhooks.md).
  hooks::PushHookEndpoint hooks_;
};

}  // namespace wok::server

#include "server/api_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/jobs.h"
#include "api/validation.h"
#include "base/sealed_box.h"
#include "base/text.h"
#include "base/unique_fd.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/console_assets.h"
#include "server/log_follow.h"
#include "server/query.h"
#include "server/quota.h"
#include "server/secrets_api.h"
#include "server/site_hooks.h"
#include "server/source_policy.h"
#include "server/watch.h"
#include "store/host_claims.h"
#include "store/secrets.h"
#include "store/store.h"

namespace wok::server {

using nlohmann::json;

namespace {

constexpr std::string_view kBase = "/apis/wok.dev/v1alpha1";

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

const char* reason_for(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 413:
      return "RequestEntityTooLarge";
    case 422:
      return "Invalid";
    case 503:
      return "ServiceUnavailable";
    default:
      return "InternalError";
  }
}

}  // namespace

struct ApiHandler::Context {
  const http::Request& req;
  http::Response& res;
  Caller caller;

  void send(int code, const json& body) {
    res.status = code;
    res.set_header("Content-Type", "application/json");
    // Text from a tenant (a log line, a commit's author) may not be UTF-8:
    // replaced, never a throw.
    res.body = body.dump(2, ' ', false, json::error_handler_t::replace);
    res.body += '\n';
  }

  void fail(int code, const std::string& message, const char* reason = nullptr,
            const std::vector<api::FieldError>& causes = {}) {
    json status = {{"apiVersion", "v1"},
                   {"kind", "Status"},
                   {"status", "Failure"},
                   {"code", code},
                   {"reason", reason ? reason : reason_for(code)},
                   {"message", message}};
    if (!causes.empty()) {
      json list = json::array();
      for (const auto& c : causes) list.push_back({{"field", c.field}, {"message", c.message}});
      status["details"] = {{"causes", list}};
    }
    send(code, status);
  }

  // Parses the body as a JSON object; answers 400 and returns false if it is not.
  bool body_object(json* out) {
    *out = json::parse(req.body, nullptr, false);
    if (out->is_discarded() || !out->is_object()) {
      fail(400, "the request body is not a JSON object");
      return false;
    }
    return true;
  }
};

bool is_long_running(const http::Request& request, std::string* tenant, bool* backup) {
  std::string_view path = request.path;
  if (!path.starts_with(kBase)) return false;
  auto parts = split_path(path.substr(kBase.size()));
  if (parts.size() < 3 || parts[0] != "namespaces") return false;
  *tenant = parts[1];
  if (backup)
    *backup = parts.back() == "backups" || parts.back() == "restore" ||
              (parts.size() == 6 && parts[4] == "backups");
  if (parts.size() == 3) return parts[2] == "backups" && request.method == "GET";
  if (parts[2] != "sites" || parts.size() < 5) return false;
  if (parts.size() == 6)
    return parts[4] == "backups" && (request.method == "GET" || request.method == "DELETE");
  if (parts.size() != 5) return false;
  const std::string_view sub = parts[4];
  if (request.method == "GET") return sub == "dbdump" || sub == "backups";
  if (request.method == "POST") return sub == "dbexec" || sub == "backups" || sub == "restore";
  return false;
}

std::string status_json(int code, const std::string& reason, const std::string& message) {
  return json({{"apiVersion", "v1"},
               {"kind", "Status"},
               {"status", "Failure"},
               {"code", code},
               {"reason", reason},
               {"message", message}})
             .dump(2) +
         "\n";
}

ApiHandler::ApiHandler(store::Store& store, ApiOptions options)
    : store_(store),
      options_(std::move(options)),
      hooks_(store_hook_backend(store_, options_.secrets)) {}

ApiHandler::~ApiHandler() { stop_watches(); }

void ApiHandler::stop_watches() {
  std::call_once(watches_started_, [] {});  // no hub made after this
  if (watches_) watches_->stop();
  std::call_once(follows_started_, [] {});
  if (follows_) follows_->stop();
}

namespace {

// GET .../namespaces/NS/sites/NAME/logs?...follow=true...
bool wants_follow(const http::Request& req) {
  if (!req.path.ends_with("/logs")) return false;
  auto params = query_params(req.query);
  auto it = params.find("follow");
  return it != params.end() && it->second == "true";
}

}  // namespace

bool ApiHandler::watch(http::Exchange& exchange) {
  const http::Request& req = exchange.request();
  if (req.method != "GET" || !req.path.starts_with(kBase)) return false;
  const bool follow = wants_follow(req);
  if (!follow && !wants_watch(req.query)) return false;
  http::Response response;
  Context ctx{req, response, {}};
  auto answer = [&] {
    int cls = response.status / 100;
    if (cls >= 1 && cls <= 5) requests_[cls].fetch_add(1, std::memory_order_relaxed);
    exchange.respond(std::move(response));
    return true;
  };
  auto caller = authenticate(store_, req.header("Authorization"));
  if (!caller) {
    ctx.fail(401, "a valid bearer token is required (Authorization: Bearer TOKEN)");
    return answer();
  }
  ctx.caller = *caller;
  auto parts = split_path(std::string_view(req.path).substr(kBase.size()));
  for (const auto& p : parts) {
    if (!api::is_dns_label(p)) {
      ctx.fail(404, "no such path: " + req.path);
      return answer();
    }
  }
  if (follow) {
    follow_logs(exchange, ctx, parts);
    return true;
  }
  WatchSpec spec;
  if (std::string error = parse_watch(parts, req.query, &spec); !error.empty()) {
    ctx.fail(400, error);
    return answer();
  }
  // The same answers as a GET of the same path.
  std::string project_name = spec.kind == "Project" ? spec.name : spec.ns;
  if (!project_name.empty()) {
    auto project = store_.get("Project", "", project_name);
    if (project_access(ctx.caller, project ? &*project : nullptr) < Access::kView) {
      ctx.fail(403, "user \"" + ctx.caller.user + "\" has no access to project \"" + project_name +
                        "\"");
      return answer();
    }
  }
  std::call_once(watches_started_, [this] {
    watches_ =
        std::make_unique<WatchHub>(store_, std::chrono::milliseconds(options_.watch_bookmark_ms));
    open_watches_ = watches_.get();
  });
  if (!watches_ || watches_->stopped()) {
    ctx.fail(503, "the API server is stopping");
    return answer();
  }
  requests_[2].fetch_add(1, std::memory_order_relaxed);
  std::string_view authorization = req.header("Authorization");
  std::string token_hash =
      authorization.starts_with("Bearer ") ? hash_token(authorization.substr(7)) : "";
  watches_->add(std::move(exchange), ctx.caller, token_hash, spec);
  return true;
}

void ApiHandler::follow_logs(http::Exchange& exchange, Context& ctx,
                             const std::vector<std::string>& parts) {
  auto answer = [&] {
    int cls = ctx.res.status / 100;
    if (cls >= 1 && cls <= 5) requests_[cls].fetch_add(1, std::memory_order_relaxed);
    exchange.respond(std::move(ctx.res));
  };
  if (parts.size() != 5 || parts[0] != "namespaces" || parts[2] != "sites" || !options_.site_logs) {
    ctx.fail(404, "no such path: " + ctx.req.path);
    return answer();
  }
  const std::string &ns = parts[1], &name = parts[3];
  // The same answers as a GET of the logs.
  auto project = store_.get("Project", "", ns);
  if (project_access(ctx.caller, project ? &*project : nullptr) < Access::kView) {
    ctx.fail(403, "user \"" + ctx.caller.user + "\" has no access to project \"" + ns + "\"");
    return answer();
  }
  if (!project) {
    ctx.fail(404, "project \"" + ns + "\" not found");
    return answer();
  }
  if (!store_.get("Site", ns, name)) {
    ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
    return answer();
  }
  LogsQuery query;
  bool follow = false;
  if (std::string error = parse_logs_query(ctx.req.query, &query, &follow); !error.empty()) {
    ctx.fail(400, error);
    return answer();
  }
  std::call_once(follows_started_, [this] {
    follows_ = std::make_unique<LogFollowers>(store_, options_.site_logs);
    open_follows_ = follows_.get();
  });
  if (!follows_ || follows_->stopped()) {
    ctx.fail(503, "the API server is stopping");
    return answer();
  }
  requests_[2].fetch_add(1, std::memory_order_relaxed);
  std::string_view authorization = ctx.req.header("Authorization");
  std::string token_hash =
      authorization.starts_with("Bearer ") ? hash_token(authorization.substr(7)) : "";
  follows_->add(std::move(exchange), ctx.caller, token_hash, ns, name, query);
}

void ApiHandler::handle(const http::Request& request, http::Response& response) {
  Context ctx{request, response, {}};
  // Every change is audited: reads (GET, HEAD) are not.
  const bool audited =
      options_.audit && request.method != "GET" && request.method != "HEAD" &&
      (request.path.starts_with(kBase) || hooks::PushHookEndpoint::is_hook_path(request.path));
  // What it is about, and its state before, for callers the API knows
  // (a stranger's request reads nothing more than its own answer).
  json subject =
      audited ? audit_subject(request,
                              authenticate(store_, request.header("Authorization")).has_value())
              : json();
  try {
    route(ctx);
  } catch (const std::exception& e) {
    ctx.fail(500, std::string("internal error: ") + e.what());
  }
  if (audited) audit(ctx, subject);
  int cls = response.status / 100;
  if (cls >= 1 && cls <= 5) requests_[cls].fetch_add(1, std::memory_order_relaxed);
}

void ApiHandler::route(Context& ctx) {
  const std::string& path = ctx.req.path;
  const std::string& method = ctx.req.method;
  if (path == "/healthz") {
    ctx.res.set_header("Content-Type", "text/plain");
    ctx.res.body = "ok\n";
    return;
  }
  if (path == "/version") return ctx.send(200, {{"version", options_.version}});
  // Public: what clients need to trust the platform's HTTPS (`wok ca`).
  if (path == "/ca.crt") {
    if (options_.ca_certificate.empty())
      return ctx.fail(404, "this platform has no local CA (wok up --listen-tls \"\")");
    ctx.res.set_header("Content-Type", "application/x-pem-file");
    ctx.res.body = options_.ca_certificate;
    return;
  }
  // The web console: its files need no token (it asks for one, and sends
  // it with every API request it makes).
  if (path == "/" || path == "/console") {
    ctx.res.status = 302;
    ctx.res.set_header("Location", "/console/");
    return;
  }
  if (path.starts_with("/console/")) return console_file(ctx, path.substr(9));
  // A forge cannot send a bearer token: the hook proves itself with its site's secret.
  if (hooks::PushHookEndpoint::is_hook_path(path)) return hooks_.handle(ctx.req, ctx.res);
  bool is_metrics = path == "/metrics";
  if (!is_metrics && !path.starts_with(kBase)) return ctx.fail(404, "no such path: " + path);

  auto caller = authenticate(store_, ctx.req.header("Authorization"));
  if (!caller) {
    return ctx.fail(401, "a valid bearer token is required (Authorization: Bearer TOKEN)");
  }
  ctx.caller = *caller;
  if (is_metrics) {
    // Every project's sites and counters: the platform admin's view only.
    if (!ctx.caller.platform_admin)
      return ctx.fail(403, "only the platform admin may read /metrics");
    ctx.res.set_header("Content-Type", "text/plain; version=0.0.4");
    ctx.res.body = metrics();
    return;
  }

  auto parts = split_path(std::string_view(path).substr(kBase.size()));
  for (const auto& p : parts) {
    if (!api::is_dns_label(p)) return ctx.fail(404, "no such path: " + path);
  }
  size_t n = parts.size();
  if (n == 3 && parts[0] == "projects" && parts[2] == "usage") {
    if (method != "GET") return ctx.fail(405, method + " is not allowed on usage");
    return project_usage(ctx, parts[1]);
  }
  if (n >= 1 && n <= 2 && parts[0] == "projects") return projects(ctx, n == 2 ? parts[1] : "");
  if (n == 1 && parts[0] == "sites") {
    if (method != "GET") return ctx.fail(405, method + " is not allowed here");
    return all_sites(ctx);
  }
  if (n >= 1 && n <= 2 && parts[0] == "tokens") return tokens(ctx, n == 2 ? parts[1] : "");
  if (n == 1 && parts[0] == "whoami") {
    return ctx.send(200, {{"apiVersion", api::kApiVersion},
                          {"kind", "UserInfo"},
                          {"user", ctx.caller.user},
                          {"platformAdmin", ctx.caller.platform_admin}});
  }
  if (n == 1 && parts[0] == "audit" && options_.audit) {
    if (method != "GET") return ctx.fail(405, method + " is not allowed on the audit log");
    return audit_read(ctx);
  }
  if (n == 3 && parts[0] == "namespaces" && parts[2] == "backups" && options_.site_backups) {
    if (method != "GET") return ctx.fail(405, method + " is not allowed here");
    return backups(ctx, parts[1], "", "", false);
  }
  if (n == 6 && parts[0] == "namespaces" && parts[2] == "sites" && parts[4] == "backups" &&
      options_.site_backups) {
    if (method != "GET" && method != "DELETE")
      return ctx.fail(405, method + " is not allowed here");
    return backups(ctx, parts[1], parts[3], parts[5], false);
  }
  if (n >= 3 && n <= 5 && parts[0] == "namespaces" && parts[2] == "sites") {
    return sites(ctx, parts[1], n >= 4 ? parts[3] : "", n == 5 ? parts[4] : "");
  }
  if (n == 3 && parts[0] == "namespaces" && parts[2] == "events") {
    if (method != "GET") return ctx.fail(405, method + " is not allowed on events");
    return events(ctx, parts[1]);
  }
  if (n >= 3 && n <= 4 && parts[0] == "namespaces" && parts[2] == "secrets" && options_.secrets) {
    return secrets(ctx, parts[1], n == 4 ? parts[3] : "");
  }
  ctx.fail(404, "no such path: " + path);
}

void ApiHandler::projects(Context& ctx, const std::string& name) {
  const std::string& method = ctx.req.method;
  if (name.empty()) {
    if (method == "GET") {
      json list = list_head("ProjectList");
      for (auto& p : store_.list("Project")) {
        if (project_access(ctx.caller, &p) >= Access::kView) list["items"].push_back(std::move(p));
      }
      return ctx.send(200, list);
    }
    if (method != "POST") return ctx.fail(405, method + " is not allowed on projects");
  }
  auto current = name.empty() ? std::nullopt : store_.get("Project", "", name);
  Access access = project_access(ctx.caller, current ? &*current : nullptr);
  if (method == "GET") {
    if (access < Access::kView) {
      return ctx.fail(403,
                      "user \"" + ctx.caller.user + "\" may not read project \"" + name + "\"");
    }
    if (!current) return ctx.fail(404, "project \"" + name + "\" not found");
    return ctx.send(200, *current);
  }
  if (!ctx.caller.platform_admin) {
    return ctx.fail(403, "only the platform admin may create, change or delete projects");
  }
  if (method == "DELETE") {
    if (!current) return ctx.fail(404, "project \"" + name + "\" not found");
    if (int64_t sites = store_.count("Site", name); sites > 0) {
      return ctx.fail(409, "project \"" + name + "\" still has " + std::to_string(sites) +
                               " site(s); delete them first");
    }
    // Its secrets and events go with it: a project made later under the
    // same name (other members) never finds them.
    for (const char* kind : {"Secret", "Event"})
      for (const auto& o : store_.list(kind, name))
        store_.remove(kind, name, o["metadata"]["name"]);
    store_.remove("Project", "", name);
    return ctx.send(200, *current);
  }
  if (method != "POST" && method != "PUT")
    return ctx.fail(405, method + " is not allowed on a project");
  json obj;
  if (!ctx.body_object(&obj)) return;
  obj.erase("status");
  auto errors = api::validate_project(obj);
  std::string obj_name = obj.contains("metadata") ? obj["metadata"].value("name", "") : "";
  if (errors.empty() && method == "PUT" && obj_name != name) {
    errors.push_back(
        {"metadata.name", "\"" + obj_name + "\" does not match the path (\"" + name + "\")"});
  }
  if (!errors.empty()) {
    return ctx.fail(422, "Project \"" + obj_name + "\" is invalid: " + api::join_errors(errors),
                    "Invalid", errors);
  }
  if (method == "POST") {
    // Nothing of a deleted namesake's: events a pass recorded after it went.
    for (const auto& o : store_.list("Event", obj_name))
      store_.remove("Event", obj_name, o["metadata"]["name"]);
  }
  store::Result r =
      method == "POST" ? store_.create("Project", obj) : store_.update("Project", obj);
  if (r.code == store::Code::kAlreadyExists)
    return ctx.fail(409, "project \"" + obj_name + "\" already exists", "AlreadyExists");
  if (r.code == store::Code::kNotFound)
    return ctx.fail(404, "project \"" + obj_name + "\" not found");
  if (r.code == store::Code::kConflict) return ctx.fail(409, r.message, "Conflict");
  if (!r.ok()) return ctx.fail(500, r.message);
  ctx.send(method == "POST" ? 201 : 200, *r.object);
}

json ApiHandler::list_head(const char* kind) {
  // The version first, then the objects: a watch from it misses nothing
  // (a change made meanwhile comes again as MODIFIED).
  return {{"apiVersion", api::kApiVersion},
          {"kind", kind},
          {"metadata", {{"resourceVersion", std::to_string(store_.resource_version())}}},
          {"items", json::array()}};
}

void ApiHandler::build_log(Context& ctx, const std::string& ns, const std::string& name) {
  auto site = store_.get("Site", ns, name);
  if (!site) return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  json out = {{"apiVersion", api::kApiVersion}, {"kind", "BuildLog"}};
  // The build under way, as far as it got; else the newest revision's.
  if (auto running = options_.build_output ? options_.build_output(ns, name) : std::nullopt) {
    out["revision"] = running->first;
    out["running"] = true;
    out["log"] = std::move(running->second);
    return ctx.send(200, out);
  }
  auto all = store_.revisions((*site)["metadata"]["uid"].get<std::string>());
  out["running"] = false;
  out["revision"] = all.empty() ? json(nullptr) : json(all.front().number);
  out["log"] = all.empty() ? "" : all.front().log;
  ctx.send(200, out);
}

void ApiHandler::project_usage(Context& ctx, const std::string& name) {
  auto project = store_.get("Project", "", name);
  if (project_access(ctx.caller, project ? &*project : nullptr) < Access::kView) {
    return ctx.fail(403, "user \"" + ctx.caller.user + "\" may not read project \"" + name + "\"");
  }
  if (!project) return ctx.fail(404, "project \"" + name + "\" not found");
  // What admission counts against spec.quota (server/quota.h), summed.
  SiteUsage total;
  int64_t sites = 0;
  for (const auto& site : store_.list("Site", name)) {
    SiteUsage u = site_usage(site.value("spec", json::object()));
    ++sites;
    total.instances += u.instances;
    total.cpu_millis += u.cpu_millis;
    total.memory_bytes += u.memory_bytes;
    total.storage_bytes += u.storage_bytes;
    total.cpu_unlimited |= u.cpu_unlimited;
  }
  ctx.send(200, {{"apiVersion", api::kApiVersion},
                 {"kind", "ProjectUsage"},
                 {"metadata", {{"name", name}}},
                 {"quota", project->value(json::json_pointer("/spec/quota"), json::object())},
                 {"used",
                  {{"sites", sites},
                   {"instances", total.instances},
                   {"cpu", format_cpu(total.cpu_millis)},
                   {"cpuMillis", total.cpu_millis},
                   {"memory", format_bytes(total.memory_bytes)},
                   {"memoryBytes", total.memory_bytes},
                   {"storage", format_bytes(total.storage_bytes)},
                   {"storageBytes", total.storage_bytes}}},
                 {"cpuUnlimited", total.cpu_unlimited}});
}

void ApiHandler::events(Context& ctx, const std::string& ns) {
  auto project = store_.get("Project", "", ns);
  if (project_access(ctx.caller, project ? &*project : nullptr) < Access::kView) {
    return ctx.fail(403,
                    "user \"" + ctx.caller.user + "\" has no access to project \"" + ns + "\"");
  }
  if (!project) return ctx.fail(404, "project \"" + ns + "\" not found");
  WatchSpec filter;
  if (std::string error = parse_watch({"namespaces", ns, "events"}, ctx.req.query, &filter);
      !error.empty())
    return ctx.fail(400, error);
  json list = list_head("EventList");
  for (auto& e : store_.list("Event", ns)) {
    if (!filter.involved.empty() &&
        e.value(json::json_pointer("/involvedObject/name"), "") != filter.involved)
      continue;
    list["items"].push_back(std::move(e));
  }
  // Oldest first, as kubectl prints them: in the order they last happened
  // (each occurrence moves an event's resourceVersion; seconds tie).
  auto version = [](const json& e) {
    return std::stoll(e["metadata"].value("resourceVersion", "0"));
  };
  std::sort(list["items"].begin(), list["items"].end(),
            [&](const json& a, const json& b) { return version(a) < version(b); });
  ctx.send(200, list);
}

void ApiHandler::all_sites(Context& ctx) {
  json list = list_head("SiteList");
  for (const auto& p : store_.list("Project")) {
    if (project_access(ctx.caller, &p) < Access::kView) continue;
    for (auto& s : store_.list("Site", p["metadata"]["name"].get<std::string>()))
      list["items"].push_back(std::move(s));
  }
  ctx.send(200, list);
}

void ApiHandler::sites(Context& ctx, const std::string& ns, const std::string& name,
                       const std::string& sub) {
  const std::string& method = ctx.req.method;
  auto project = store_.get("Project", "", ns);
  Access access = project_access(ctx.caller, project ? &*project : nullptr);
  // Outsiders learn nothing, not even whether the project exists.
  if (access < Access::kView) {
    return ctx.fail(403,
                    "user \"" + ctx.caller.user + "\" has no access to project \"" + ns + "\"");
  }
  if (!project) return ctx.fail(404, "project \"" + ns + "\" not found");
  bool read = method == "GET";
  if (!read && access < Access::kEdit) {
    return ctx.fail(403, "user \"" + ctx.caller.user + "\" may only read project \"" + ns + "\"");
  }
  if (!sub.empty()) {
    if (sub == "revisions" && read) return revisions(ctx, ns, name);
    if (sub == "buildlog" && read) return build_log(ctx, ns, name);
    if (sub == "rollback" && method == "POST") return rollback(ctx, ns, name);
    if (sub == "refresh" && method == "POST") return refresh(ctx, ns, name);
    if (sub == "stats" && read && options_.site_stats) {
      // Same rule as reading the site: viewers of the project may see it.
      if (!store_.get("Site", ns, name)) {
        return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
      }
      int minutes = 15;
      std::string_view query = ctx.req.query;
      if (query.starts_with("minutes=")) {
        std::string_view digits =
            query.substr(8, query.find('&') == std::string_view::npos ? std::string_view::npos
                                                                      : query.find('&') - 8);
        if (digits.empty() || digits.size() > 2 ||
            digits.find_first_not_of("0123456789") != std::string_view::npos) {
          return ctx.fail(400, "minutes must be a whole number from 1 to 15");
        }
        minutes = std::stoi(std::string(digits));
        if (minutes < 1 || minutes > 15)
          return ctx.fail(400, "minutes must be a whole number from 1 to 15");
      }
      return ctx.send(200, options_.site_stats(ns, name, minutes));
    }
    if (sub == "logs" && read && options_.site_logs) return logs(ctx, ns, name);
    if ((sub == "jobrun" && method == "POST") || (sub == "joblogs" && read))
      return jobs(ctx, ns, name, sub);
    if (((sub == "dbdump" && read) || (sub == "dbexec" && method == "POST")) &&
        options_.site_database)
      return database(ctx, ns, name, sub == "dbdump", access >= Access::kEdit);
    if (sub == "dbupgrade" && method == "POST") return database_upgrade(ctx, ns, name);
    if ((sub == "backups" || (sub == "restore" && method == "POST")) && options_.site_backups)
      return backups(ctx, ns, name, "", sub == "restore");
    return ctx.fail(404, "no such path: " + ctx.req.path);
  }
  if (name.empty()) {
    if (read) {
      json list = list_head("SiteList");
      list["items"] = store_.list("Site", ns);
      return ctx.send(200, list);
    }
    if (method == "POST") return create_site(ctx, ns);
    return ctx.fail(405, method + " is not allowed on sites");
  }
  if (read) {
    auto site = store_.get("Site", ns, name);
    if (!site) return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
    return ctx.send(200, *site);
  }
  if (method == "PUT") return replace_site(ctx, ns, name);
  if (method == "DELETE") {
    store::Result r = store_.remove("Site", ns, name);
    if (r.code == store::Code::kNotFound)
      return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
    if (!r.ok()) return ctx.fail(500, r.message);
    return ctx.send(200, *r.object);
  }
  ctx.fail(405, method + " is not allowed on a site");
}

namespace {

// Validation shared by create and replace: schema, path agreement, host
// claims, and a member's local sources (`local_allowed`; nullptr for the
// platform admin, who may use any).
std::vector<api::FieldError> check_site(const json& obj, const json& project, const std::string& ns,
                                        const std::string& path_name,
                                        const std::vector<std::string>* local_allowed) {
  auto errors = api::validate_site(obj);
  if (!errors.empty()) return errors;
  const json& md = obj["metadata"];
  if (md["namespace"] != ns) {
    errors.push_back({"metadata.namespace", "\"" + md["namespace"].get<std::string>() +
                                                "\" does not match the project of the path (\"" +
                                                ns + "\")"});
  }
  if (!path_name.empty() && md["name"] != path_name) {
    errors.push_back({"metadata.name", "does not match the path (\"" + path_name + "\")"});
  }
  for (auto& e : store::host_claim_errors(obj["spec"], project, ns)) errors.push_back(std::move(e));
  if (local_allowed) {
    for (auto& e : local_source_errors(obj["spec"], *local_allowed)) errors.push_back(std::move(e));
  }
  return errors;
}

}  // namespace

// A host held by another site: the owner's project is named only to callers
// who may see that project.
std::string ApiHandler::host_conflict_message(Context& ctx, const store::Result& r) {
  if (r.owner_namespace.empty()) return r.message;  // a stale resourceVersion
  auto owner = store_.get("Project", "", r.owner_namespace);
  if (project_access(ctx.caller, owner ? &*owner : nullptr) >= Access::kView) {
    return r.message + " in project \"" + r.owner_namespace + "\"";
  }
  return r.message.substr(0, r.message.find(" by site")) + " by another project";
}

namespace {

// Who wrote a site's spec last, in its status with the write itself: the
// revision it makes says so.
json writer_of(const Caller& caller) { return {{"changedBy", caller.user}}; }

}  // namespace

void ApiHandler::create_site(Context& ctx, const std::string& ns) {
  json obj;
  if (!ctx.body_object(&obj)) return;
  obj.erase("status");
  if (obj.contains("metadata") && obj["metadata"].is_object() &&
      !obj["metadata"].contains("namespace")) {
    obj["metadata"]["namespace"] = ns;
  }
  auto project = *store_.get("Project", "", ns);
  auto errors = check_site(obj, project, ns, "",
                           ctx.caller.platform_admin ? nullptr : &options_.allowed_local_sources);
  if (errors.empty()) errors = clone_errors(ctx, ns, obj["spec"], nullptr);
  std::string name = obj.contains("metadata") && obj["metadata"].is_object()
                         ? obj["metadata"].value("name", "")
                         : "";
  if (!errors.empty()) {
    return ctx.fail(422, "Site \"" + name + "\" is invalid: " + api::join_errors(errors), "Invalid",
                    errors);
  }
  if (auto over = site_bound_errors(obj["spec"], options_.site_bounds); !over.empty()) {
    return ctx.fail(422, "Site \"" + name + "\" is invalid: " + api::join_errors(over), "Invalid",
                    over);
  }
  if (std::string over = quota_error(project, store_.list("Site", ns), obj); !over.empty()) {
    return ctx.fail(422, over, "Invalid");
  }
  api::default_site(obj);
  const json writer = writer_of(ctx.caller);
  store::Result r = store_.create("Site", obj, &writer);
  if (r.code == store::Code::kAlreadyExists) {
    return ctx.fail(409, "site \"" + name + "\" already exists in project \"" + ns + "\"",
                    "AlreadyExists");
  }
  if (r.code == store::Code::kConflict)
    return ctx.fail(409, host_conflict_message(ctx, r), "Conflict");
  if (!r.ok()) return ctx.fail(500, r.message);
  approve_local_sources(ctx, *r.object);
  ctx.send(201, *r.object);
}

void ApiHandler::replace_site(Context& ctx, const std::string& ns, const std::string& name) {
  json obj;
  if (!ctx.body_object(&obj)) return;
  obj.erase("status");
  auto project = *store_.get("Project", "", ns);
  auto errors = check_site(obj, project, ns, name,
                           ctx.caller.platform_admin ? nullptr : &options_.allowed_local_sources);
  if (errors.empty()) {
    auto before = store_.get("Site", ns, name);
    errors = clone_errors(ctx, ns, obj["spec"], before ? &(*before)["spec"] : nullptr);
    if (before) {
      const json now = (*before)["spec"];
      if (std::string asked = api::keep_database_version(now, obj["spec"]); !asked.empty())
        errors.push_back(
            {"spec.database.version", "\"" + asked + "\": the database runs " +
                                          now["database"]["version"].get<std::string>() +
                                          "; only `wok db upgrade site " + name + " --to " + asked +
                                          "` changes its version"});
    }
  }
  if (!errors.empty()) {
    return ctx.fail(422, "Site \"" + name + "\" is invalid: " + api::join_errors(errors), "Invalid",
                    errors);
  }
  if (auto over = site_bound_errors(obj["spec"], options_.site_bounds); !over.empty()) {
    return ctx.fail(422, "Site \"" + name + "\" is invalid: " + api::join_errors(over), "Invalid",
                    over);
  }
  if (std::string over = quota_error(project, store_.list("Site", ns), obj); !over.empty()) {
    return ctx.fail(422, over, "Invalid");
  }
  api::default_site(obj);
  const json writer = writer_of(ctx.caller);
  store::Result r = store_.update("Site", obj, &writer);
  if (r.code == store::Code::kNotFound)
    return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  if (r.code == store::Code::kConflict)
    return ctx.fail(409, host_conflict_message(ctx, r), "Conflict");
  if (!r.ok()) return ctx.fail(500, r.message);
  approve_local_sources(ctx, *r.object);
  ctx.send(200, *r.object);
}

// The controllers check local sources again before each fetch; the ones
// the platform admin wrote are recorded here (by generation: any later
// change of the spec by a member is checked against the allow-list again).
// The answer carries the approval's resourceVersion (a PUT with it succeeds).
void ApiHandler::approve_local_sources(Context& ctx, json& site) {
  if (!ctx.caller.platform_admin) return;
  if (local_source_errors(site["spec"], {}).empty()) return;  // it has no local source
  store::Result r =
      store_.patch_status("Site", site["metadata"]["namespace"], site["metadata"]["name"],
                          {{kLocalSourcesApproved, site["metadata"]["generation"]}});
  if (r.ok()) site = *r.object;
}

namespace {
json revision_json(const store::Revision& r) {
  return {{"revision", r.number},
          {"generation", r.generation},
          {"commit", r.commit},
          {"spec", json::parse(r.spec, nullptr, false)},
          {"createdAt", r.created_at},
          {"outcome", r.outcome},
          {"message", r.message},
          {"live", r.live},
          {"log", r.log},
          {"cause", r.cause},
          {"author", r.author}};
}
}  // namespace

void ApiHandler::secrets(Context& ctx, const std::string& ns, const std::string& name) {
  auto project = store_.get("Project", "", ns);
  Access access = project_access(ctx.caller, project ? &*project : nullptr);
  if (access < Access::kView) {  // as for sites: outsiders learn nothing
    return ctx.fail(403,
                    "user \"" + ctx.caller.user + "\" has no access to project \"" + ns + "\"");
  }
  if (!project) return ctx.fail(404, "project \"" + ns + "\" not found");
  SecretAnswer a = handle_secret_request(
      *options_.secrets, {ctx.req.method, ns, name, std::string(ctx.req.query), ctx.req.body,
                          ctx.caller.user, access});
  if (a.code >= 400)
    return ctx.fail(a.code, a.message, a.reason.empty() ? nullptr : a.reason.c_str(), a.causes);
  ctx.send(a.code, a.body);
}

void ApiHandler::revisions(Context& ctx, const std::string& ns, const std::string& name) {
  auto site = store_.get("Site", ns, name);
  if (!site) return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  json items = json::array();
  for (const auto& r : store_.revisions((*site)["metadata"]["uid"]))
    items.push_back(revision_json(r));
  ctx.send(200, {{"apiVersion", api::kApiVersion}, {"kind", "RevisionList"}, {"items", items}});
}

void ApiHandler::rollback(Context& ctx, const std::string& ns, const std::string& name) {
  auto site = store_.get("Site", ns, name);
  if (!site) return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  json body = json::object();
  if (!ctx.req.body.empty() && !ctx.body_object(&body)) return;
  int64_t to = body.value("toRevision", int64_t{0});
  std::string uid = (*site)["metadata"]["uid"];
  auto all = store_.revisions(uid);  // newest first
  std::optional<store::Revision> target;
  if (to > 0) {
    for (const auto& r : all)
      if (r.number == to) target = r;
    if (!target)
      return ctx.fail(404, "site \"" + name + "\" has no revision " + std::to_string(to));
    if (target->outcome != "Deployed") {
      return ctx.fail(422, "revision " + std::to_string(to) + " never deployed (" +
                               target->outcome + "); choose one from `wok rollout history`");
    }
  } else {
    bool past_live = false;
    for (const auto& r : all) {
      if (r.live) {
        past_live = true;
        continue;
      }
      if (past_live && r.outcome == "Deployed") {
        target = r;
        break;
      }
    }
    if (!target)
      return ctx.fail(422,
                      "site \"" + name + "\" has no earlier deployed revision to roll back to");
  }
  json old_spec = json::parse(target->spec, nullptr, false);
  if (!old_spec.is_object())
    return ctx.fail(500, "revision " + std::to_string(target->number) + " is unreadable");
  api::keep_database_version((*site)["spec"], old_spec);  // never downgraded
  if (!admissible_past_spec(ctx, ns, name, old_spec,
                            "cannot roll back to revision " + std::to_string(target->number)))
    return;
  // Pin first, then restore the spec: the controller honours the pin only
  // while the spec equals the pinned revision's, so a crash in between is harmless.
  store_.patch_status("Site", ns, name,
                      {{"pinnedRevision", target->number},
                       {"pinnedCommit", target->commit},
                       {"pinnedBy", ctx.caller.user},
                       {"restoredSpec", nullptr},
                       {"restoredCommit", nullptr}});
  json next = *site;
  next["spec"] = std::move(old_spec);
  next["metadata"].erase("resourceVersion");
  const json writer = writer_of(ctx.caller);
  store::Result r = store_.update("Site", next, &writer);
  if (r.code == store::Code::kConflict) {
    return ctx.fail(409,
                    "cannot roll back: " + r.message + " (a host of revision " +
                        std::to_string(target->number) + " is now served by another site)",
                    "Conflict");
  }
  if (!r.ok()) return ctx.fail(500, r.message);
  approve_local_sources(ctx, *r.object);
  json out = *r.object;
  out["status"]["pinnedRevision"] = target->number;
  ctx.send(200, out);
}

bool ApiHandler::admissible_past_spec(Context& ctx, const std::string& ns, const std::string& name,
                                      const json& spec, const std::string& what) {
  // Through today's claim check: the project's host patterns may have shrunk since.
  auto project = store_.get("Project", "", ns);
  if (!project) {
    ctx.fail(404, "project \"" + ns + "\" not found");
    return false;
  }
  auto errors = store::host_claim_errors(spec, *project, ns);
  if (!ctx.caller.platform_admin) {  // nor around the allow-list of local sources
    for (auto& e : local_source_errors(spec, options_.allowed_local_sources))
      errors.push_back(std::move(e));
  }
  for (auto& e : site_bound_errors(spec, options_.site_bounds)) errors.push_back(std::move(e));
  if (!errors.empty()) {
    ctx.fail(422, what + ": " + api::join_errors(errors), "Invalid", errors);
    return false;
  }
  if (std::string over = quota_error(*project, store_.list("Site", ns),
                                     {{"metadata", {{"name", name}}}, {"spec", spec}});
      !over.empty()) {
    ctx.fail(422, what + ": " + over, "Invalid");
    return false;
  }
  return true;
}

std::vector<api::FieldError> ApiHandler::clone_errors(Context& ctx, const std::string& ns,
                                                      const json& spec, const json* before) {
  if (!spec.contains("cloneFrom") || !spec["cloneFrom"].is_object()) return {};
  const std::string source = spec["cloneFrom"].value("project", ns);
  if (source == ns) return {};
  if (before && before->contains("cloneFrom") && (*before)["cloneFrom"] == spec["cloneFrom"])
    return {};
  auto project = store_.get("Project", "", source);
  // Outsiders learn nothing of the other project, not even whether it exists.
  if (project_access(ctx.caller, project ? &*project : nullptr) < Access::kEdit)
    return {{"spec.cloneFrom.project", "user \"" + ctx.caller.user +
                                           "\" may not clone from project \"" + source +
                                           "\" (developers and admins of it only)"}};
  return {};
}

void ApiHandler::backups(Context& ctx, const std::string& ns, const std::string& site,
                         const std::string& id, bool restore) {
  auto project = store_.get("Project", "", ns);
  Access access = project_access(ctx.caller, project ? &*project : nullptr);
  if (access < Access::kView)
    return ctx.fail(403,
                    "user \"" + ctx.caller.user + "\" has no access to project \"" + ns + "\"");
  if (!project) return ctx.fail(404, "project \"" + ns + "\" not found");
  // A backup is every file and row of a site: as its database, not for viewers.
  if (access < Access::kEdit)
    return ctx.fail(403, "user \"" + ctx.caller.user + "\" may only read project \"" + ns +
                             "\"; its backups are for developers and admins");
  auto send = [&](const BackupAnswer& a, int ok_status) {
    if (a.status != 200) return ctx.fail(a.status, a.error);
    ctx.send(ok_status, a.body);
  };
  BackupRequest q;
  q.ns = ns;
  q.site = site;
  if (ctx.req.method == "DELETE") {
    // What survives a mistake (a site deleted, a bad restore): the
    // project's admins decide when it goes, not every developer.
    if (access < Access::kAdmin)
      return ctx.fail(403, "user \"" + ctx.caller.user + "\" may not delete backups of project \"" +
                               ns + "\" (its admins only)");
    q.verb = BackupRequest::kDelete;
    q.backup = id;
    return send(options_.site_backups(q), 200);
  }
  if (!restore && ctx.req.method == "GET") {
    q.verb = id.empty() ? BackupRequest::kList : BackupRequest::kShow;
    q.backup = id;
    BackupAnswer a = options_.site_backups(q);
    if (a.status == 200 && q.verb == BackupRequest::kList && a.body.contains("items")) {
      for (json& item : a.body["items"]) {  // a site gone, or made again since
        auto now = store_.get("Site", ns, item.value("site", ""));
        item["siteDeleted"] =
            !now || (*now)["metadata"].value("uid", "") != item.value("siteUid", "");
      }
    }
    return send(a, 200);
  }
  auto current = store_.get("Site", ns, site);
  if (!current)
    return ctx.fail(404, "site \"" + site + "\" not found in project \"" + ns + "\"" +
                             (restore ? " (a deleted site's backup is restored into a new site: "
                                        "wok backup restore site " +
                                            site + " --to NEW)"
                                      : ""));
  if (!restore) {
    q.verb = BackupRequest::kCreate;
    return send(options_.site_backups(q), 201);
  }
  json body = json::object();
  if (!ctx.req.body.empty() && !ctx.body_object(&body)) return;
  if (body.contains("backup") && !body["backup"].is_string())
    return ctx.fail(400, "backup must be a backup id or \"latest\"");
  q.backup = body.value("backup", "latest");
  q.site_uid = (*current)["metadata"].value("uid", "");
  q.verb = BackupRequest::kShow;
  BackupAnswer shown = options_.site_backups(q);
  if (shown.status != 200) return ctx.fail(shown.status, shown.error);
  const json& spec = shown.body["spec"];
  if (!spec.is_object()) return ctx.fail(500, "the backup holds no spec");
  const std::string what = "cannot restore backup " + shown.body.value("id", q.backup);
  if (!admissible_past_spec(ctx, ns, site, spec, what)) return;
  // Its spec's cloneFrom (another project's site) is checked as if written now.
  if (auto errors = clone_errors(ctx, ns, spec, &(*current)["spec"]); !errors.empty())
    return ctx.fail(422, what + ": " + api::join_errors(errors), "Invalid", errors);
  q.verb = BackupRequest::kRestore;
  q.backup = shown.body.value("id", q.backup);
  send(options_.site_backups(q), 200);
}

void ApiHandler::refresh(Context& ctx, const std::string& ns, const std::string& name) {
  store::Result r = request_site_refresh(store_, ns, name);  // as a push webhook does
  if (r.code == store::Code::kNotFound) return ctx.fail(404, r.message);
  if (!r.ok()) return ctx.fail(500, r.message);
  ctx.send(202, *r.object);
}

// A run of a job now, as `kubectl create job --from=cronjob/NAME`: one more
// request in status.jobRequests, which the job controller runs once (with
// the job's concurrencyPolicy). Members who may edit the project only.
void ApiHandler::jobs(Context& ctx, const std::string& ns, const std::string& name,
                      const std::string& sub) {
  auto site = store_.get("Site", ns, name);
  if (!site) return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  std::string job, tail_text = "100";
  for (std::string_view q = ctx.req.query; !q.empty();) {
    std::string_view pair = q.substr(0, q.find('&'));
    if (pair.starts_with("job=")) job = pair.substr(4);
    if (pair.starts_with("tail=")) tail_text = pair.substr(5);
    q.remove_prefix(std::min(q.size(), pair.size() + 1));
  }
  bool declared = false;
  for (const auto& j : api::app_jobs((*site).value("spec", json::object())))
    declared = declared || j.name == job;
  if (!api::is_dns_label(job) || !declared) {
    return ctx.fail(400, "site \"" + name + "\" has no job \"" + job + "\" in spec.app.jobs");
  }
  if (sub == "joblogs") {
    if (!options_.job_logs) return ctx.fail(404, "job logs are not kept on this platform");
    if (tail_text.empty() || tail_text.size() > 5 ||
        tail_text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(tail_text) > 10000) {
      return ctx.fail(400, "tail must be a whole number from 0 to 10000");
    }
    return ctx.send(200, options_.job_logs(ns, name, job, std::stoi(tail_text)));
  }
  const json& requests = (*site)["status"].value("jobRequests", json::object());
  int64_t n = requests.is_object() && requests.contains(job) && requests[job].is_number_integer()
                  ? requests[job].get<int64_t>() + 1
                  : 1;
  store::Result r = store_.patch_status("Site", ns, name, {{"jobRequests", {{job, n}}}});
  if (!r.ok()) return ctx.fail(500, r.message);
  ctx.send(202, *r.object);
}

bool ApiHandler::may_run_long(const http::Request& request) {
  std::string ns;
  if (!is_long_running(request, &ns)) return false;
  auto caller = authenticate(store_, request.header("Authorization"));
  if (!caller) return false;
  auto project = store_.get("Project", "", ns);
  if (!project || project_access(*caller, &*project) < Access::kEdit) return false;
  auto parts = split_path(std::string_view(request.path).substr(kBase.size()));
  for (const auto& p : parts)
    if (!api::is_dns_label(p)) return false;
  // A deleted site's backups are still listed and restored from.
  if (parts.size() == 3 || parts[4] == "backups" || parts[4] == "restore") return true;
  return store_.get("Site", ns, parts[3]).has_value();
}

void ApiHandler::database(Context& ctx, const std::string& ns, const std::string& name, bool dump,
                          bool may_edit) {
  // A dump is every row the site keeps: not for viewers, as a write is not.
  if (!may_edit) {
    return ctx.fail(403, "user \"" + ctx.caller.user + "\" may only read project \"" + ns +
                             "\"; its database is for developers and admins");
  }
  auto site = store_.get("Site", ns, name);
  if (!site) return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  base::UniqueFd upload;  // the whole of an upload in parts, to run
  if (!dump && query_params(ctx.req.query).count("upload") &&
      !sql_upload_part(ctx, ns, name, (*site)["spec"], &upload))
    return;  // a part kept, or refused: answered
  DatabaseAnswer answer = options_.site_database(
      ns, name, dump, upload.valid() ? std::string() : ctx.req.body, upload.get());
  if (answer.status != 200) {
    if (answer.fd >= 0) ::close(answer.fd);
    return ctx.fail(answer.status, answer.error);
  }
  ctx.res.status = 200;
  ctx.res.set_header("Content-Type", dump ? "application/sql" : "text/plain; charset=utf-8");
  ctx.res.file_fd = answer.fd;
  ctx.res.file_offset = 0;
  ctx.res.file_length = answer.length;
}

namespace {

constexpr int64_t kMaxSqlUploadBytes = 4ll << 30;
constexpr int kMaxSqlUploadsPerProject = 2;
constexpr auto kSqlUploadAbandoned = std::chrono::hours(1);

// What base::random_token(16) makes: 16 bytes as 22 characters of
// base64url (no dot, no slash).
bool is_upload_id(const std::string& id) {
  return id.size() == 22 && base::base64url_decode(id).has_value();
}

}  // namespace

// A part of `wok db import`'s SQL over the body limit (ApiOptions::
// upload_dir): appended at its offset (a part sent again, or out of
// order, is refused with what is held); true with *fd the whole, its file
// already unlinked, once the part says done=1.
bool ApiHandler::sql_upload_part(Context& ctx, const std::string& ns, const std::string& name,
                                 const json& spec, base::UniqueFd* fd) {
  namespace fs = std::filesystem;
  auto params = query_params(ctx.req.query);
  const std::string id = params["upload"];
  int64_t offset = 0;
  if (options_.upload_dir.empty()) {
    ctx.fail(404, "this API server takes no SQL in parts");
    return false;
  }
  if (!is_upload_id(id) || !parse_count(params["offset"], kMaxSqlUploadBytes, &offset) ||
      (params.count("done") && params["done"] != "1")) {
    ctx.fail(400, "an upload is upload=ID (22 characters of base64url)&offset=BYTES[&done=1]");
    return false;
  }
  std::error_code ec;
  fs::create_directories(options_.upload_dir, ec);
  fs::permissions(options_.upload_dir, fs::perms::owner_all, ec);
  const std::string prefix = ns + "." + name + ".";  // labels: no dot within
  const fs::path path = options_.upload_dir / (prefix + id);
  if (offset == 0) {
    // A new upload: the abandoned ones go, and a project keeps few at once.
    int held = 0;
    const auto now = fs::file_time_type::clock::now();
    for (const auto& e : fs::directory_iterator(options_.upload_dir, ec)) {
      std::error_code ignored;
      if (now - e.last_write_time(ignored) > kSqlUploadAbandoned) {
        fs::remove(e.path(), ignored);
        continue;
      }
      if (e.path().filename().string().starts_with(ns + ".") && e.path() != path) ++held;
    }
    if (held >= kMaxSqlUploadsPerProject) {
      ctx.fail(429, "project \"" + ns + "\" has " + std::to_string(held) +
                        " SQL uploads under way; one ends when its last part is sent, or after "
                        "an hour without one");
      return false;
    }
  }
  base::UniqueFd f(
      ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | (offset == 0 ? O_CREAT : 0), 0600));
  if (!f.valid() && errno == ENOENT) {
    ctx.fail(409, "upload " + id + " is unknown or ended: an upload starts at offset 0");
    return false;
  }
  if (!f.valid()) {
    ctx.fail(500, "cannot keep the SQL: " + std::string(std::strerror(errno)));
    return false;
  }
  struct stat st {};
  ::fstat(f.get(), &st);
  auto refuse = [&](int status, const std::string& message) {
    ctx.fail(status, message);
    return false;
  };
  if (st.st_size != offset)
    return refuse(409, "upload " + id + " holds " + std::to_string(st.st_size) +
                           " bytes: the next part starts there, not at " + std::to_string(offset));
  // Bounded by what the database could hold (twice its volume; the
  // project's quota bounds that), and 4 GiB: the host's disk is not a
  // member's to fill.
  int64_t limit = kMaxSqlUploadBytes;
  const json db = spec.value("database", json::object());
  if (db.is_object() && db.contains("size") && db["size"].is_string())
    limit = std::min(
        limit,
        std::max<int64_t>(64ll << 20, 2 * api::parse_memory_bytes(db["size"].get<std::string>())));
  if (offset + static_cast<int64_t>(ctx.req.body.size()) > limit) {
    ::unlink(path.c_str());
    return refuse(413, "SQL over " + std::to_string(limit >> 20) +
                           " MiB is not taken in one import (twice the database's size, at most "
                           "4 GiB)");
  }
  if (::lseek(f.get(), 0, SEEK_END) != offset || !base::write_all(f.get(), ctx.req.body)) {
    ::unlink(path.c_str());
    return refuse(500, "cannot keep the SQL: " + std::string(std::strerror(errno)));
  }
  if (!params.count("done")) {
    ctx.send(200, {{"kind", "SqlUpload"},
                   {"upload", id},
                   {"received", offset + static_cast<int64_t>(ctx.req.body.size())}});
    return false;
  }
  ::unlink(path.c_str());         // runs once, and leaves nothing whatever happens next
  ::lseek(f.get(), 0, SEEK_SET);  // handed over at its start
  *fd = std::move(f);
  return true;
}

// POST .../sites/{name}/dbupgrade {"version": "15"}: the one way a
// database changes version (keep_database_version holds it otherwise). A
// new revision of the site runs the newer server, whose first start
// upgrades the data (runtime/database.h); never to an older version.
void ApiHandler::database_upgrade(Context& ctx, const std::string& ns, const std::string& name) {
  json body;
  if (!ctx.body_object(&body)) return;
  const std::string to =
      body.contains("version") && body["version"].is_string() ? body["version"] : "";
  auto site = store_.get("Site", ns, name);
  if (!site) return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  const json& spec = (*site)["spec"];
  if (!spec.contains("database") || !spec["database"].is_object())
    return ctx.fail(404, "site \"" + name + "\" has no database (spec.database)");
  // A restore under way writes the spec it restores when it ends.
  if (const json& st = (*site)["status"];
      st.is_object() && st.contains("restoring") && !st["restoring"].is_null())
    return ctx.fail(409, "site \"" + name + "\" is being restored: upgrade its database after",
                    "Conflict");
  const std::string engine = spec["database"].value("engine", "");
  const std::string now = spec["database"].value("version", "");
  const std::vector<std::string> offered = api::database_versions(engine);
  const std::string list = join(offered);
  if (to.empty())
    return ctx.fail(
        422, "say the version to upgrade to (this platform runs " + engine + " " + list + ")");
  if (std::find(offered.begin(), offered.end(), to) == offered.end())
    return ctx.fail(
        422, "\"" + to + "\" is not a version of " + engine + " this platform runs (" + list + ")");
  if (api::compare_versions(to, now) == 0)
    return ctx.fail(422,
                    "site \"" + name + "\"'s database runs " + engine + " " + now + " already");
  // Back to the version the live revision runs: an upgrade that never
  // deployed (its revision failed: no room, an extension the new version
  // lacks) is called off, the data being still that version's.
  bool calls_off = false;
  if (auto live = store_.live_revision((*site)["metadata"].value("uid", ""))) {
    json live_spec = json::parse(live->spec, nullptr, false);
    calls_off = live_spec.is_object() && live_spec.contains("database") &&
                live_spec["database"].is_object() &&
                live_spec["database"].value("engine", "") == engine &&
                live_spec["database"].value("version", "") == to;
  }
  if (api::compare_versions(to, now) < 0 && !calls_off)
    return ctx.fail(422, "site \"" + name + "\"'s database runs " + engine + " " + now +
                             "; it is never downgraded to " + to +
                             " (a dump imported into a new site is the way back)");
  json next = *site;
  next["spec"]["database"]["version"] = to;
  next["metadata"].erase("resourceVersion");
  const json writer = writer_of(ctx.caller);
  store::Result r = store_.update("Site", next, &writer);
  if (!r.ok()) return ctx.fail(r.code == store::Code::kConflict ? 409 : 500, r.message);
  ctx.send(200, *r.object);
}

std::string parse_logs_query(std::string_view query_string, LogsQuery* query, bool* follow) {
  auto params = query_params(query_string);
  query->component = params["component"];
  if (!query->component.empty() && !api::is_dns_label(query->component))
    return "component \"" + query->component + "\" is not a valid component name";
  if (params.count("tail")) {
    int64_t tail = 0;
    if (!parse_count(params["tail"], 10000, &tail))
      return "tail must be a whole number from 0 to 10000";
    query->tail = static_cast<int>(tail);
  }
  for (auto [flag, out] : {std::pair{"previous", &query->previous}, std::pair{"follow", follow}}) {
    if (!params.count(flag)) continue;
    if (params[flag] != "true" && params[flag] != "false")
      return std::string(flag) + " must be true or false";
    *out = params[flag] == "true";
  }
  if (query->previous && *follow)
    return "previous=true cannot be followed: that run is over (leave out follow)";
  std::string_view from = params["from"];
  while (!from.empty()) {  // ID:STREAM:OFFSET,...
    std::string_view item = from.substr(0, from.find(','));
    size_t colon = item.rfind(':');
    int64_t offset = 0;
    if (colon == std::string_view::npos ||
        !parse_count(std::string(item.substr(colon + 1)), INT64_MAX / 2, &offset)) {
      return "from must be a list of INSTANCE:STREAM:OFFSET";
    }
    query->from[std::string(item.substr(0, colon))] = offset;
    from.remove_prefix(std::min(from.size(), item.size() + 1));
  }
  return "";
}

void ApiHandler::logs(Context& ctx, const std::string& ns, const std::string& name) {
  if (!store_.get("Site", ns, name))
    return ctx.fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  LogsQuery query;
  bool follow = false;
  if (std::string error = parse_logs_query(ctx.req.query, &query, &follow); !error.empty())
    return ctx.fail(400, error);
  // A follow is a stream (watch()); here only if the server has no loop for it.
  if (follow) return ctx.fail(400, "follow=true is answered as a stream only");
  ctx.send(200, options_.site_logs(ns, name, query));
}

// POST /tokens {user, name?}: a new token, shown once. GET /tokens: names,
// users, creation and last use (never the tokens: only their hashes are
// kept). DELETE /tokens/NAME revokes one. All for the platform admin only.
void ApiHandler::tokens(Context& ctx, const std::string& name) {
  const std::string& method = ctx.req.method;
  if (!ctx.caller.platform_admin) return ctx.fail(403, "only the platform admin may manage tokens");
  if (!name.empty()) {
    if (method != "DELETE") return ctx.fail(405, method + " is not allowed on a token");
    if (!store_.revoke_token(name)) {
      return ctx.fail(404,
                      "token \"" + name + "\" not found (the platform admin's cannot be revoked)");
    }
    return ctx.send(
        200,
        {{"kind", "Status"}, {"status", "Success"}, {"message", "token \"" + name + "\" revoked"}});
  }
  if (method == "GET") {
    json items = json::array();
    for (const auto& t : store_.tokens()) {
      items.push_back({{"name", t.name},
                       {"user", t.user},
                       {"platformAdmin", t.platform_admin},
                       {"createdAt", t.created_at},
                       {"lastUsed", t.last_used.empty() ? json(nullptr) : json(t.last_used)}});
    }
    return ctx.send(200, {{"kind", "TokenList"}, {"items", items}});
  }
  if (method != "POST") return ctx.fail(405, method + " is not allowed on tokens");
  json body;
  if (!ctx.body_object(&body)) return;
  std::string user = body.value("user", "");
  if (!api::is_dns_label(user)) {
    return ctx.fail(422,
                    "\"" + user + "\" is not a valid user name (lowercase letters, digits, '-')",
                    "Invalid", {{"user", "is not a valid user name"}});
  }
  std::string token_name =
      body.contains("name") && body["name"].is_string() ? body["name"].get<std::string>() : "";
  if (!token_name.empty() && !api::is_dns_label(token_name)) {
    return ctx.fail(
        422, "\"" + token_name + "\" is not a valid token name (lowercase letters, digits, '-')",
        "Invalid", {{"name", "is not a valid token name"}});
  }
  if (!token_name.empty() && store_.token_name_taken(token_name)) {
    return ctx.fail(409, "a token named \"" + token_name + "\" exists already", "AlreadyExists");
  }
  std::string token = new_token();
  std::string hash = hash_token(token);
  store_.add_token(user, hash, false, token_name);
  ctx.send(201, {{"user", user},
                 {"name", token_name.empty() ? user + "-" + hash.substr(0, 8) : token_name},
                 {"token", token}});
}

std::string ApiHandler::metrics() const {
  std::ostringstream out;
  out << "# HELP wok_api_requests_total API requests answered, by status class.\n"
      << "# TYPE wok_api_requests_total counter\n";
  for (int c = 1; c <= 5; ++c) {
    out << "wok_api_requests_total{code=\"" << c << "xx\"} " << requests_[c].load() << "\n";
  }
  out << "# HELP wok_objects Objects in the store.\n# TYPE wok_objects gauge\n"
      << "wok_objects{kind=\"Project\"} " << store_.list("Project").size() << "\n";
  size_t sites = 0;
  for (const auto& p : store_.list("Project")) sites += store_.count("Site", p["metadata"]["name"]);
  out << "wok_objects{kind=\"Site\"} " << sites << "\n";
  out << "# HELP wok_audit_suppressed_total Refusals of unauthenticated requests not written to "
         "the audit log (over 20 a minute from one address).\n"
      << "# TYPE wok_audit_suppressed_total counter\n"
      << "wok_audit_suppressed_total " << audit_suppressed_.load() << "\n";
  WatchHub* watches = open_watches_.load();
  out << "# HELP wok_api_watches Open watch streams.\n# TYPE wok_api_watches gauge\n"
      << "wok_api_watches " << (watches ? watches->watchers() : 0) << "\n";
  LogFollowers* follows = open_follows_.load();
  out << "# HELP wok_api_log_follows Open streams of site logs (follow=true).\n"
      << "# TYPE wok_api_log_follows gauge\n"
      << "wok_api_log_follows " << (follows ? follows->followers() : 0) << "\n";
  out << hooks_.metrics();
  if (options_.extra_metrics) out << options_.extra_metrics();
  return out.str();
}

namespace {

// What of an object a change is about: its spec, labels and annotations
// (status and versions move by themselves).
json changeable(const std::optional<json>& object) {
  if (!object) return nullptr;
  json out = {{"spec", object->value("spec", json())}};
  const json& md = (*object)["metadata"];
  for (const char* k : {"labels", "annotations"})
    if (md.contains(k)) out["metadata"][k] = md[k];
  return out;
}

// A body worth keeping whole: small JSON of a verb (rollback's toRevision,
// a token's user and name). Never SQL, secrets' values or a site's YAML
// (its change is the diff).
constexpr size_t kMaxAuditedBody = 4096;
constexpr size_t kMaxAuditedChange = 16384;

}  // namespace

json ApiHandler::audit_subject(const http::Request& request, bool known_caller) {
  json s = {{"kind", ""}, {"namespace", ""}, {"name", ""}, {"subresource", ""}};
  std::string_view path = request.path;
  if (hooks::PushHookEndpoint::is_hook_path(path)) {
    // /hooks/v1/projects/{ns}/sites/{name}
    auto parts = split_path(path);
    s["kind"] = "Site";
    s["subresource"] = "hook";
    if (parts.size() == 6) {
      s["namespace"] = parts[3];
      s["name"] = parts[5];
    }
    return s;
  }
  auto parts = split_path(path.substr(kBase.size()));
  for (const auto& p : parts)
    if (!api::is_dns_label(p)) return s;
  size_t n = parts.size();
  if (n >= 1 && parts[0] == "projects") {
    s["kind"] = "Project";
    if (n == 2) s["name"] = parts[1];
  } else if (n >= 1 && parts[0] == "tokens") {
    s["kind"] = "Token";
    if (n == 2) s["name"] = parts[1];
  } else if (n >= 3 && parts[0] == "namespaces") {
    s["namespace"] = parts[1];
    s["kind"] = parts[2] == "sites"     ? "Site"
                : parts[2] == "secrets" ? "Secret"
                : parts[2] == "backups" ? "Backup"
                : parts[2] == "events"  ? "Event"
                                        : parts[2];
    if (n >= 4) s["name"] = parts[3];
    if (n >= 5) s["subresource"] = parts[4];
    if (n == 6 && parts[4] == "backups") s["backup"] = parts[5];
  }
  const std::string kind = s["kind"], ns = s["namespace"], name = s["name"];
  const std::string sub = s["subresource"];
  if (!known_caller) return s;
  // The state before, to say what changed: of objects whose spec a verb
  // replaces; a secret's keys (never its values).
  if ((kind == "Site" || kind == "Project") && !name.empty() &&
      (sub.empty() || sub == "rollback" || sub == "restore" || sub == "dbupgrade"))
    s["before"] = changeable(store_.get(kind, kind == "Site" ? ns : "", name));
  if (kind == "Secret" && !name.empty() && options_.secrets) {
    auto d = options_.secrets->describe(ns, name);
    s["before"] = d ? d->value("keys", json()) : json();
  }
  return s;
}

void ApiHandler::audit(Context& ctx, const json& subject) {
  const http::Request& req = ctx.req;
  const int code = ctx.res.status;
  const std::string kind = subject.value("kind", ""), ns = subject.value("namespace", "");
  const std::string sub = subject.value("subresource", "");
  std::string name = subject.value("name", "");
  const std::string verb = sub == "backups" && req.method == "DELETE" ? "delete-backup"
                           : !sub.empty()                             ? sub
                           : req.method == "POST"                     ? "create"
                           : req.method == "PUT"                      ? "update"
                           : req.method == "DELETE"                   ? "delete"
                                                                      : req.method;
  json entry = {{"time", store::now_rfc3339()},
                {"user", ctx.caller.user},
                {"sourceIP", req.remote_addr},
                {"verb", verb},
                {"method", req.method},
                {"path", req.path},
                {"kind", kind},
                {"namespace", ns},
                {"name", name},
                {"code", code},
                {"decision", code == 401 || code == 403 ? "refused" : "allowed"}};
  if (ctx.caller.platform_admin) entry["platformAdmin"] = true;
  if (subject.contains("backup")) entry["change"] = {{"backup", subject["backup"]}};
  if (code >= 400) {
    json status = json::parse(ctx.res.body, nullptr, false);
    // A failed statement's message quotes the statement: not kept.
    if (sub == "dbexec" || sub == "dbdump")
      entry["message"] = code == 422 ? "the SQL failed" : "refused";
    else if (status.is_object())
      entry["message"] = status.value("message", "");
  }
  // Strangers' refusals are counted, not all kept: a flood of them would
  // rotate away what members did. 20 a minute per address are written.
  if (code == 401) {
    std::lock_guard lock(audit_mu_);
    const int64_t minute = std::chrono::duration_cast<std::chrono::minutes>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    if (refused_by_address_.size() > 10000) refused_by_address_.clear();
    auto& [at, count] = refused_by_address_[req.remote_addr];
    if (at != minute) {
      at = minute;
      count = 0;
    }
    if (++count > 20) {
      audit_suppressed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  // What changed, when it did.
  if (code < 300) {
    if (name.empty() && (kind == "Site" || kind == "Project") && sub.empty()) {
      // A create: the name is the new object's.
      json made = json::parse(ctx.res.body, nullptr, false);
      if (made.is_object()) {
        name = made.value(json::json_pointer("/metadata/name"), "");
        entry["name"] = name;
      }
    }
    if ((kind == "Site" || kind == "Project") &&
        (sub.empty() || sub == "rollback" || sub == "restore" || sub == "dbupgrade")) {
      json after = req.method == "DELETE"
                       ? json()
                       : changeable(store_.get(kind, kind == "Site" ? ns : "", name));
      json before = subject.value("before", json());
      json change = json::diff(before.is_null() ? json::object() : before,
                               after.is_null() ? json::object() : after);
      // A large spec's change is summed up: its operations' paths, not values.
      if (change.dump().size() > kMaxAuditedChange) {
        json paths = json::array();
        for (const auto& op : change) {
          if (paths.size() >= 100) break;
          paths.push_back(op.value("op", "") + " " + op.value("path", ""));
        }
        change = {{"truncated", true}, {"operations", change.size()}, {"paths", paths}};
      }
      entry["change"] = std::move(change);
    } else if (kind == "Secret" && options_.secrets) {
      std::optional<json> d;
      if (!name.empty()) d = options_.secrets->describe(ns, name);
      entry["change"] = {{"keysBefore", subject.value("before", json())},
                         {"keysAfter", d ? d->value("keys", json()) : json()}};
    }
  }
  // A verb's own small request (not SQL, not a secret, not an object:
  // those are summed up above).
  if (kind != "Secret" && sub != "dbexec" && sub != "hook" && !(sub.empty() && kind != "Token") &&
      !req.body.empty() && req.body.size() <= kMaxAuditedBody) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_object()) entry["request"] = body;
  }
  if (sub == "dbexec") entry["requestBytes"] = req.body.size();
  options_.audit->append(entry);
}

void ApiHandler::audit_read(Context& ctx) {
  if (!ctx.caller.platform_admin)
    return ctx.fail(403, "only the platform admin may read the audit log");
  AuditQuery q;
  for (const auto& [key, value] : query_params(ctx.req.query)) {
    if (key == "user") {
      q.user = value;
    } else if (key == "namespace") {
      q.ns = value;
    } else if (key == "limit") {
      int64_t limit = 0;
      if (!parse_count(value, 100000, &limit) || limit < 1)
        return ctx.fail(400, "limit must be a whole number from 1 to 100000");
      q.limit = static_cast<size_t>(limit);
    }
  }
  json items = json::array();
  for (auto& e : options_.audit->read(q)) items.push_back(std::move(e));
  ctx.send(200, {{"apiVersion", api::kApiVersion}, {"kind", "AuditEventList"}, {"items", items}});
}

void ApiHandler::console_file(Context& ctx, std::string_view name) {
  if (ctx.req.method != "GET" && ctx.req.method != "HEAD")
    return ctx.fail(405, ctx.req.method + " is not allowed on the console");
  if (name.empty()) name = "index.html";
  for (const auto& asset : console_assets()) {
    if (asset.name != name) continue;
    ctx.res.status = 200;
    ctx.res.set_header("Content-Type", std::string(asset.content_type) + "; charset=utf-8");
    // Only its own files, no inline script, never framed: what a hostile
    // site's page or a poisoned field could inject has nothing to run.
    ctx.res.set_header("Content-Security-Policy",
                       "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                       "base-uri 'none'; form-action 'self'");
    ctx.res.set_header("X-Content-Type-Options", "nosniff");
    ctx.res.set_header("X-Frame-Options", "DENY");
    ctx.res.set_header("Referrer-Policy", "no-referrer");
    ctx.res.set_header("Cache-Control", "no-cache");
    ctx.res.body.assign(reinterpret_cast<const char*>(asset.data), asset.size);
    ctx.res.head_only = ctx.req.method == "HEAD";
    return;
  }
  ctx.fail(404, "no such console file: " + std::string(name));
}

}  // namespace wok::server

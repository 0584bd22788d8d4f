// wok describe site|project NAME: one object for a human, kubectl-style.
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string_view>

#include "cmd/commands.h"
#include "cmd/fields.h"
#include "cmd/printing.h"
#include "cmd/table.h"
#include "cmd/watch.h"

namespace wok::cmd {
namespace {

using nlohmann::json;

constexpr size_t kRecentRevisions = 5;
constexpr size_t kBuildTailLines = 20;

class Description {
 public:
  void field(const std::string& label, const std::string& value, int depth = 0) {
    std::string key(2 * depth, ' ');
    key += label + ":";
    out_ << key;
    if (!value.empty()) out_ << std::string(key.size() < 14 ? 14 - key.size() : 1, ' ') << value;
    out_ << '\n';
  }
  void text(const std::string& text) { out_ << text; }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string compact(const json* value) {
  if (!value || value->is_null()) return "<none>";
  if (value->is_string()) return value->get<std::string>();
  return value->dump();
}

void describe_source(Description& d, const json& site) {
  const json* source = find_at(site, {"spec", "source"});
  if (!source || !source->is_object() || source->empty()) {
    d.field("Source", "<none>");
    return;
  }
  d.field("Source", "");
  if (const json* git = find_at(*source, {"git"})) {
    d.field("URL", or_none(text_at(*git, {"url"})), 1);
    d.field("Ref", or_none(text_at(*git, {"ref"})), 1);
    d.field("Path", or_none(text_at(*git, {"path"})), 1);
    d.field("Interval", or_none(text_at(*git, {"interval"})), 1);
  }
  for (const char* other : {"archive", "image"}) {
    const json* value = find_at(*source, {other});
    if (!value) continue;
    std::string label(other);
    label[0] = static_cast<char>(std::toupper(label[0]));
    d.field(
        label,
        value->is_object() && value->contains("url") ? text_at(*value, {"url"}) : compact(value),
        1);
  }
}

std::string conditions_table(const json& object) {
  const json* conditions = find_at(object, {"status", "conditions"});
  if (!conditions || !conditions->is_array() || conditions->empty()) return "  <none>\n";
  std::vector<std::vector<std::string>> rows = {{"TYPE", "STATUS", "REASON", "MESSAGE"}};
  for (const auto& c : *conditions) {
    rows.push_back({text_at(c, {"type"}), text_at(c, {"status"}), text_at(c, {"reason"}),
                    text_at(c, {"message"})});
  }
  return format_table(rows, "  ");
}

bool is_true(const json& object, std::string_view key) {
  const json* v = find_at(object, {key});
  return v && v->is_boolean() && v->get<bool>();
}

int64_t number_at(const json& object, std::string_view key, int64_t otherwise) {
  const json* v = find_at(object, {key});
  return v && v->is_number_integer() ? v->get<int64_t>() : otherwise;
}

// "exited with code 3", "OOM killed", "killed by signal 15 (...)", "<none>".
std::string last_exit(const json& instance) {
  if (is_true(instance, "oomKilled")) return "OOMKilled: killed by the memory limit";
  std::string error = text_at(instance, {"lastError"});
  if (!error.empty()) return error;
  if (number_at(instance, "lastSignal", 0) > 0)
    return "killed by signal " + text_at(instance, {"lastSignal"});
  if (number_at(instance, "restarts", 0) > 0 && number_at(instance, "lastExitCode", -1) >= 0) {
    return "exited with code " + text_at(instance, {"lastExitCode"});
  }
  return "<none>";
}

// Components (ready/wanted), instances, resources and storage of a php or
// app site: what it runs (the serving revision's spec when there is one).
void describe_workloads(Description& d, const json& site, const json& spec) {
  std::string mode = text_at(spec, {"mode"});
  if (mode != "php" && mode != "app") return;
  const json* instances = find_at(site, {"status", "instances"});
  static const json kNone = json::array();
  const json& all = instances && instances->is_array() ? *instances : kNone;
  auto ready = [&](const std::string& component) {
    int n = 0;
    for (const auto& i : all) {
      std::string c = text_at(i, {"component"});
      if (c.empty()) {  // written by an older wok: the id says it (NS.SITE.COMPONENT.rN.I)
        std::string id = text_at(i, {"name"});
        size_t r = id.rfind(".r");
        size_t start = r == std::string::npos ? r : id.rfind('.', r - 1);
        if (start != std::string::npos) c = id.substr(start + 1, r - start - 1);
      }
      n += c == component && text_at(i, {"phase"}) == "Ready";
    }
    return std::to_string(n);
  };
  std::vector<std::vector<std::string>> rows = {{"NAME", "READY", "PORT", "COMMAND"}};
  if (mode == "php") {
    rows.push_back({"php", ready("php") + "/1", "-", "php-fpm"});
  } else if (const json* components = find_at(spec, {"app", "components"});
             components && components->is_array()) {
    for (const auto& c : *components) {
      rows.push_back(
          {text_at(c, {"name"}),
           ready(text_at(c, {"name"})) + "/" + std::to_string(number_at(c, "replicas", 1)),
           or_none(text_at(c, {"port"})), or_none(join_strings(find_at(c, {"command"}), " "))});
    }
  }
  d.field("Components", "");
  d.text(format_table(rows, "  "));
  if (all.empty()) {
    d.field("Instances", "<none>");
  } else {
    d.field("Instances", "");
    rows = {{"NAME", "PHASE", "RESTARTS", "LAST EXIT"}};
    for (const auto& i : all) {
      rows.push_back({text_at(i, {"name"}), text_at(i, {"phase"}),
                      or_none(text_at(i, {"restarts"})), last_exit(i)});
    }
    d.text(format_table(rows, "  "));
  }
  std::string memory = text_at(spec, {"resources", "memory"}),
              cpu = text_at(spec, {"resources", "cpu"});
  d.field("Resources", "memory " + (memory.empty() ? "256Mi (default)" : memory) + ", cpu " +
                           (cpu.empty() ? "unlimited (default)" : cpu) + " per instance");
  const json* storage = find_at(site, {"status", "storage"});
  auto used_of = [&](const std::string& name) {
    if (storage && storage->is_array())
      for (const auto& s : *storage)
        if (text_at(s, {"name"}) == name && find_at(s, {"bytes"}) &&
            s["bytes"].is_number_unsigned())
          return human_bytes(s["bytes"].get<uint64_t>());
    return std::string("<unknown>");
  };
  if (const json* db = find_at(spec, {"database"}); db && db->is_object()) {
    // spec.database (docs/data.md): its server is the instance of component "db".
    d.field("Database", text_at(*db, {"engine"}) + " " + text_at(*db, {"version"}) + ", " +
                            ready("db") + "/1 ready, " + used_of("database") + " used of " +
                            text_at(*db, {"size"}) + ", host " +
                            text_at(site, {"metadata", "name"}) + "-db (secret " +
                            text_at(site, {"metadata", "name"}) + "-db)");
  }
  // spec.backup (docs/data.md), or the project's default the platform
  // follows (its schedule in status.backup): the schedule's last run.
  const json* st = find_at(site, {"status", "backup"});
  const json* backup = find_at(spec, {"backup"});
  const bool own = backup && backup->is_object();
  const std::string schedule = own  ? text_at(*backup, {"schedule"})
                               : st ? text_at(*st, {"schedule"})
                                    : "";
  if (!schedule.empty()) {
    std::string last = st ? text_at(*st, {"last"}) : "";
    std::string error = st ? text_at(*st, {"lastError"}) : "";
    d.field("Backups",
            "schedule \"" + schedule + "\"" + (own ? "" : " (the project's)") + ", last " +
                (last.empty() ? "<none yet>" : last + " at " + text_at(*st, {"lastTime"})) +
                (error.empty() ? "" : ", last error: " + error));
  }
  if (const json* cloned = find_at(site, {"status", "clonedFrom"}); cloned && cloned->is_object())
    d.field("Cloned from", "backup " + text_at(*cloned, {"backup"}) + " of site " +
                               text_at(*cloned, {"project"}) + "/" + text_at(*cloned, {"site"}));
  const json* declared = find_at(spec, {"storage"});
  if (!declared || !declared->is_array() || declared->empty()) {
    d.field("Storage", "<none>");
    return;
  }
  d.field("Storage", "");
  rows = {{"NAME", "PATH", "USED", "SIZE"}};
  for (const auto& v : *declared) {
    std::string name = text_at(v, {"name"}), used = used_of(name);
    rows.push_back({name, or_none(text_at(v, {"path"})), used, or_none(text_at(v, {"size"}))});
  }
  d.text(format_table(rows, "  "));
}

// The last lines of a build's output, each indented.
std::string tail_of(const std::string& log, size_t lines) {
  size_t end = log.size();
  while (end > 0 && log[end - 1] == '\n') --end;
  size_t start = end;
  for (size_t n = 0; start > 0 && n < lines;) {
    --start;
    if (log[start] == '\n' && ++n == lines) {
      ++start;
      break;
    }
  }
  std::string out;
  for (size_t at = start; at < end;) {
    size_t nl = log.find('\n', at);
    if (nl == std::string::npos || nl > end) nl = end;
    out += "  " + log.substr(at, nl - at) + "\n";
    at = nl + 1;
  }
  return out;
}

// The serving revision and why it changed, and the tail of the last failed
// build when no revision deployed since.
void describe_revisions(Description& d, const json& items, const std::string& site) {
  const json* live = nullptr;
  for (const auto& r : items)
    if (is_true(r, "live")) live = &r;
  if (live) {
    std::string commit = text_at(*live, {"commit"}).substr(0, 7);
    std::string cause = text_at(*live, {"cause"});
    d.field("Serving", "revision " + text_at(*live, {"revision"}) + " (commit " + or_none(commit) +
                           ") since " + or_none(text_at(*live, {"createdAt"})) +
                           (cause.empty() ? "" : ": " + cause));
  } else {
    d.field("Serving", "<none>");
  }
  for (const auto& r : items) {  // newest first
    if (text_at(r, {"outcome"}) == "Deployed") return;
    std::string log = text_at(r, {"log"});
    if (text_at(r, {"outcome"}) != "Failed" || log.empty()) continue;
    d.field("Last failed build", "revision " + text_at(r, {"revision"}) + ": " +
                                     text_at(r, {"message"}) + " (all of it: wok logs site " +
                                     site + " --build " + text_at(r, {"revision"}) + ")");
    d.text(tail_of(log, kBuildTailLines));
    return;
  }
}

// spec.app.jobs as the job controller last saw them (status.jobs): when
// each ran, when it runs next, the result of its newest run.
void describe_jobs(Description& d, const json& site, const std::string& name) {
  const json* jobs = find_at(site, {"status", "jobs"});
  if (!jobs || !jobs->is_array() || jobs->empty()) return;
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "SCHEDULE", "ACTIVE", "LAST SCHEDULE", "NEXT", "LAST RUN"}};
  std::vector<std::string> notes;
  for (const auto& j : *jobs) {
    std::string last = "<none>";
    const json* runs = find_at(j, {"runs"});
    if (runs && runs->is_array() && !runs->empty()) {
      const json& r = runs->back();
      last = "#" + text_at(r, {"run"}) + " " + text_at(r, {"result"}) +
             (find_at(r, {"exitCode"}) ? " (exit " + text_at(r, {"exitCode"}) + ")" : "");
      if (!text_at(r, {"message"}).empty())
        notes.push_back(text_at(j, {"name"}) + " #" + text_at(r, {"run"}) + ": " +
                        text_at(r, {"message"}));
    }
    if (!text_at(j, {"message"}).empty())
      notes.push_back(text_at(j, {"name"}) + ": " + text_at(j, {"message"}));
    rows.push_back({text_at(j, {"name"}), text_at(j, {"schedule"}), or_none(text_at(j, {"active"})),
                    or_none(text_at(j, {"lastScheduleTime"})),
                    or_none(text_at(j, {"nextScheduleTime"})), last});
  }
  d.field("Jobs", "");
  d.text(format_table(rows, "  "));
  for (const auto& n : notes) d.text("  " + n + "\n");
  d.text("  (runs' output: wok logs site " + name + " --job JOB; a run now: wok job run " + name +
         " JOB)\n");
}

// spec.tls as the platform did it (status.tls, docs/tls.md).
void describe_tls(Description& d, const json& site) {
  const json* tls = find_at(site, {"status", "tls"});
  if (!tls || !tls->is_object()) {
    d.field("TLS", text_at(site, {"spec", "tls", "mode"}) == "off" ? "off (HTTP only)" : "<none>");
    return;
  }
  std::string mode = text_at(*tls, {"mode"});
  std::string secret = text_at(*tls, {"secretName"});
  d.field("TLS", or_none(mode) + (secret.empty() ? "" : " (secret " + secret + ")"));
  d.field("Hosts", or_none(join_strings(find_at(*tls, {"hosts"}), ", ")), 1);
  d.field("Issuer", or_none(text_at(*tls, {"issuer"})), 1);
  d.field("Expires", or_none(text_at(*tls, {"notAfter"})), 1);
  if (std::string problem = text_at(*tls, {"message"}); !problem.empty()) {
    std::string retry = text_at(*tls, {"retryAt"});
    d.field("Problem", problem + (retry.empty() ? "" : " (next try " + retry + ")"), 1);
  }
}

int describe_site(Session& session, const json& site) {
  Description d;
  std::string name = text_at(site, {"metadata", "name"});
  std::string project = text_at(site, {"metadata", "namespace"});
  d.field("Name", name);
  d.field("Project", project);
  d.field("Created", or_none(text_at(site, {"metadata", "creationTimestamp"})));
  d.field("Mode", or_none(text_at(site, {"spec", "mode"})));
  d.field("Hosts", or_none(join_strings(find_at(site, {"spec", "hosts"}), ", ")));
  describe_source(d, site);
  const json* build = find_at(site, {"spec", "build"});
  d.field("Build", build && build->is_object() && build->contains("command")
                       ? join_strings(find_at(*build, {"command"}), " ")
                       : compact(build));
  d.field("URLs", or_none(join_strings(find_at(site, {"status", "urls"}), ", ")));
  describe_tls(d, site);
  d.field("Revision", or_none(text_at(site, {"status", "revision"})));
  d.field("Commit", or_none(text_at(site, {"status", "commit"})));
  d.field("Conditions", "");
  d.text(conditions_table(site));
  d.field("Last error", or_none(text_at(site, {"status", "lastError"})));

  // Revisions are a second request; the site itself is already worth showing.
  HttpResponse response =
      session.client.request("GET", site_subresource_path(project, name, "revisions"));
  json list;
  bool have_revisions = response.status == 200 && parse_json_body(response.body, &list);
  json items =
      have_revisions && list.is_object() && list.contains("items") && list["items"].is_array()
          ? list["items"]
          : json::array();
  const json* serving_spec = find_at(site, {"spec"});
  for (const auto& r : items) {
    if (is_true(r, "live") && find_at(r, {"spec"}) && r["spec"].is_object())
      serving_spec = &r["spec"];
  }
  if (serving_spec) describe_workloads(d, site, *serving_spec);
  describe_jobs(d, site, name);
  if (have_revisions) {
    describe_revisions(d, items, name);
    json recent = json::array();  // newest first from the server; oldest first here
    for (size_t i = std::min(items.size(), kRecentRevisions); i > 0; --i) {
      recent.push_back(items[i - 1]);
    }
    d.field("Revisions", recent.empty() ? "<none>" : "");
    if (!recent.empty()) d.text(format_revisions(recent, "  "));
  } else {
    d.field("Revisions",
            "<unavailable: " + failure_message(response, session.client.server()) + ">");
  }
  // What happened to it, oldest first (as kubectl describe ends).
  HttpResponse events = session.client.request(
      "GET", events_path(project) + "?fieldSelector=involvedObject.name%3D" + name);
  json event_list;
  if (events.status == 200 && parse_json_body(events.body, &event_list) && event_list.is_object()) {
    json items = event_list.value("items", json::array());
    // The newest ones: a site that crashed all day has many.
    constexpr size_t kShown = 20;
    if (items.size() > kShown) items.erase(items.begin(), items.end() - kShown);
    std::string table = format_site_events(items, "  ");
    d.field("Events", table.empty() ? "<none>" : "");
    if (!table.empty()) d.text(table);
  } else {
    d.field("Events", "<unavailable: " + failure_message(events, session.client.server()) + ">");
  }
  session.io.out << d.str();
  return 0;
}

int describe_project(Session& session, const json& project) {
  Description d;
  d.field("Name", text_at(project, {"metadata", "name"}));
  d.field("Created", or_none(text_at(project, {"metadata", "creationTimestamp"})));
  d.field("Hosts", or_none(join_strings(find_at(project, {"spec", "hosts"}), ", ")));
  const json* members = find_at(project, {"spec", "members"});
  if (members && members->is_array() && !members->empty()) {
    d.field("Members", "");
    std::vector<std::vector<std::string>> rows = {{"USER", "ROLE"}};
    for (const auto& m : *members) rows.push_back({text_at(m, {"user"}), text_at(m, {"role"})});
    d.text(format_table(rows, "  "));
  } else {
    d.field("Members", "<none>");
  }
  const json* quota = find_at(project, {"spec", "quota"});
  if (quota && quota->is_object() && !quota->empty()) {
    d.field("Quota", "");
    for (auto it = quota->begin(); it != quota->end(); ++it) d.field(it.key(), compact(&*it), 1);
  } else {
    d.field("Quota", "<none>");
  }
  d.field("Conditions", "");
  d.text(conditions_table(project));
  session.io.out << d.str();
  return 0;
}

}  // namespace

int describe_command(Session& session, Kind kind, const std::string& name) {
  std::string project = kind == Kind::kSite ? session.project : std::string();
  if (kind == Kind::kSite && project.empty()) {
    return session.fail("a site is named within its project: pass -n PROJECT");
  }
  HttpResponse response = session.client.request("GET", object_path(kind, project, name));
  if (response.status != 200) return session.fail(response, not_found_message(kind, project, name));
  json object;
  if (!parse_json_body(response.body, &object) || !object.is_object()) {
    return session.fail("the server answered with something that is not a JSON object");
  }
  return kind == Kind::kSite ? describe_site(session, object) : describe_project(session, object);
}

}  // namespace wok::cmd

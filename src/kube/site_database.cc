#include "kube/site_database.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/base64.h"
#include "base/text.h"
#include "kube/site_rollout.h"

namespace wok::kube {

namespace {

using nlohmann::json;

std::string label_selector(const json& selector) {
  std::string out;
  for (const auto& [key, value] : selector.items()) {
    if (!value.is_string()) continue;
    out += (out.empty() ? "" : ",") + key + "=" + value.get<std::string>();
  }
  return out;
}

bool ready(const json& pod) {
  if (pod.value("/status/phase"_json_pointer, std::string()) != "Running") return false;
  if (!pod.value("metadata", json::object()).value("deletionTimestamp", "").empty()) return false;
  for (const auto& c : pod.value("/status/conditions"_json_pointer, json::array()))
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

// The container serving `port`, else the first.
std::string container_of(const json& pod, uint16_t port) {
  const json containers = pod.value("/spec/containers"_json_pointer, json::array());
  for (const auto& c : containers)
    for (const auto& p : c.value("ports", json::array()))
      if (p.value("containerPort", 0) == port) return c.value("name", "");
  return containers.empty() ? "" : containers[0].value("name", "");
}

// A temporary file holding `in` to its end, rewound; its size in *bytes.
std::unique_ptr<std::fstream> spool(std::istream& in, uint64_t* bytes, std::string* error) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/wok-db-input-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) {
    *error = "cannot make a temporary file in " + path.substr(0, path.rfind('/'));
    return nullptr;
  }
  auto file = std::make_unique<std::fstream>(
      path, std::ios::in | std::ios::out | std::ios::binary | std::ios::trunc);
  ::close(fd);
  ::unlink(path.c_str());
  if (!*file) {
    *error = "cannot open a temporary file";
    return nullptr;
  }
  *file << in.rdbuf();
  file->flush();
  *bytes = static_cast<uint64_t>(std::max<std::streamoff>(0, file->tellp()));
  if (!*file && *bytes != 0) {
    *error = "cannot write the input into a temporary file (disk full?)";
    return nullptr;
  }
  file->clear();
  file->seekg(0);
  return file;
}

}  // namespace

bool find_database_pod(KubeClient& client, const std::string& ns, const std::string& name,
                       DatabasePod* out, std::string* error) {
  json site;
  if (!get_site(client, ns, name, &site, error)) return false;
  render::SitePlan plan = render::plan_site(site);
  if (!plan.database.enabled()) {
    *error = "site \"" + name + "\" has no database (spec.database)";
    return false;
  }
  out->db = plan.database;
  const std::string base = "/api/v1/namespaces/" + percent_encode(ns);
  Reply svc = client.request("GET", base + "/services/" + percent_encode(out->db.host));
  if (svc.status == 404) {
    *error = "the database of site \"" + name + "\" has no Service \"" + out->db.host +
             "\" yet (has the operator made it?)";
    return false;
  }
  if (!svc.ok()) {
    *error = "get service " + out->db.host + ": " + svc.describe();
    return false;
  }
  json selector =
      json::parse(svc.body, nullptr, false).value("/spec/selector"_json_pointer, json());
  if (!selector.is_object() || selector.empty()) {
    *error = "the Service \"" + out->db.host + "\" selects no pods";
    return false;
  }
  Reply pods = client.request(
      "GET", base + "/pods?labelSelector=" + percent_encode(label_selector(selector)));
  if (!pods.ok()) {
    *error = "list the database's pods: " + pods.describe();
    return false;
  }
  std::string seen;
  for (const auto& pod : json::parse(pods.body, nullptr, false).value("items", json::array())) {
    const std::string pod_name = pod.value("/metadata/name"_json_pointer, std::string());
    if (!ready(pod)) {
      seen += (seen.empty() ? "" : ", ") + pod_name + " " +
              pod.value("/status/phase"_json_pointer, std::string("Unknown"));
      continue;
    }
    out->pod = pod_name;
    out->container = container_of(pod, out->db.port);
    break;
  }
  if (out->pod.empty()) {
    *error = "the database of site \"" + name + "\" has no running, ready pod" +
             (seen.empty() ? std::string(" yet") : " (" + seen + ")");
    return false;
  }
  Reply secret = client.request("GET", base + "/secrets/" + percent_encode(out->db.secret_name));
  if (!secret.ok()) {
    *error =
        "get secret " + out->db.secret_name + " (the database's password): " + secret.describe();
    return false;
  }
  auto password = api::base64_decode(
      json::parse(secret.body, nullptr, false).value("/data/password"_json_pointer, std::string()));
  std::string why = password ? render::check_database_password(*password) : "is not base64";
  if (!why.empty()) {
    *error = "the secret " + out->db.secret_name + "'s password " + why;
    return false;
  }
  out->password = *password;
  return true;
}

std::vector<std::string> database_exec_command(const render::DatabasePlan& db,
                                               render::DatabaseAction action,
                                               uint64_t input_bytes) {
  const std::vector<std::string> client = render::database_client_command(db.engine, action);
  std::string script =
      "IFS= read -r password || exit 1\n"
      "export MYSQL_PWD=\"$password\" PGPASSWORD=\"$password\" DB_HOST=127.0.0.1 DB_PORT=" +
      std::to_string(db.port) + " DB_USER=" + shell_quote(db.user) +
      " DB_NAME=" + shell_quote(db.database) + "\n";
  std::string run;
  for (const auto& arg : client) run += (run.empty() ? "" : " ") + shell_quote(arg);
  if (action == render::DatabaseAction::kDump)
    script += "exec " + run + " </dev/null\n";
  else
    script += "head -c " + std::to_string(input_bytes) + " | " + run + "\n";
  return {"/bin/sh", "-c", script};
}

ExecResult run_database_client(KubeClient& client, const std::string& ns, const DatabasePod& target,
                               render::DatabaseAction action, std::istream* input,
                               const ExecStreams& sinks) {
  ExecResult result;
  uint64_t bytes = 0;
  std::unique_ptr<std::fstream> spooled;
  if (action != render::DatabaseAction::kDump && input) {
    spooled = spool(*input, &bytes, &result.error);
    if (!spooled) return result;
  }
  ExecStreams streams = sinks;
  streams.first = target.password + "\n";  // the script's first line
  streams.in = spooled.get();
  return pod_exec(client, ns, target.pod, target.container,
                  database_exec_command(target.db, action, bytes), streams);
}

int kube_db_command(KubeClient& client, const std::string& verb, const std::string& ns,
                    const std::string& name, const std::string& file, std::istream& in,
                    std::ostream& out, std::ostream& err, const SqlShell& shell) {
  using render::DatabaseAction;
  DatabasePod target;
  std::string error;
  if (!find_database_pod(client, ns, name, &target, &error)) {
    err << "error: " << error << "\n";
    return 1;
  }
  ExecStreams sinks;
  sinks.out = [&out](std::string_view piece) {
    out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    return static_cast<bool>(out);
  };
  sinks.err = [&err](std::string_view piece) {
    err.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    return true;
  };
  auto run = [&](DatabaseAction action, std::istream* input) {
    ExecResult result = run_database_client(client, ns, target, action, input, sinks);
    out.flush();
    if (!result.ran) {
      err << "error: " << result.error << "\n";
      return 1;
    }
    if (result.exit_code != 0) {
      err << "error: the database's client (" << target.db.engine << ", pod " << target.pod
          << ") exited with " << result.exit_code << "\n";
      return 1;
    }
    return 0;
  };
  if (verb == "db-dump") return run(DatabaseAction::kDump, nullptr);
  if (verb == "db-import") {
    if (file.empty() || file == "-") return run(DatabaseAction::kExec, &in);
    std::ifstream input(file, std::ios::binary);
    if (!input) {
      err << "error: cannot read " << file << "\n";
      return 1;
    }
    return run(DatabaseAction::kExec, &input);
  }
  return shell(in, err, name, [&](const std::string& sql) {
    std::istringstream statement(sql);
    return run(DatabaseAction::kExec, &statement);
  });
}

}  // namespace wok::kube

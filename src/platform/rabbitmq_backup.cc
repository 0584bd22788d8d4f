#include "platform/rabbitmq_backup.h"

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/text.h"
#include "cmd/client.h"

namespace wok::platform {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// At most this many ready messages a queue, read in one request (the
// management API answers a get in one body).
constexpr int64_t kMaxMessages = 100000;
constexpr long kTimeoutSeconds = 600;

// The management API with the user's credentials in the URL (libcurl
// sends them as Basic authorization); errors name the URL without them.
class Management {
 public:
  explicit Management(const RabbitMqServer& server) : url_(server.url) {
    std::string with_user = server.url;
    if (const size_t scheme = with_user.find("://"); scheme != std::string::npos)
      with_user.insert(scheme + 3,
                       percent_encode(server.user) + ":" + percent_encode(server.password) + "@");
    client_ = std::make_unique<cmd::ApiClient>(with_user, "");
  }

  // A 2xx answer's JSON (null for an empty body); "" or what went wrong.
  std::string call(const std::string& method, const std::string& path, const json* body,
                   json* out) const {
    const std::string payload = body ? body->dump() : std::string();
    cmd::HttpResponse r =
        client_->request_text(method, path, payload, "application/json", kTimeoutSeconds);
    const std::string where = method + " " + url_ + path;
    if (r.status == 0) return where + ": " + r.error;
    if (r.status / 100 != 2) {
      std::string said = r.body.size() > 500 ? r.body.substr(0, 500) + "..." : r.body;
      return where + ": HTTP " + std::to_string(r.status) + (said.empty() ? "" : ": " + said);
    }
    if (out) {
      *out = r.body.empty() ? json() : json::parse(r.body, nullptr, false);
      if (out->is_discarded()) return where + ": the answer is not JSON";
    }
    return "";
  }

  const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::unique_ptr<cmd::ApiClient> client_;
};

std::string queue_path(const std::string& vhost, const std::string& name) {
  return "/api/queues/" + percent_encode(vhost) + "/" + percent_encode(name);
}

bool write_json(const fs::path& file, const json& value, std::string* error) {
  std::ofstream out(file, std::ios::trunc);
  out << value.dump() << "\n";
  out.close();
  if (!out) *error = "cannot write " + file.string();
  return static_cast<bool>(out);
}

bool read_json(const fs::path& file, json* value, std::string* error) {
  std::ifstream in(file);
  if (!in) {
    *error = "cannot read " + file.string();
    return false;
  }
  *value = json::parse(in, nullptr, false);
  if (value->is_discarded()) *error = file.string() + " is not JSON";
  return !value->is_discarded();
}

bool string_field(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string();
}

}  // namespace

std::string export_rabbitmq(const RabbitMqServer& server, const fs::path& dir) {
  const Management api(server);
  json definitions;
  if (std::string err = api.call("GET", "/api/definitions", nullptr, &definitions); !err.empty())
    return err;
  if (!definitions.is_object()) return api.url() + "/api/definitions: not the broker's definitions";
  // The ready messages of each queue, in their order: a get that requeues
  // them (they stay where they were; the next consumer sees them as
  // redelivered). Exclusive queues end with their connection: not kept.
  json queues;
  if (std::string err =
          api.call("GET", "/api/queues?columns=name,vhost,exclusive,type", nullptr, &queues);
      !err.empty())
    return err;
  json messages = json::array();
  for (const json& q : queues.is_array() ? queues : json::array()) {
    if (!string_field(q, "name") || !string_field(q, "vhost") || q.value("exclusive", false))
      continue;
    if (q.value("type", "classic") == "stream") continue;  // read by offset, not by get
    const json get = {
        {"count", kMaxMessages}, {"ackmode", "ack_requeue_true"}, {"encoding", "base64"}};
    json got;
    const std::string path =
        queue_path(q["vhost"].get<std::string>(), q["name"].get<std::string>()) + "/get";
    if (std::string err = api.call("POST", path, &get, &got); !err.empty()) return err;
    if (!got.is_array()) return api.url() + path + ": not a list of messages";
    if (!got.empty() && got.back().value("message_count", int64_t{0}) > 0)
      return "the queue " + q["name"].get<std::string>() + " holds more than " +
             std::to_string(kMaxMessages) + " ready messages (more than a backup takes)";
    json kept = json::array();
    for (const json& m : got)
      kept.push_back({{"exchange", m.value("exchange", "")},
                      {"routing_key", m.value("routing_key", "")},
                      {"properties", m.value("properties", json::object())},
                      {"payload", m.value("payload", "")},
                      {"payload_encoding", m.value("payload_encoding", "base64")}});
    messages.push_back({{"vhost", q["vhost"]}, {"queue", q["name"]}, {"messages", kept}});
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "cannot make " + dir.string() + ": " + ec.message();
  std::string error;
  // Whose definitions they are: the import leaves this user out.
  if (!write_json(dir / kRabbitMqDefinitions, {{"user", server.user}, {"broker", definitions}},
                  &error) ||
      !write_json(dir / kRabbitMqMessages, messages, &error))
    return error;
  return "";
}

std::string import_rabbitmq(const RabbitMqServer& server, const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / kRabbitMqDefinitions, ec)) return "";
  json saved, messages;
  std::string error;
  if (!read_json(dir / kRabbitMqDefinitions, &saved, &error) ||
      !read_json(dir / kRabbitMqMessages, &messages, &error))
    return error;
  if (!saved.is_object() || !saved.contains("broker") || !saved["broker"].is_object() ||
      !messages.is_array())
    return dir.string() + " holds no export of a RabbitMQ server";
  const Management api(server);
  // A new site's server (a clone's) may still be starting.
  json overview;
  std::string err;
  for (int i = 0; i < 60; ++i) {
    err = api.call("GET", "/api/overview", nullptr, &overview);
    if (err.empty()) break;
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
  if (!err.empty()) return err;

  // What the server holds now goes: its queues (with their messages) and
  // the exchanges it was given (amq.* and the default are the broker's).
  json queues, exchanges;
  if (err = api.call("GET", "/api/queues?columns=name,vhost", nullptr, &queues); !err.empty())
    return err;
  for (const json& q : queues.is_array() ? queues : json::array()) {
    if (!string_field(q, "name") || !string_field(q, "vhost")) continue;
    if (err = api.call("DELETE",
                       queue_path(q["vhost"].get<std::string>(), q["name"].get<std::string>()),
                       nullptr, nullptr);
        !err.empty() && err.find("HTTP 404") == std::string::npos)
      return err;
  }
  if (err = api.call("GET", "/api/exchanges?columns=name,vhost", nullptr, &exchanges); !err.empty())
    return err;
  for (const json& x : exchanges.is_array() ? exchanges : json::array()) {
    if (!string_field(x, "name") || !string_field(x, "vhost")) continue;
    const std::string name = x["name"];
    if (name.empty() || name.starts_with("amq.")) continue;
    const std::string path = "/api/exchanges/" + percent_encode(x["vhost"].get<std::string>()) +
                             "/" + percent_encode(name);
    if (err = api.call("DELETE", path, nullptr, nullptr);
        !err.empty() && err.find("HTTP 404") == std::string::npos)
      return err;
  }

  // The definitions, less the backup's user (and its permissions): the
  // server keeps the user its site connects as, with its own password;
  // less the cluster's own name and id.
  json broker = saved["broker"];
  const std::string backup_user = saved.value("user", "");
  for (const char* list : {"users", "permissions", "topic_permissions"}) {
    if (!broker.contains(list) || !broker[list].is_array()) continue;
    json kept = json::array();
    for (const json& e : broker[list]) {
      const char* key = std::string(list) == "users" ? "name" : "user";
      if (string_field(e, key) && (e[key] == backup_user || e[key] == server.user)) continue;
      kept.push_back(e);
    }
    broker[list] = kept;
  }
  if (broker.contains("global_parameters") && broker["global_parameters"].is_array()) {
    json kept = json::array();
    for (const json& p : broker["global_parameters"])
      if (!string_field(p, "name") ||
          (p["name"] != "internal_cluster_id" && p["name"] != "cluster_name"))
        kept.push_back(p);
    broker["global_parameters"] = kept;
  }
  if (err = api.call("POST", "/api/definitions", &broker, nullptr); !err.empty()) return err;

  // The messages, in their order, each into its queue (the default
  // exchange routes a message to the queue its routing key names).
  for (const json& q : messages) {
    if (!string_field(q, "vhost") || !string_field(q, "queue") || !q.contains("messages") ||
        !q["messages"].is_array())
      return dir.string() + "/" + kRabbitMqMessages + " is not a list of queues' messages";
    const std::string path =
        "/api/exchanges/" + percent_encode(q["vhost"].get<std::string>()) + "/amq.default/publish";
    for (const json& m : q["messages"]) {
      const json publish = {{"properties", m.value("properties", json::object())},
                            {"routing_key", q["queue"]},
                            {"payload", m.value("payload", "")},
                            {"payload_encoding", m.value("payload_encoding", "base64")}};
      json routed;
      if (err = api.call("POST", path, &publish, &routed); !err.empty()) return err;
      if (!routed.is_object() || !routed.value("routed", false))
        return "a message of the queue " + q["queue"].get<std::string>() +
               " was not routed back into it (the backup's definitions do not make it?)";
    }
  }
  return "";
}

}  // namespace wok::platform

#pragma once
// A RabbitMQ service's data in a cluster's backup (docs/data.md, "Backups on
// Kubernetes"), over its management API (the render enables the plugin,
// port 15672, reachable from the site's pods only): no volume of the
// server is mounted, so the backup's pod runs on any node.
//
//   export: the broker's definitions (GET /api/definitions: vhosts, users,
//   permissions, policies, queues, exchanges, bindings) into
//   DIR/definitions.json, and every queue's ready messages, read without
//   taking them (basic.get, requeued: they stay, marked redelivered), into
//   DIR/messages.json;
//   import: the broker made what the backup holds. Its queues and
//   exchanges are deleted (their messages with them), the definitions
//   loaded (the backup's own user left out: the server keeps its user and
//   password, a clone's are its own), and the messages published again, in
//   their order, into their queues.
//
// `wok backup-job rabbitmq-export|rabbitmq-import` runs these in the Jobs'
// containers; the server's address is the management URL, its user's
// password in the environment (WOK_RABBITMQ_PASSWORD).
#include <filesystem>
#include <string>

namespace wok::platform {

struct RabbitMqServer {
  std::string url;  // the management API: http://HOST:15672
  std::string user, password;
};

inline constexpr char kRabbitMqDefinitions[] = "definitions.json";
inline constexpr char kRabbitMqMessages[] = "messages.json";

// "" when done; what failed otherwise (the server's words, its address).
std::string export_rabbitmq(const RabbitMqServer& server, const std::filesystem::path& dir);
// Nothing to do without DIR/definitions.json ("" then too). A server still
// starting (a clone's) is waited for, 5 minutes at most.
std::string import_rabbitmq(const RabbitMqServer& server, const std::filesystem::path& dir);

}  // namespace wok::platform

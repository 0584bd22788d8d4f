#include "kube/informer.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <random>

#include "base/text.h"

namespace wok::kube {
namespace {

using nlohmann::json;

std::string key_of(const json& object) {
  const auto& meta = object["metadata"];
  return meta.value("namespace", "") + "/" + meta.value("name", "");
}

// resourceVersions are opaque, but in practice etcd revisions: compare them
// when both are numbers, never otherwise.
bool older(const json& candidate, const json& current) {
  try {
    auto a = std::stoull(candidate["metadata"].value("resourceVersion", ""));
    auto b = std::stoull(current["metadata"].value("resourceVersion", ""));
    return a < b;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

Informer::Informer(KubeClient& client, KindInfo kind, std::string label_selector, Handler handler)
    : client_(client),
      kind_(std::move(kind)),
      selector_(std::move(label_selector)),
      handler_(std::move(handler)) {}

Informer::~Informer() { stop(); }

void Informer::start() {
  thread_ = std::thread([this] { run(); });
}

void Informer::request_stop() {
  stopping_ = true;
  wake_.notify_all();
}

void Informer::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<ObjectPtr> Informer::list() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

ObjectPtr Informer::get(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find((kind_.namespaced ? ns : "") + "/" + name);
  return it == objects_.end() ? nullptr : it->second;
}

void Informer::remember(const json& object) { store(object, false); }

void Informer::forget(const json& object) { store(object, true); }

void Informer::store(const json& object, bool deleted) {
  ObjectPtr old, now;
  {
    std::lock_guard lock(mu_);
    std::string key = key_of(object);
    auto it = objects_.find(key);
    if (it != objects_.end()) old = it->second;
    if (deleted) {
      if (!old) return;
      objects_.erase(it);
    } else {
      if (old && (older(object, *old) || *old == object)) return;
      auto copy = std::make_shared<json>(object);
      (*copy)["apiVersion"] = kind_.api_version;  // list items come without them
      (*copy)["kind"] = kind_.kind;
      now = copy;
      objects_[key] = now;
    }
  }
  if (handler_) handler_(old, now);
}

std::string Informer::query(bool watch) const {
  std::string q;
  if (!selector_.empty()) q += "labelSelector=" + percent_encode(selector_) + "&";
  if (watch) {
    // Servers end a watch after timeoutSeconds; spread the restarts out.
    static thread_local std::mt19937 rng(std::random_device{}());
    int timeout = 300 + static_cast<int>(rng() % 300);
    q += "watch=true&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout) +
         "&resourceVersion=" + percent_encode(resource_version_);
  } else {
    q += "limit=500";
  }
  return q;
}

bool Informer::relist(std::string* error) {
  std::map<std::string, json> fresh;
  std::string cont, version;
  do {
    std::string path = kind_.collection_path() + "?" + query(false);
    if (!cont.empty()) path += "&continue=" + percent_encode(cont);
    Reply reply = client_.request("GET", path);
    if (!reply.ok()) {
      *error = "list " + kind_.plural + ": " + reply.describe();
      return false;
    }
    auto page = json::parse(reply.body, nullptr, false);
    if (!page.is_object() || !page.contains("items") || !page["items"].is_array()) {
      *error = "list " + kind_.plural + ": the reply is not a list";
      return false;
    }
    for (auto& item : page["items"]) {
      if (!item.is_object() || !item.contains("metadata")) continue;
      std::string key = key_of(item);
      fresh[key] = std::move(item);
    }
    const auto& meta = page.value("metadata", json::object());
    cont = meta.value("continue", "");
    version = meta.value("resourceVersion", "");
  } while (!cont.empty());

  // Replay the difference against what we held, so that the handlers see
  // deletions that happened while we were not watching.
  std::vector<json> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, object] : objects_) {
      if (!fresh.count(key)) gone.push_back(*object);
    }
  }
  for (const auto& object : gone) store(object, true);
  for (const auto& [key, object] : fresh) store(object, false);
  {
    std::lock_guard lock(mu_);
    resource_version_ = version;
  }
  ++relists_;
  synced_ = true;
  return true;
}

bool Informer::on_event(std::string_view line, bool* gone) {
  auto event = json::parse(line, nullptr, false);
  if (!event.is_object() || !event.contains("object") || !event["object"].is_object()) {
    spdlog::warn("watch {}: malformed event, restarting the watch", kind_.plural);
    return false;
  }
  std::string type = event.value("type", "");
  const json& object = event["object"];
  if (type == "ERROR") {
    if (object.value("code", 0) == 410) {
      *gone = true;
    } else {
      spdlog::warn("watch {}: {}", kind_.plural, object.value("message", object.dump()));
    }
    return false;
  }
  if (!object.contains("metadata") || !object["metadata"].is_object()) return false;
  std::string version = object["metadata"].value("resourceVersion", "");
  if (type == "ADDED" || type == "MODIFIED")
    store(object, false);
  else if (type == "DELETED")
    store(object, true);
  else if (type != "BOOKMARK")
    return false;
  std::lock_guard lock(mu_);
  if (!version.empty()) resource_version_ = version;
  return true;
}

void Informer::sleep_for(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, delay, [this] { return stopping_.load(); });
}

void Informer::run() {
  bool need_list = true;
  int failures = 0;
  std::mt19937 rng(std::random_device{}());
  auto back_off = [&](const std::string& why) {
    ++failures;
    // 250ms doubling to 30s, with jitter so replicas do not retry in step.
    auto base = std::min<int64_t>(250LL << std::min(failures - 1, 7), 30'000);
    auto delay = std::chrono::milliseconds(base / 2 + rng() % (base / 2 + 1));
    spdlog::warn("{} (retrying in {}ms)", why, delay.count());
    sleep_for(delay);
  };
  while (!stopping_) {
    if (need_list) {
      std::string error;
      bool listed = false;
      try {
        listed = relist(&error);
      } catch (const std::exception& e) {
        error = "list " + kind_.plural + ": " + e.what();
      }
      if (!listed) {
        back_off(error);
        continue;
      }
      need_list = false;
    }
    std::string path;
    {
      std::lock_guard lock(mu_);
      path = kind_.collection_path() + "?" + query(true);
    }
    bool gone = false;
    Reply reply = client_.stream(
        path,
        [&](std::string_view line) {
          try {
            return on_event(line, &gone);
          } catch (const std::exception& e) {  // a malformed object: never kill the thread
            spdlog::warn("watch {}: {}", kind_.plural, e.what());
            return false;
          }
        },
        &stopping_);
    if (stopping_) break;
    ++watch_restarts_;
    if (gone || reply.status == 410) {
      spdlog::info("watch {}: resourceVersion expired (410), listing again", kind_.plural);
      need_list = true;
      failures = 0;
    } else if (!reply.ok()) {
      back_off("watch " + kind_.plural + ": " + reply.describe());
    } else {
      failures = 0;  // the server ended the watch (timeout): resume at once
    }
  }
}

}  // namespace wok::kube

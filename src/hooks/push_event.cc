#include "hooks/push_event.h"

#include <nlohmann/json.hpp>

namespace wok::hooks {
namespace {

using nlohmann::json;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: the value of `payload`, decoded; false
// when there is none or an escape is broken.
bool form_payload(std::string_view body, std::string* out) {
  for (std::string_view rest = body; !rest.empty();) {
    std::string_view pair = rest.substr(0, rest.find('&'));
    rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
    if (!pair.starts_with("payload=")) continue;
    pair.remove_prefix(8);
    out->clear();
    for (size_t i = 0; i < pair.size(); ++i) {
      if (pair[i] == '+') {
        *out += ' ';
      } else if (pair[i] == '%') {
        if (i + 2 >= pair.size()) return false;
        int hi = hex_value(pair[i + 1]), lo = hex_value(pair[i + 2]);
        if (hi < 0 || lo < 0) return false;
        *out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        *out += pair[i];
      }
    }
    return true;
  }
  return false;
}

// The event as its forge named it, and our kind of it.
void classify(const http::Request& request, PushEvent* event) {
  if (request.has_header("X-Gitea-Event") || request.has_header("X-Gogs-Event")) {
    event->name = request.has_header("X-Gitea-Event") ? request.header("X-Gitea-Event")
                                                      : request.header("X-Gogs-Event");
    event->kind = event->name == "push" ? EventKind::kPush : EventKind::kOther;
  } else if (request.has_header("X-GitHub-Event")) {
    event->name = request.header("X-GitHub-Event");
    event->kind = event->name == "push"   ? EventKind::kPush
                  : event->name == "ping" ? EventKind::kPing
                                          : EventKind::kOther;
  } else if (request.has_header("X-Gitlab-Event")) {
    event->name = request.header("X-Gitlab-Event");
    event->kind = event->name == "Push Hook" || event->name == "Tag Push Hook" ? EventKind::kPush
                                                                               : EventKind::kOther;
  } else {
    event->name = "push";  // a plain hook: `{"ref": "refs/heads/main"}`
    event->kind = EventKind::kPush;
  }
}

}  // namespace

PushEvent read_event(const http::Request& request) {
  PushEvent event;
  classify(request, &event);
  if (event.kind != EventKind::kPush) return event;  // a ping's or another event's body is not read
  std::string form;
  std::string_view text = request.body;
  if (request.header("Content-Type").starts_with("application/x-www-form-urlencoded")) {
    if (!form_payload(request.body, &form)) {
      event.error = "the form body has no readable payload field";
      return event;
    }
    text = form;
  }
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    event.error = "the body is not a JSON object";
    return event;
  }
  if (!body.contains("ref") || !body["ref"].is_string() || body["ref"].get<std::string>().empty()) {
    event.error =
        "the push event has no \"ref\" (a plain hook sends {\"ref\": \"refs/heads/BRANCH\"})";
    return event;
  }
  event.ref = body["ref"].get<std::string>();
  // GitHub says so; GitLab and Gitea give the new commit as all zeros.
  static const std::string kNoCommit(40, '0');
  event.deleted = (body.contains("deleted") && body["deleted"] == true) ||
                  (body.contains("after") && body["after"] == kNoCommit);
  return event;
}

bool ref_matches(std::string_view pushed, std::string_view site_ref) {
  if (site_ref.empty()) return false;
  if (site_ref.starts_with("refs/")) return pushed == site_ref;
  for (std::string_view prefix : {"refs/heads/", "refs/tags/"}) {
    if (pushed.size() == prefix.size() + site_ref.size() && pushed.starts_with(prefix) &&
        pushed.ends_with(site_ref)) {
      return true;
    }
  }
  return false;
}

}  // namespace wok::hooks

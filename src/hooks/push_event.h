#pragma once
// What a verified push webhook asks for: which event (GitHub's X-GitHub-Event,
// GitLab's X-Gitlab-Event, Gitea's X-Gitea-Event; none: a plain hook, taken
// as a push) and, for a push, which ref moved. Read only after the signature
// is checked: an unverified body is never parsed.
#include <string>
#include <string_view>

#include "http/message.h"

namespace wok::hooks {

enum class EventKind { kPush, kPing, kOther };

struct PushEvent {
  EventKind kind = EventKind::kOther;
  std::string
      name;         // as the forge named it ("push", "Push Hook", "issues"); "push" for plain hooks
  std::string ref;  // a push's full ref ("refs/heads/main")
  bool deleted = false;  // a push that deleted its ref (nothing to fetch)
  std::string error;     // the body is unreadable (answered 400)
};

// The body is JSON, or (GitHub's other content type) a form whose `payload`
// field is the JSON.
PushEvent read_event(const http::Request& request);

// Whether a pushed ref is the one a site follows: its spec.source.git.ref
// names a branch or a tag ("main", "v1.2"), or is a full ref ("refs/heads/main").
bool ref_matches(std::string_view pushed, std::string_view site_ref);

}  // namespace wok::hooks

#pragma once
// The client side of the API's watches (docs/api.md, "Watch"): `wok get -w`
// and `wok wait` follow objects through one stream at a time, resumed from
// the last version seen when the server ends it, listed again on 410.
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "cmd/resources.h"
#include "cmd/session.h"

namespace wok::cmd {

struct WatchOutcome {
  enum End {
    kEnded,    // the server ended the stream (its timeout, its stop): watch again
    kStopped,  // on_event returned false
    kGone,     // 410: the version is too old; list again
    kFailed,   // refused (`error`), or the connection failed
  } end = kEnded;
  std::string error;
  int64_t last_version = 0;  // of the last event (bookmarks too); 0 if none
};

// One watch of the collection at `path` (collection_path(), events_path()),
// only what `selector` selects ("metadata.name=www",
// "involvedObject.name=www"; "" everything), from `from` (0: the current
// objects first, as ADDED), for at most `seconds`. on_event gets every
// ADDED, MODIFIED and DELETED event ({"type", "object"}); bookmarks only
// move last_version. `not_found`: the message for a 404.
WatchOutcome watch_once(Session& session, const std::string& path, const std::string& selector,
                        int64_t from, int seconds,
                        const std::function<bool(const nlohmann::json&)>& on_event,
                        const std::string& not_found = "");

// .../namespaces/{project}/events
std::string events_path(const std::string& project);

// `wok get events -n PROJECT [--for site/NAME] [-o json|yaml] [-w|--watch-only]`:
// LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, oldest first.
int events_command(Session& session, const std::string& for_object, const std::string& output,
                   bool watch, bool watch_only);
// The rows of `wok describe site`'s Events (TYPE REASON AGE FROM MESSAGE), "" when none.
std::string format_site_events(const nlohmann::json& items, const std::string& indent);

// The metadata.resourceVersion of an object or a list, 0 if absent.
int64_t version_of(const nlohmann::json& object);

// `wok wait KIND NAME --for=condition=Ready[=True|False] | delete |
// jsonpath={.status.phase}=VALUE --timeout=D`: 0 once it holds ("site.wok.dev/www
// condition met"), 1 on timeout or error.
int wait_command(Session& session, Kind kind, const std::string& name, const std::string& for_text,
                 std::chrono::milliseconds timeout);
// Whether a --for is well formed ("" if so, else why not).
std::string check_wait_for(const std::string& for_text);

}  // namespace wok::cmd

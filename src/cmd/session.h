#pragma once
// What every command gets: the API client, the -n project, and its streams.
#include <iosfwd>
#include <string>
#include <string_view>

#include "cmd/client.h"

namespace wok::cmd {

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

struct Session {
  ApiClient client;
  std::string project;  // -n / --namespace / --project; may be empty
  Io io;

  // Prints "error: <message>" on stderr and returns exit code 1.
  int fail(std::string_view message) const;
  // fail() with failure_message() of a response.
  int fail(const HttpResponse& response, std::string_view not_found = {}) const;
};

// False, having said "pass -n PROJECT" (and set *exit_code), when a command
// about a site has no project.
bool require_project(Session& session, int* exit_code);

}  // namespace wok::cmd

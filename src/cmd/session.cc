#include "cmd/session.h"

#include <ostream>

namespace wok::cmd {

int Session::fail(std::string_view message) const {
  io.err << "error: " << message << '\n';
  return 1;
}

int Session::fail(const HttpResponse& response, std::string_view not_found) const {
  return fail(failure_message(response, client.server(), not_found));
}

bool require_project(Session& session, int* exit_code) {
  if (!session.project.empty()) return true;
  *exit_code = session.fail("a site is named within its project: pass -n PROJECT");
  return false;
}

}  // namespace wok::cmd

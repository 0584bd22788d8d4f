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

}  // namespace wok::cmd

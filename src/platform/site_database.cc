#include "platform/site_database.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/unique_fd.h"
#include "controllers/database_jobs.h"
#include "store/store.h"

namespace wok::platform {

using nlohmann::json;

namespace {

base::UniqueFd temp_file(const std::filesystem::path& dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  base::UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd.valid())
    *error = "cannot make a temporary file in " + dir.string() + ": " + std::strerror(errno);
  return fd;
}

}  // namespace

server::DatabaseAnswer site_database(store::Store& store, runtime::Runtime& runtime,
                                     const controllers::SecretReader& read_secret,
                                     const std::filesystem::path& tmp_dir, const std::string& ns,
                                     const std::string& name, bool dump, const std::string& sql,
                                     int sql_fd) {
  server::DatabaseAnswer answer;
  auto fail = [&](int status, std::string error) {
    answer.status = status;
    answer.error = std::move(error);
    return answer;
  };
  auto site = store.get("Site", ns, name);
  if (!site) return fail(404, "site \"" + name + "\" not found in project \"" + ns + "\"");
  auto live = store.live_revision((*site)["metadata"].value("uid", ""));
  if (!live) return fail(503, "site " + ns + "/" + name + " has no live revision yet");
  json spec = json::parse(live->spec, nullptr, false);
  if (spec.is_discarded()) return fail(500, "the live revision's spec does not parse");
  std::string error;
  base::UniqueFd out = temp_file(tmp_dir, &error);
  if (!out.valid()) return fail(500, error);
  base::UniqueFd in;
  controllers::DatabaseJobIo io;
  io.stdout_fd = out.get();
  // A dump of a large database may take a while; a statement should not.
  io.timeout = dump ? std::chrono::minutes(30) : std::chrono::minutes(10);
  if (!dump && sql_fd >= 0) {
    if (::lseek(sql_fd, 0, SEEK_SET) != 0)
      return fail(500, std::string("cannot read the uploaded SQL: ") + std::strerror(errno));
    io.stdin_fd = sql_fd;
  } else if (!dump) {
    in = temp_file(tmp_dir, &error);
    if (!in.valid()) return fail(500, error);
    if (!base::write_all(in.get(), sql) || ::lseek(in.get(), 0, SEEK_SET) != 0)
      return fail(500, std::string("cannot keep the SQL: ") + std::strerror(errno));
    io.stdin_fd = in.get();
  }
  controllers::DatabaseJobResult r = controllers::run_database_job(
      store, runtime, read_secret, *site, spec,
      dump ? controllers::DatabaseAction::kDump : controllers::DatabaseAction::kExec, io);
  if (r.no_database) return fail(404, r.error);
  if (r.not_running) return fail(503, r.error);
  if (!r.error.empty()) return fail(dump ? 500 : 422, r.error);
  struct stat st {};
  if (::fstat(out.get(), &st) != 0 || ::lseek(out.get(), 0, SEEK_SET) != 0)
    return fail(500, std::string("cannot read the output back: ") + std::strerror(errno));
  answer.length = static_cast<size_t>(st.st_size);
  answer.fd = out.release();
  return answer;
}

}  // namespace wok::platform

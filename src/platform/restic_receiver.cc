#include "platform/restic_receiver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string_view>

#include "api/base64.h"
#include "hooks/signature.h"
#include "http/server.h"

namespace wok::platform {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 5> kTypes = {"data", "keys", "locks", "snapshots", "index"};
constexpr char kRestV2[] = "application/vnd.x.restic.rest.v2";

bool is_id(std::string_view name) {
  return name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool is_type(std::string_view type) {
  for (auto t : kTypes)
    if (t == type) return true;
  return false;
}

// Where restic's local backend keeps a file: data/ab/abcd..., others flat.
fs::path file_of(const fs::path& dir, std::string_view type, std::string_view name) {
  if (type == "data") return dir / "data" / std::string(name.substr(0, 2)) / std::string(name);
  return dir / std::string(type) / std::string(name);
}

void text(http::Response& resp, int status, const std::string& body) {
  resp.status = status;
  resp.set_header("Content-Type", "text/plain; charset=utf-8");
  resp.body = body + "\n";
}

bool authorized(const http::Request& req, const std::string& token) {
  std::string_view auth = req.header("Authorization");
  if (!auth.starts_with("Basic ")) return false;
  auto decoded = api::base64_decode(auth.substr(6));
  if (!decoded) return false;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  return hooks::constant_time_equal(std::string_view(*decoded).substr(colon + 1), token);
}

// Sends `path` (a regular file, never a link: opened with O_NOFOLLOW),
// whole or the range `Range: bytes=A-B` / `bytes=A-` asks for.
void send_file(const http::Request& req, http::Response& resp, const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) ::close(fd);
    return text(resp, 404, "not found");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t from = 0, to = size;  // [from, to)
  std::string_view range = req.header("Range");
  if (!range.empty()) {
    uint64_t a = 0, b = 0;
    char dash = 0;
    std::string r(range);
    int n = std::sscanf(r.c_str(), "bytes=%lu%c%lu", &a, &dash, &b);
    if (n < 2 || dash != '-' || a >= size || (n == 3 && b < a)) {
      ::close(fd);
      resp.set_header("Content-Range", "bytes */" + std::to_string(size));
      return text(resp, 416,
                  "range " + r + " is not within the file's " + std::to_string(size) + " bytes");
    }
    from = a;
    to = n == 3 ? std::min(size, b + 1) : size;
    resp.status = 206;
    resp.set_header("Content-Range", "bytes " + std::to_string(from) + "-" +
                                         std::to_string(to - 1) + "/" + std::to_string(size));
  }
  resp.set_header("Content-Type", "application/octet-stream");
  resp.file_fd = fd;
  resp.file_offset = static_cast<off_t>(from);
  resp.file_length = static_cast<size_t>(to - from);
}

// Writes `body` at `path` once: a file already there is never replaced
// (a repository's files are named by their content's hash).
void save_file(const http::Request& req, http::Response& resp, const fs::path& path) {
  const fs::path part = path.string() + ".part";
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) return text(resp, 409, "a write of this file is under way");
  if (fd < 0) return text(resp, 404, "no repository: create it");
  bool ok = true;
  for (size_t done = 0; ok && done < req.body.size();) {
    ssize_t n = ::write(fd, req.body.data() + done, req.body.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ::close(fd) == 0 && ok;
  // link(2) fails when the name exists: the first write stays.
  if (ok && ::link(part.c_str(), path.c_str()) != 0) {
    ::unlink(part.c_str());
    return text(resp, 403, "the file exists and is never replaced");
  }
  ::unlink(part.c_str());
  if (!ok) return text(resp, 507, "writing the file failed");
  resp.status = 200;
}

void list_type(const http::Request& req, http::Response& resp, const fs::path& dir,
               std::string_view type) {
  json names = json::array(), v2 = json::array();
  std::vector<fs::path> dirs;
  if (type == "data") {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir / "data", ec))
      if (e.is_directory() && !e.is_symlink()) dirs.push_back(e.path());
  } else {
    dirs.push_back(dir / std::string(type));
  }
  for (const fs::path& d : dirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      struct stat st {};
      if (!is_id(name) || ::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      names.push_back(name);
      v2.push_back({{"name", name}, {"size", st.st_size}});
    }
  }
  const bool wants_v2 = req.header("Accept").find(kRestV2) != std::string_view::npos;
  resp.status = 200;
  resp.set_header("Content-Type", wants_v2 ? kRestV2 : "application/json");
  resp.body = (wants_v2 ? v2 : names).dump();
}

bool has_snapshot(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "snapshots", ec))
    if (is_id(e.path().filename().string())) return true;
  return false;
}

}  // namespace

http::Handler restic_repository_handler(const fs::path& dir, std::string token,
                                        std::function<void()> done) {
  auto once = std::make_shared<std::once_flag>();
  return [dir, token = std::move(token), done = std::move(done), once](const http::Request& req,
                                                                       http::Response& resp) {
    if (token.empty() || !authorized(req, token)) {
      resp.set_header("WWW-Authenticate", "Basic realm=\"wok transfer\"");
      return text(resp, 401, "the transfer's token is needed (basic auth)");
    }
    const std::string& m = req.method;
    const bool read = m == "GET" || m == "HEAD";
    const std::string& path = req.path;
    if (path == "/") {
      if (m != "POST" || req.query != "create=true")
        return text(resp, 405, "/ takes POST /?create=true only");
      std::error_code ec;
      for (auto t : kTypes) fs::create_directories(dir / std::string(t), ec);
      for (int i = 0; i < 256 && !ec; ++i) {
        char sub[3];
        std::snprintf(sub, sizeof sub, "%02x", i);
        fs::create_directories(dir / "data" / sub, ec);
      }
      if (ec) return text(resp, 500, "making the repository failed: " + ec.message());
      resp.status = 200;
      return;
    }
    if (path == "/done") {
      if (m != "POST") return text(resp, 405, "/done takes POST");
      if (!has_snapshot(dir)) return text(resp, 409, "the repository holds no snapshot yet");
      resp.status = 200;
      resp.body = "received\n";
      std::call_once(*once, done);
      return;
    }
    if (path == "/config") {
      if (read) return send_file(req, resp, dir / "config");
      if (m == "POST") {
        if (!fs::is_directory(dir / "keys")) return text(resp, 404, "no repository: create it");
        return save_file(req, resp, dir / "config");
      }
      return text(resp, 405, m + " /config is not served");
    }
    // /TYPE/ or /TYPE/NAME
    const size_t slash = path.find('/', 1);
    const std::string type =
        path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    const std::string name = slash == std::string::npos ? "" : path.substr(slash + 1);
    if (!is_type(type) || slash == std::string::npos)
      return text(resp, 404, "not a path of a restic repository");
    if (!fs::is_directory(dir / type)) return text(resp, 404, "no repository: create it");
    if (name.empty()) {
      if (m != "GET") return text(resp, 405, m + " of a list is not served");
      return list_type(req, resp, dir, type);
    }
    if (!is_id(name)) return text(resp, 400, "a file's name is 64 lowercase hex digits");
    const fs::path file = file_of(dir, type, name);
    if (read) return send_file(req, resp, file);
    if (m == "POST") return save_file(req, resp, file);
    if (m == "DELETE") {
      // A one-time repository loses nothing: restic deletes its locks only.
      if (type != "locks") return text(resp, 403, "only locks are deleted here");
      if (::unlink(file.c_str()) != 0) return text(resp, 404, "not found");
      resp.status = 200;
      return;
    }
    return text(resp, 405, m + " is not served");
  };
}

int receive_repository(const ReceiveOptions& o, std::ostream& out, std::ostream& err) {
  if (o.token.size() < 16) {
    err << "error: the transfer's token is missing or shorter than 16 characters\n";
    return 1;
  }
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) {
    err << "error: making " << o.dir.string() << ": " << ec.message() << "\n";
    return 1;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  http::ServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.threads = 2;
  // restic's packs are 16 MiB by default (the copy sets no --pack-size);
  // a body is held whole, a few at once, within the container's 256 MiB.
  so.max_body_bytes = 32u << 20;
  so.max_connections = 16;  // restic opens 5
  so.body_timeout_ms = 120'000;
  http::Server server(so, restic_repository_handler(o.dir, o.token, [&] {
                        std::lock_guard lock(mu);
                        finished = true;
                        cv.notify_all();
                      }));
  std::string why;
  if (!server.start(&why)) {
    err << "error: listening on " << o.host << ":" << o.port << ": " << why << "\n";
    return 1;
  }
  err << "receiving a repository into " << o.dir.string() << " on " << o.host << ":"
      << server.port() << "\n"
      << std::flush;
  bool done = false;
  {
    std::unique_lock lock(mu);
    done = cv.wait_for(lock, o.timeout, [&] { return finished; });
  }
  server.stop(5000);  // the answer to /done goes out first
  if (!done) {
    err << "error: nothing was received within " << o.timeout.count()
        << " s (the copying Job failed, or never ran)\n";
    return 1;
  }
  out << json{{"received", o.dir.string()}}.dump() << "\n";
  return 0;
}

}  // namespace wok::platform

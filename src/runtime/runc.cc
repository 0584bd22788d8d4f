#include "runtime/runc.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/subprocess.h"

namespace wok::runtime {
namespace fs = std::filesystem;

Runc::Runc(std::string binary, fs::path root)
    : binary_(std::move(binary)), root_(std::move(root)) {}

std::vector<std::string> Runc::base() const { return {binary_, "--root", root_.string()}; }

namespace {

// The last error runc logged (its --log file is JSON lines).
std::string last_logged_error(const fs::path& log_path) {
  std::ifstream in(log_path);
  std::string line, last;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("level", "") == "error") last = j.value("msg", line);
  }
  return last;
}

}  // namespace

int Runc::run_detached(const std::string& id, const fs::path& bundle, int stdout_fd, int stderr_fd,
                       const fs::path& log_path, std::string* error) {
  fs::path pid_file = bundle / "init.pid";
  std::error_code ec;
  fs::remove(pid_file, ec);
  fs::remove(log_path, ec);
  auto args = base();
  args.insert(args.begin() + 1, {"--log", log_path.string(), "--log-format", "json"});
  for (const char* a : {"run", "--detach", "--no-new-keyring", "--bundle"}) args.push_back(a);
  args.push_back(bundle.string());
  args.push_back("--pid-file");
  args.push_back(pid_file.string());
  args.push_back(id);
  auto r = run_command(args, std::chrono::seconds(60), stdout_fd, stderr_fd);
  if (!r.ok()) {
    std::string why = last_logged_error(log_path);
    *error = "runc run " + id + " failed" + (why.empty() ? r.describe("") : ": " + why);
    return 0;
  }
  int pid = 0;
  std::ifstream(pid_file) >> pid;
  if (pid <= 0) *error = "runc run " + id + ": no pid file";
  return pid;
}

std::vector<std::string> Runc::run_foreground_command(const std::string& id, const fs::path& bundle,
                                                      const fs::path& log_path) const {
  // Spawned with posix_spawn (no PATH search): the binary's absolute path.
  std::string binary = binary_;
  if (binary.find('/') == std::string::npos) {
    const char* env = std::getenv("PATH");
    std::string dirs =
        std::string(env ? env : "") + ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string dir = dirs.substr(start, end - start);
      if (!dir.empty() && dir[0] == '/' && ::access((fs::path(dir) / binary_).c_str(), X_OK) == 0) {
        binary = (fs::path(dir) / binary_).string();
        break;
      }
      start = end + 1;
    }
  }
  return {binary, "--root", root_.string(),     "--log",    log_path.string(), "--log-format",
          "json", "run",    "--no-new-keyring", "--bundle", bundle.string(),   id};
}

int Runc::pid_of(const std::string& id) const {
  auto args = base();
  args.insert(args.end(), {"state", id});
  auto r = run_command(args, std::chrono::seconds(30));
  if (!r.ok()) return 0;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_object() ? j.value("pid", 0) : 0;
}

bool Runc::kill(const std::string& id, int signal, std::string* error) {
  auto args = base();
  args.insert(args.end(), {"kill", id, std::to_string(signal)});
  auto r = run_command(args, std::chrono::seconds(30));
  if (!r.ok()) *error = r.describe("runc kill " + id);
  return r.ok();
}

bool Runc::remove(const std::string& id, std::string* error) {
  auto args = base();
  args.insert(args.end(), {"delete", "--force", id});
  auto r = run_command(args, std::chrono::seconds(30));
  if (!r.ok() && r.err.find("does not exist") == std::string::npos) {
    *error = r.describe("runc delete " + id);
    return false;
  }
  return true;
}

std::vector<RuncContainer> Runc::list(std::string* error) {
  auto args = base();
  args.insert(args.end(), {"list", "--format", "json"});
  auto r = run_command(args, std::chrono::seconds(30));
  std::vector<RuncContainer> out;
  if (!r.ok()) {
    *error = r.describe("runc list");
    return out;
  }
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_array()) return out;  // runc prints "null" when there are none
  for (const auto& c : j)
    out.push_back(
        {c.value("id", ""), c.value("status", ""), c.value("pid", 0), c.value("bundle", "")});
  return out;
}

}  // namespace wok::runtime

#pragma once
// The runc command line, under wok's own state directory (--root), so wok
// sees and touches only its own containers.
#include <filesystem>
#include <string>
#include <vector>

namespace wok::runtime {

struct RuncContainer {
  std::string id;
  std::string status;  // "created", "running", "paused", "stopped"
  int pid = 0;
  std::string bundle;
};

class Runc {
 public:
  Runc(std::string binary, std::filesystem::path root);

  // `runc run --detach`: the container's stdout/stderr are the given files,
  // runc's own diagnostics go to log_path. Returns the init pid, or 0 with
  // `error` set.
  int run_detached(const std::string& id, const std::filesystem::path& bundle, int stdout_fd,
                   int stderr_fd, const std::filesystem::path& log_path, std::string* error);
  // `runc run` in the foreground (the container's stdio are its own, its exit
  // status the container's), with runc's absolute path first.
  std::vector<std::string> run_foreground_command(const std::string& id,
                                                  const std::filesystem::path& bundle,
                                                  const std::filesystem::path& log_path) const;
  int pid_of(const std::string& id) const;  // init pid from `runc state`, 0 if none
  bool kill(const std::string& id, int signal, std::string* error);  // whole container
  bool remove(const std::string& id, std::string* error);            // delete --force
  std::vector<RuncContainer> list(std::string* error);

  const std::filesystem::path& root() const { return root_; }

 private:
  std::vector<std::string> base() const;
  std::string binary_;
  std::filesystem::path root_;
};

}  // namespace wok::runtime

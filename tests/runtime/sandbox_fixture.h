#pragma once
// Shared setup of the tests that run real runc containers: a private data
// directory, a Runtime, and a cleanup that leaves no container, mount or
// directory behind even when a test fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/log_files.h"
#include "runtime/runtime.h"
#include "runtime/subprocess.h"

namespace wok::runtime::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline bool have(const std::string& tool) {
  return run_command({"sh", "-c", "command -v " + tool}).ok();
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: runc containers with their own namespaces";
    if (!have("runc")) GTEST_SKIP() << "runc is not installed (Debian package runc)";
    char tmpl[] = "/tmp/wok-runtime-test-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
    // The sandbox user must be able to reach volumes below this directory.
    std::filesystem::permissions(dir_, std::filesystem::perms(0755));
    make_runtime();
  }

  void make_runtime(RuntimeOptions options = {}) {
    options.data_dir = dir_ / "data";
    runtime_ = std::make_unique<Runtime>(std::move(options));
  }

  void TearDown() override {
    if (dir_.empty()) return;
    if (runtime_) {
      runtime_->shutdown();
      // Networks outlive a runtime (a restarted wok adopts them): not a test's.
      for (const auto& net : runtime_->networks()) runtime_->remove_network(net);
    }
    runtime_.reset();
    // Belt and braces: whatever a failed test left under our runc root.
    std::string root = (dir_ / "data" / "runc").string();
    auto listed = run_command({"runc", "--root", root, "list", "-q"});
    std::istringstream ids(listed.out);
    for (std::string id; std::getline(ids, id);) {
      ADD_FAILURE() << "container " << id << " left behind";
      run_command({"runc", "--root", root, "delete", "--force", id});
    }
    std::filesystem::remove_all(dir_);
  }

  // A host directory for volumes, with files.
  std::filesystem::path make_dir(const std::string& name) {
    auto p = dir_ / name;
    std::filesystem::create_directories(p);
    std::filesystem::permissions(p, std::filesystem::perms(0755));
    return p;
  }

  InstanceSpec shell(const std::string& id, const std::string& project, const std::string& script) {
    InstanceSpec s;
    s.id = id;
    s.project = project;
    s.command = {"/bin/sh", "-c", script};
    s.grace = std::chrono::seconds(2);
    return s;
  }

  void start(const InstanceSpec& spec) {
    std::string error;
    ASSERT_TRUE(runtime_->start(spec, &error)) << error;
  }

  // Waits until the instance's stdout contains `marker`; returns all of it.
  std::string wait_output(const std::string& id, const std::string& marker,
                          std::chrono::seconds timeout = std::chrono::seconds(60)) {
    auto path = runtime_->log_path(id, LogStream::Stdout);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      out = read_file(path);
      if (out.find(marker) != std::string::npos) return out;
      ::usleep(50000);
    }
    auto st = runtime_->status(id);
    ADD_FAILURE() << "no \"" << marker << "\" from " << id << "; stdout: " << out
                  << "; stderr: " << read_file(runtime_->log_path(id, LogStream::Stderr))
                  << "; last error: " << (st ? st->last_error : "unknown instance");
    return out;
  }

  bool wait_phase(const std::string& id, Phase phase,
                  std::chrono::seconds timeout = std::chrono::seconds(60)) {
    bool ok = runtime_->wait_until(
        id, [&](const InstanceStatus& s) { return s.phase == phase; }, timeout);
    if (!ok) {
      auto st = runtime_->status(id);
      ADD_FAILURE() << id << " never reached " << phase_name(phase) << "; now "
                    << (st ? phase_name(st->phase) : "unknown")
                    << ", last error: " << (st ? st->last_error : "")
                    << "; stderr: " << read_file(runtime_->log_path(id, LogStream::Stderr));
    }
    return ok;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace wok::runtime::testing

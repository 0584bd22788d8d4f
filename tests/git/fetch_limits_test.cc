// Remote fetches: refused destinations (loopback, link-local, private, the
// cloud metadata address) before any connection, and the time and size
// limits of a transfer, end to end over git:// against a real git daemon on
// loopback (which the test's policy then allows).
#include "git/fetch_limits.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "git/checked_stream.h"
#include "git/repository.h"

namespace wok::git {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "wok-fetch-limits-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

// A socket bound to 127.0.0.1:0 (listening when `backlog` > 0); its port
// in *port. -1 on failure.
int bind_loopback(uint16_t* port, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      (backlog > 0 && listen(fd, backlog) != 0)) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// A port on loopback where nothing listens: bound, then closed.
uint16_t closed_port() {
  uint16_t port = 0;
  close(bind_loopback(&port, 0));
  return port;
}

// `git daemon --inetd` behind a listening socket on 127.0.0.1:0, one
// process per connection: the real git protocol over TCP, no fixed port.
class GitDaemon {
 public:
  explicit GitDaemon(const fs::path& base) : base_path_("--base-path=" + base.string()) {
    listen_fd_ = bind_loopback(&port_, 8);
    if (listen_fd_ < 0) return;
    accepter_ = std::thread([this] { serve(); });
  }
  ~GitDaemon() {
    shutdown(listen_fd_, SHUT_RDWR);
    if (accepter_.joinable()) accepter_.join();
    close(listen_fd_);
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    const char* argv[] = {"git", "daemon", "--inetd", "--export-all", base_path_.c_str(), nullptr};
    while (true) {
      int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) return;
      ++connections_;
      pid_t pid = fork();
      if (pid == 0) {
        dup2(conn, 0);
        dup2(conn, 1);
        execvp("git", const_cast<char* const*>(argv));
        _exit(127);
      }
      if (pid > 0) children_.push_back(pid);
      close(conn);
    }
  }

  std::string base_path_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::vector<pid_t> children_;  // touched by the accepter until it is joined
  std::thread accepter_;
};

// Accepts connections on 127.0.0.1:0 and never says a word: a git server
// that stalls a fetch (after the TCP handshake, so only a read can wait).
// With `hang_up`, it closes each connection at once instead.
class SilentServer {
 public:
  explicit SilentServer(bool hang_up = false) {
    listen_fd_ = bind_loopback(&port_, 8);
    if (listen_fd_ < 0) return;
    accepter_ = std::thread([this, hang_up] {
      for (int fd; (fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
        ++connections_;
        if (hang_up) {
          close(fd);
        } else {
          held_.push_back(fd);
        }
      }
    });
  }
  ~SilentServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    if (accepter_.joinable()) accepter_.join();
    close(listen_fd_);
    for (int fd : held_) close(fd);
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::vector<int> held_;  // touched by the accepter until it is joined
  std::thread accepter_;
};

TEST(RemoteHostTest, NetworkUrlsNameTheirHost) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://git.example.org/team/site.git", "git.example.org"},
      {"http://user:pa@ss@127.0.0.1:8080/x", "127.0.0.1"},
      {"HTTPS://Example.org", "Example.org"},
      {"http://[::1]:9/x", "::1"},
      {"ssh://git@10.0.0.1:2222/x.git", "10.0.0.1"},
      {"git://172.16.0.9/x", "172.16.0.9"},
      {"git+ssh://h/x", "h"},
      {"git@github.com:team/site.git", "github.com"},
      {"host:repo.git", "host"},
      {"me@[fe80::1]:repo", "fe80::1"},
      {"http://127.0.0.%31/x", "127.0.0.1"},  // libgit2 decodes the host too
      {"http://h?x=1", "h"},
  };
  for (const auto& [url, host] : cases) EXPECT_EQ(remote_host(url), host) << url;
  for (const char* local : {"file:///srv/x.git", "/srv/x.git", "./x", "../x:y", "relative/dir:x",
                            "plain", "nosuchscheme://example.invalid/x"}) {
    EXPECT_EQ(remote_host(local), "") << local;
  }
}

TEST(CheckDestinationTest, RefusesLoopbackLinkLocalPrivateAndMetadata) {
  const std::pair<const char*, const char*> refused[] = {
      {"http://127.0.0.1:1/", "address 127.0.0.1 is a loopback address"},
      {"http://127.1.2.3/", "a loopback address"},
      {"http://2130706433/x", "127.0.0.1, a loopback address"},  // 127.0.0.1 as one number
      {"http://0x7f.1/x", "127.0.0.1, a loopback address"},
      {"http://localhost:1/x", "host localhost resolves to"},
      {"http://[::1]:1/x", "address ::1 is a loopback address"},
      {"http://[::ffff:127.0.0.1]/x", "a loopback address"},
      {"http://169.254.169.254/latest/meta-data/",
       "address 169.254.169.254 is the cloud metadata address"},
      {"http://[fd00:ec2::254]/", "the cloud metadata address"},
      {"http://100.100.100.200/", "the cloud metadata address"},
      {"http://169.254.1.1/", "a link-local address"},
      {"http://[fe80::1]/", "a link-local address"},
      {"https://10.1.2.3/x.git", "a private address"},
      {"https://172.31.255.1/x.git", "a private address"},
      {"https://192.168.0.10/x.git", "a private address"},
      {"https://[fd12:3456::1]/x.git", "a private address"},
      {"https://100.64.0.1/x.git", "a shared (carrier-grade NAT) address"},
      {"http://0.0.0.0:1/", "an unspecified address"},
      {"http://[::]:1/", "an unspecified address"},
      {"http://224.0.0.1/", "a multicast or reserved address"},
      {"ssh://git@10.0.0.1/x.git", "a private address"},
      {"git@192.168.1.1:x.git", "a private address"},
      {"git://172.16.0.1/x", "a private address"},
      {"http://127.0.0.%31/x", "a loopback address"},
  };
  for (const auto& [url, why] : refused) {
    std::string error = check_destination(url, FetchLimits{});
    EXPECT_TRUE(contains(error, why)) << url << ": " << error;
    EXPECT_TRUE(contains(error, "unless the platform admin allows them")) << url << ": " << error;
    EXPECT_EQ(check_destination(url, FetchLimits{.allow_private_networks = true}), "") << url;
  }
  // Public addresses (numeric: no DNS needed) and local sources pass.
  for (const char* url :
       {"https://93.184.216.34/x.git", "http://8.8.8.8/", "https://[2606:4700::1111]/x",
        "https://172.32.0.1/x", "https://192.169.0.1/x", "file:///srv/x.git", "/srv/x.git"}) {
    EXPECT_EQ(check_destination(url, FetchLimits{}), "") << url;
  }
  EXPECT_TRUE(contains(check_destination("https://no-such-host.invalid/x", FetchLimits{}),
                       "cannot resolve host no-such-host.invalid"));
}

// The refusal comes before any connection: nothing listens on the port,
// and with the policy allowing private networks the same fetch fails the
// other way, connecting.
TEST(FetchLimitsTest, LoopbackAndMetadataAreRefusedBeforeConnecting) {
  TempDir tmp;
  const std::string mirror = (tmp.path() / "mirror.git").string();
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/site.git";
  FetchResult refused = fetch(url, "main", mirror);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(
      refused.error.rfind("cannot fetch " + url + ": address 127.0.0.1 is a loopback address", 0),
      0u)
      << refused.error;
  EXPECT_FALSE(fs::exists(mirror)) << "refused before anything was done";

  FetchResult metadata = fetch("http://169.254.169.254/latest/meta-data/", "main", mirror);
  EXPECT_FALSE(metadata.ok);
  EXPECT_TRUE(contains(metadata.error, "address 169.254.169.254 is the cloud metadata address"))
      << metadata.error;

  FetchResult allowed = fetch(url, "main", mirror, FetchLimits{.allow_private_networks = true});
  EXPECT_FALSE(allowed.ok);
  EXPECT_FALSE(contains(allowed.error, "loopback address")) << allowed.error;
  EXPECT_TRUE(contains(allowed.error, "onnect"))
      << allowed.error;  // libgit2: "failed to connect ..."

  // Credentials in the URL stay out of the refusal too.
  FetchResult secret = fetch("https://user:s3cret@10.0.0.1/x.git", "main", mirror);
  EXPECT_FALSE(contains(secret.error, "s3cret")) << secret.error;
  EXPECT_TRUE(contains(secret.error, "a private address")) << secret.error;
}

// A server that accepts and then says nothing: libgit2 1.5 would wait on it
// forever; the stream gives up at the fetch's deadline. No data ever
// arrives, so no progress callback could have stopped it.
TEST(FetchLimitsTest, StalledServerHitsTheTimeLimit) {
  TempDir tmp;
  SilentServer server;
  ASSERT_NE(server.port(), 0);
  const FetchLimits limits{.timeout = 1s, .allow_private_networks = true};
  for (const std::string scheme : {"git", "http", "https"}) {
    const std::string url = scheme + "://127.0.0.1:" + std::to_string(server.port()) + "/site.git";
    FetchResult stalled = fetch(url, "main", (tmp.path() / (scheme + ".git")).string(), limits);
    EXPECT_FALSE(stalled.ok) << url;
    EXPECT_EQ(stalled.error, "cannot fetch " + url + ": the fetch went over its time limit of 1s")
        << url;
  }
  EXPECT_EQ(server.connections(), 3);
}

// The address a connection is made to is checked when it is made, not only
// when the fetch begins: a name whose DNS answer changes in between (or a
// redirect) gains nothing. Shown on the stream itself, which check_destination
// never saw.
TEST(CheckedStreamTest, ChecksTheAddressItConnectsTo) {
  // Streams are opened by libgit2, initialised; run alone, this test must
  // initialise it itself (its error state is per thread, set up by init).
  git_libgit2_init();
  SilentServer server;
  const std::string port = std::to_string(server.port());
  ConnectionPolicy policy{FetchLimits{}, std::chrono::steady_clock::now() + 30s, ""};
  {
    ConnectionPolicyScope scope(policy);
    git_stream* stream = nullptr;
    ASSERT_EQ(open_checked_stream(&stream, "localhost", port.c_str()), 0);
    EXPECT_LT(stream->connect(stream), 0);
    stream->free(stream);
  }
  EXPECT_EQ(policy.stopped.rfind("host localhost resolves to ", 0), 0u) << policy.stopped;
  EXPECT_TRUE(contains(policy.stopped, "a loopback address")) << policy.stopped;
  ASSERT_NE(git_error_last(), nullptr);
  EXPECT_TRUE(contains(git_error_last()->message, "a loopback address"));
  EXPECT_EQ(server.connections(), 0);

  ConnectionPolicy allowed{FetchLimits{.allow_private_networks = true},
                           std::chrono::steady_clock::now() + 30s, ""};
  {
    ConnectionPolicyScope scope(allowed);
    git_stream* stream = nullptr;
    ASSERT_EQ(open_checked_stream(&stream, "127.0.0.1", port.c_str()), 0);
    EXPECT_EQ(stream->connect(stream), 0);
    EXPECT_EQ(stream->write(stream, "0000", 4, 0), 4);
    stream->free(stream);
  }
  // Outside any fetch the stream is libgit2's plain one: unrestricted.
  git_stream* stream = nullptr;
  ASSERT_EQ(open_checked_stream(&stream, "127.0.0.1", port.c_str()), 0);
  EXPECT_EQ(stream->connect(stream), 0);
  stream->free(stream);
  EXPECT_EQ(allowed.stopped, "");
  git_libgit2_shutdown();
}

// ssh reads its socket out of the stream (libgit2's own layout): it must
// find ours there, connected, and fail cleanly when the server hangs up.
TEST(CheckedStreamTest, SshTransportRunsOverIt) {
  TempDir tmp;
  SilentServer server(/*hang_up=*/true);
  const std::string url = "ssh://git@127.0.0.1:" + std::to_string(server.port()) + "/site.git";
  FetchResult fetched = fetch(url, "main", (tmp.path() / "m.git").string(),
                              FetchLimits{.allow_private_networks = true});
  EXPECT_FALSE(fetched.ok);
  EXPECT_TRUE(contains(fetched.error, "SSH")) << fetched.error;
  EXPECT_EQ(server.connections(), 1);
}

TEST(TransferBudgetTest, NamesTheLimitGoneOver) {
  const auto start = TransferBudget::Clock::now();
  FetchLimits limits{.timeout = 10s, .max_bytes = 1000};
  TransferBudget size(limits, start);
  EXPECT_EQ(size.check(1000, start + 1s), "");
  EXPECT_EQ(size.check(1001, start + 2s),
            "the repository is over the fetch size limit of 1000 bytes (1001 received)");
  EXPECT_EQ(size.check(0, start + 3s), size.exceeded());  // the first reason stays
  TransferBudget time(limits, start);
  EXPECT_EQ(time.check(0, start + 10s), "");
  EXPECT_EQ(time.check(10, start + 11s), "the fetch went over its time limit of 10s");
  EXPECT_EQ(FetchLimits{}.timeout, 300s);
  EXPECT_EQ(FetchLimits{}.max_bytes, uint64_t{2} << 30);
  EXPECT_FALSE(FetchLimits{}.allow_private_networks);
}

// Incompressible content: the pack is about as large as the file.
std::string noise(size_t size) {
  std::string out(size, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

class GitDaemonFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("test -x \"$(git --exec-path)/git-daemon\"") != 0)
      GTEST_SKIP() << "git daemon is missing";
    fs::create_directories(tmp_.path() / "source");
    std::ofstream(tmp_.path() / "source" / "index.html") << "<h1>hello</h1>\n";
    std::ofstream(tmp_.path() / "source" / "big.bin", std::ios::binary) << noise(512 * 1024);
    std::string error;
    commit_ = commit_directory((tmp_.path() / "source").string(),
                               (tmp_.path() / "repos" / "site").string(), "main", "test", &error);
    ASSERT_EQ(error, "");
    daemon_ = std::make_unique<GitDaemon>(tmp_.path() / "repos");
    ASSERT_NE(daemon_->port(), 0);
    url_ = "git://127.0.0.1:" + std::to_string(daemon_->port()) + "/site";
  }

  TempDir tmp_;
  std::string commit_;
  std::unique_ptr<GitDaemon> daemon_;
  std::string url_;
  std::string mirror_ = (tmp_.path() / "mirror.git").string();
};

TEST_F(GitDaemonFetchTest, LoopbackDaemonIsRefusedUnlessAllowed) {
  FetchResult refused = fetch(url_, "main", mirror_);
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(contains(refused.error, "address 127.0.0.1 is a loopback address")) << refused.error;
  EXPECT_EQ(daemon_->connections(), 0);

  FetchResult allowed = fetch(url_, "main", mirror_, FetchLimits{.allow_private_networks = true});
  ASSERT_TRUE(allowed.ok) << allowed.error;
  EXPECT_EQ(allowed.commit, commit_);
  EXPECT_GE(daemon_->connections(), 1);
}

TEST_F(GitDaemonFetchTest, SizeCapAbortsTheTransfer) {
  FetchResult capped = fetch(url_, "main", mirror_,
                             FetchLimits{.max_bytes = 64 * 1024, .allow_private_networks = true});
  EXPECT_FALSE(capped.ok);
  EXPECT_EQ(capped.error.rfind("cannot fetch " + url_ +
                                   ": the repository is over the fetch size limit of 65536 bytes",
                               0),
            0u)
      << capped.error;
  // A cap above the repository's size lets it through.
  FetchResult fits = fetch(url_, "main", mirror_,
                           FetchLimits{.max_bytes = 4 << 20, .allow_private_networks = true});
  EXPECT_TRUE(fits.ok) << fits.error;
}

// A zero time limit is over at the first progress report: the check is
// shown to run during the transfer, with no timing asserted.
TEST_F(GitDaemonFetchTest, TimeLimitAbortsTheTransfer) {
  FetchResult late =
      fetch(url_, "main", mirror_, FetchLimits{.timeout = 0s, .allow_private_networks = true});
  EXPECT_FALSE(late.ok);
  EXPECT_TRUE(contains(late.error, "the fetch went over its time limit of 0s")) << late.error;
}

// Local sources are not network destinations: the limits bound their
// transfer as well, and nothing else changes for them.
TEST_F(GitDaemonFetchTest, LocalSourcesAreFetchedAsBeforeWithinTheLimits) {
  const std::string local = "file://" + (tmp_.path() / "repos" / "site").string();
  FetchResult fetched = fetch(local, "main", mirror_);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(fetched.commit, commit_);
  FetchResult capped =
      fetch(local, "main", (tmp_.path() / "other.git").string(), FetchLimits{.max_bytes = 1024});
  EXPECT_FALSE(capped.ok);
  EXPECT_TRUE(contains(capped.error, "fetch size limit of 1024 bytes")) << capped.error;
}

}  // namespace
}  // namespace wok::git

// The OS utilities of src/base: the fd owner, sockets in another network
// namespace, and the invariant check.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "base/assert.h"
#include "base/netns_socket.h"
#include "base/unique_fd.h"

namespace wok::base {
namespace {

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

TEST(UniqueFd, ClosesOnScopeExitAndOnReset) {
  int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(fd.valid());
  }
  EXPECT_FALSE(is_open(raw));

  int first = open("/dev/null", O_RDONLY | O_CLOEXEC);
  UniqueFd fd(first);
  int second = open("/dev/null", O_RDONLY | O_CLOEXEC);
  fd.reset(second);
  EXPECT_FALSE(is_open(first));
  EXPECT_TRUE(is_open(second));
}

TEST(UniqueFd, MoveTransfersOwnershipOnce) {
  int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
  UniqueFd a(raw);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(b.get(), raw);
  int released = b.release();
  EXPECT_FALSE(b.valid());
  EXPECT_TRUE(is_open(released));
  close(released);
}

TEST(NetnsSocket, AGoneNamespaceIsAnErrorNotACrash) {
  errno = 0;
  EXPECT_EQ(socket_in_netns("/proc/999999999/ns/net", AF_INET), -1);
  EXPECT_TRUE(errno == ENOENT || errno == ESRCH) << errno;
}

TEST(NetnsSocket, OurOwnNamespaceGivesAWorkingSocket) {
  int fd = socket_in_netns("/proc/self/ns/net", AF_INET);
  ASSERT_GE(fd, 0) << errno;
  UniqueFd owned(fd);
  int type = 0;
  socklen_t len = sizeof(type);
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
  EXPECT_EQ(type, SOCK_STREAM);
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

TEST(WokAssertDeathTest, ABrokenInvariantAbortsNamingItself) {
  int replicas = 3;
  EXPECT_DEATH(WOK_ASSERT(replicas == 2, "replicas drifted"),
               "base_test.cc:[0-9]+: invariant broken: replicas drifted \\(replicas == 2\\)");
  WOK_ASSERT(replicas == 3, "a holding invariant is silent");
}

}  // namespace
}  // namespace wok::base

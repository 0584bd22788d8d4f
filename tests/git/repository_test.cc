#include "git/repository.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace wok::git {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "wok-git-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
  chmod(path.c_str(), mode);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_executable(const fs::path& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && (st.st_mode & S_IXUSR);
}

// The git CLI is a second opinion: tags and branch deletions done by real git.
void run_git(const std::string& repo, const std::string& args) {
  const std::string cmd = "git -c user.name=test -c user.email=test@localhost -C '" + repo + "' " +
                          args + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    write_file(source_ / "index.html", "<h1>hello</h1>\n");
    write_file(source_ / "docs/guide/intro.md", "# intro\n");
    write_file(source_ / "bin/build.sh", "#!/bin/sh\necho built\n", 0755);
    fs::create_symlink("index.html", source_ / "home.html");
  }

  std::string commit(const std::string& branch = "main") {
    std::string error;
    std::string id = commit_directory(source_, repo_, branch, "test commit", &error);
    EXPECT_EQ(error, "");
    EXPECT_EQ(id.size(), 40u);
    return id;
  }

  TempDir tmp_;
  fs::path source_ = tmp_.path() / "source";
  std::string repo_ = tmp_ / "repo";
  std::string mirror_ = tmp_ / "mirror.git";
  std::string url_ = "file://" + repo_;
};

TEST_F(RepositoryTest, FetchesFileUrlAndChecksOutFilesModesAndSymlinks) {
  const std::string id = commit();
  FetchResult fetched = fetch(url_, "main", mirror_);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(fetched.commit, id);

  const fs::path target = tmp_.path() / "checkout";
  ASSERT_EQ(checkout(mirror_, fetched.commit, target), "");
  EXPECT_EQ(read_file(target / "index.html"), "<h1>hello</h1>\n");
  EXPECT_EQ(read_file(target / "docs/guide/intro.md"), "# intro\n");
  EXPECT_TRUE(is_executable(target / "bin/build.sh"));
  EXPECT_FALSE(is_executable(target / "index.html"));
  ASSERT_TRUE(fs::is_symlink(target / "home.html"));
  EXPECT_EQ(fs::read_symlink(target / "home.html"), "index.html");
  EXPECT_FALSE(fs::exists(target / ".git"));
}

TEST_F(RepositoryTest, FetchesPlainPath) {
  const std::string id = commit();
  FetchResult fetched = fetch(repo_, "main", mirror_);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(fetched.commit, id);
  EXPECT_FALSE(fs::exists(fs::path(mirror_) / ".git")) << "mirror must be bare";
}

TEST_F(RepositoryTest, SecondCommitIsFetchedAndDeletedFilesDisappear) {
  const std::string first = commit();
  ASSERT_TRUE(fetch(url_, "main", mirror_).ok);

  write_file(source_ / "index.html", "<h1>v2</h1>\n");
  fs::remove(source_ / "docs/guide/intro.md");
  const std::string second = commit();
  ASSERT_NE(second, first);

  FetchResult fetched = fetch(url_, "main", mirror_);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(fetched.commit, second);
  const fs::path target = tmp_.path() / "checkout";
  ASSERT_EQ(checkout(mirror_, second, target), "");
  EXPECT_EQ(read_file(target / "index.html"), "<h1>v2</h1>\n");
  EXPECT_FALSE(fs::exists(target / "docs/guide/intro.md"));

  // The old commit stays in the mirror: rollbacks check it out again.
  const fs::path old_target = tmp_.path() / "old";
  ASSERT_EQ(checkout(mirror_, first, old_target), "");
  EXPECT_EQ(read_file(old_target / "index.html"), "<h1>hello</h1>\n");
}

TEST_F(RepositoryTest, ResolvesLightweightAndAnnotatedTags) {
  const std::string id = commit();
  run_git(repo_, "tag v1");
  run_git(repo_, "tag -a v1-annotated -m release");
  for (const std::string& ref : {"v1"s, "v1-annotated"s, "refs/tags/v1"s}) {
    FetchResult fetched = fetch(url_, ref, mirror_);
    ASSERT_TRUE(fetched.ok) << ref << ": " << fetched.error;
    EXPECT_EQ(fetched.commit, id) << ref;
  }
}

TEST_F(RepositoryTest, ResolvesFullAndAbbreviatedCommitIds) {
  const std::string first = commit();
  write_file(source_ / "index.html", "<h1>v2</h1>\n");
  commit();
  for (const std::string& ref : {first, first.substr(0, 7)}) {
    FetchResult fetched = fetch(url_, ref, mirror_);
    ASSERT_TRUE(fetched.ok) << ref << ": " << fetched.error;
    EXPECT_EQ(fetched.commit, first);
  }
}

TEST_F(RepositoryTest, BranchBeatsTagOfTheSameName) {
  const std::string tagged = commit();
  run_git(repo_, "tag main");
  write_file(source_ / "index.html", "<h1>v2</h1>\n");
  const std::string tip = commit();
  FetchResult fetched = fetch(url_, "main", mirror_);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(fetched.commit, tip);
  fetched = fetch(url_, "refs/tags/main", mirror_);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(fetched.commit, tagged);
}

TEST_F(RepositoryTest, DeletedBranchIsPruned) {
  commit("feature");
  commit("main");  // HEAD moves to main, so git lets us delete feature
  ASSERT_TRUE(fetch(url_, "feature", mirror_).ok);
  run_git(repo_, "branch -D feature");
  FetchResult fetched = fetch(url_, "feature", mirror_);
  EXPECT_FALSE(fetched.ok);
  EXPECT_EQ(fetched.error, "ref \"feature\" not found in " + url_);
}

TEST_F(RepositoryTest, UnknownRefIsAClearError) {
  commit();
  for (const std::string& ref : {"nope"s, "deadbeef"s, "../../etc"s, "refs/heads/nope"s}) {
    FetchResult fetched = fetch(url_, ref, mirror_);
    EXPECT_FALSE(fetched.ok) << ref;
    EXPECT_EQ(fetched.commit, "");
    EXPECT_EQ(fetched.error, "ref \"" + ref + "\" not found in " + url_);
  }
  FetchResult empty = fetch(url_, "", mirror_);
  EXPECT_FALSE(empty.ok);
  EXPECT_EQ(empty.error, "no ref given for " + url_);
}

TEST_F(RepositoryTest, BadUrlIsAClearError) {
  for (const std::string& url : {tmp_ / "missing", "file://" + (tmp_ / "missing"),
                                 std::string("nosuchscheme://example.invalid/x.git")}) {
    FetchResult fetched = fetch(url, "main", mirror_);
    EXPECT_FALSE(fetched.ok) << url;
    EXPECT_EQ(fetched.error.rfind("cannot fetch " + url + ": ", 0), 0u) << fetched.error;
    EXPECT_GT(fetched.error.size(), ("cannot fetch " + url + ": ").size()) << fetched.error;
  }
}

TEST_F(RepositoryTest, MissingLocalPathSaysSo) {
  const std::string missing = tmp_ / "missing";
  EXPECT_EQ(fetch(missing, "main", mirror_).error,
            "cannot fetch " + missing + ": no such directory");
}

TEST_F(RepositoryTest, CredentialsInUrlAreNotReported) {
  // Port 1 on loopback refuses at once: hermetic, no outside network. The
  // policy allows loopback here, or the fetch would stop before libgit2.
  FetchResult fetched = fetch("https://user:s3cret@127.0.0.1:1/site.git", "main", mirror_,
                              FetchLimits{.allow_private_networks = true});
  EXPECT_FALSE(fetched.ok);
  EXPECT_EQ(fetched.error.find("s3cret"), std::string::npos) << fetched.error;
  EXPECT_EQ(fetched.error.rfind("cannot fetch https://***@127.0.0.1:1/site.git: ", 0), 0u)
      << fetched.error;
  // libgit2's own message quotes the URL here; it must be scrubbed too.
  fetched = fetch("nosuchscheme://user:s3cret@example.invalid/x.git", "main", mirror_);
  EXPECT_FALSE(fetched.ok);
  EXPECT_EQ(fetched.error.find("s3cret"), std::string::npos) << fetched.error;
}

TEST_F(RepositoryTest, CheckoutRejectsBadCommitAndNonEmptyTarget) {
  const std::string id = commit();
  ASSERT_TRUE(fetch(url_, "main", mirror_).ok);
  const fs::path target = tmp_.path() / "checkout";

  EXPECT_EQ(checkout(mirror_, "xyz", target), "invalid commit id \"xyz\"");
  EXPECT_NE(checkout(mirror_, std::string(40, '0'), target).find("not found"), std::string::npos);
  EXPECT_NE(checkout(tmp_ / "no-mirror", id, target).find("cannot open mirror"), std::string::npos);
  EXPECT_FALSE(fs::exists(target)) << "a failed checkout leaves nothing behind";

  write_file(target / "stale.html", "old");
  EXPECT_EQ(checkout(mirror_, id, target), "checkout target " + target.string() + " is not empty");
  EXPECT_FALSE(fs::exists(target / "index.html"));
}

TEST_F(RepositoryTest, CheckoutIntoExistingEmptyDirectory) {
  const std::string id = commit();
  ASSERT_TRUE(fetch(url_, "main", mirror_).ok);
  const fs::path target = tmp_.path() / "empty";
  fs::create_directory(target);
  ASSERT_EQ(checkout(mirror_, id, target), "");
  EXPECT_EQ(read_file(target / "index.html"), "<h1>hello</h1>\n");
}

TEST_F(RepositoryTest, CommitDirectorySkipsNestedGitDirectories) {
  write_file(source_ / ".git/config", "not content");
  write_file(source_ / "vendor/lib/.git/HEAD", "not content");
  write_file(source_ / "vendor/lib/lib.js", "x");
  const std::string id = commit();
  ASSERT_TRUE(fetch(url_, "main", mirror_).ok);
  const fs::path target = tmp_.path() / "checkout";
  ASSERT_EQ(checkout(mirror_, id, target), "");
  EXPECT_TRUE(fs::exists(target / "vendor/lib/lib.js"));
  EXPECT_FALSE(fs::exists(target / ".git"));
  EXPECT_FALSE(fs::exists(target / "vendor/lib/.git"));
}

TEST_F(RepositoryTest, CommitDirectoryRejectsBadInput) {
  std::string error;
  EXPECT_EQ(commit_directory(tmp_ / "missing", repo_, "main", "m", &error), "");
  EXPECT_EQ(error, "source " + (tmp_ / "missing") + " is not a directory");

  EXPECT_EQ(commit_directory(source_, repo_, "bad..branch", "m", &error), "");
  EXPECT_EQ(error, "invalid branch name \"bad..branch\"");

  EXPECT_EQ(commit_directory(source_, (source_ / "repo").string(), "main", "m", &error), "");
  EXPECT_NE(error.find("must not contain each other"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(source_ / "repo"));
  EXPECT_TRUE(fs::exists(source_ / "index.html"));
}

TEST_F(RepositoryTest, ConcurrentFetchesIntoDifferentMirrors) {
  const std::string id = commit();
  std::vector<FetchResult> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = fetch(url_, "main", tmp_ / ("mirror-" + std::to_string(i))); });
  }
  for (std::thread& t : threads) t.join();
  for (const FetchResult& r : results) {
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.commit, id);
  }
}

TEST_F(RepositoryTest, ReportsTheCommitsAuthor) {
  commit();
  FetchResult fetched = fetch(url_, "main", mirror_);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(fetched.author, "wok <wok@localhost>");  // commit_directory signs as wok

  // A tenant's commit object, written byte for byte: an author name with a
  // terminal escape and a bell, 150 two-byte characters, over the cap.
  std::string name = "Eve\x1b[31m\x07";              // the escape and the bell become spaces
  for (int i = 0; i < 150; ++i) name += "\xc3\xa9";  // é
  const std::string object_file = tmp_ / "object";
  {
    const std::string cmd =
        "git -C '" + repo_ + "' rev-parse 'main^{tree}' > '" + object_file + ".tree'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string tree = read_file(object_file + ".tree");
  tree.resize(40);
  write_file(object_file, "tree " + tree + "\nauthor " + name +
                              " <eve@example.org> 1700000000 +0000\ncommitter c <c@x> "
                              "1700000000 +0000\n\nhostile\n");
  const std::string cmd = "id=$(git -C '" + repo_ + "' hash-object --literally -t commit -w '" +
                          object_file + "') && git -C '" + repo_ +
                          "' update-ref refs/heads/hostile $id";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  fetched = fetch(url_, "hostile", mirror_);
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_TRUE(fetched.author.starts_with("Eve [31m \xc3\xa9")) << fetched.author;
  EXPECT_LE(fetched.author.size(), 200u);
  EXPECT_GT(fetched.author.size(), 190u);
  for (unsigned char c : fetched.author) EXPECT_GE(c, 0x20) << "control character kept";
  // Cut between characters, never inside one.
  EXPECT_EQ(fetched.author.back(), '\xa9');
}

TEST_F(RepositoryTest, CommitDirectoryResultIsSeenByGitCli) {
  const std::string id = commit();
  // A clean `git status` means work tree, index and HEAD agree.
  const std::string cmd = "test -z \"$(git -C '" + repo_ + "' status --porcelain)\" && " +
                          "test \"$(git -C '" + repo_ + "' rev-parse HEAD)\" = " + id;
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace wok::git

// The OCI image store against hostile layouts: every layout here is tenant
// content (index.json, the layers' symlinks), unpacked by the real umoci as
// root. What must hold: nothing outside the store is created, changed or
// removed, and a project never gets a root it did not supply itself.
#include "runtime/image_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "sandbox_fixture.h"

namespace wok::runtime::testing {
namespace {

namespace fs = std::filesystem;

TEST(OciDigest, OnlySha256AndSha512InLowercaseHex) {
  std::string h64(64, 'a'), h128(128, '0');
  EXPECT_TRUE(valid_oci_digest("sha256:" + h64));
  EXPECT_TRUE(valid_oci_digest("sha512:" + h128));
  EXPECT_TRUE(valid_oci_digest("sha256:0123456789abcdef" + std::string(48, 'f')));
  for (const std::string& bad :
       {std::string("sha256:../../x"), "sha256:" + h64.substr(1) + "/", "sha256:/" + h64,
        "sha256:" + std::string(64, 'A'), "sha256:" + h64.substr(1), "sha256:" + h64 + "0",
        "sha512:" + h64, "sha384:" + std::string(96, 'a'), "md5:" + std::string(32, 'a'),
        "SHA256:" + h64, "sha256_" + h64, std::string("sha256:"), std::string(), h64,
        "sha256:" + h64 + "\n", "sha256:" + h64.substr(2) + ".."})
    EXPECT_FALSE(valid_oci_digest(bad)) << bad;
}

TEST(ProjectName, DnsLabelsOnly) {
  EXPECT_TRUE(valid_project_name("team-a"));
  EXPECT_TRUE(valid_project_name("a"));
  EXPECT_TRUE(valid_project_name(std::string(63, 'x')));
  for (const std::string& bad : {std::string(""), std::string(64, 'x'), std::string(".."),
                                 std::string("a/b"), std::string("Team-a"), std::string("-a"),
                                 std::string("a-"), std::string("a_b"), std::string("a.b")})
    EXPECT_FALSE(valid_project_name(bad)) << bad;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wok-image-store-test-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
    // A host directory standing for anything the host holds: it must survive.
    fs::create_directories(dir_ / "sentinel");
    std::ofstream(dir_ / "sentinel" / "precious") << "keep me\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  bool need_umoci() {
    if (::geteuid() != 0) return false;  // umoci unpack without --rootless
    return have("umoci");
  }

  // A layout DIR/NAME with tag 1.0 whose root `fill` populates.
  std::string make_layout(const std::string& name,
                          const std::function<void(const fs::path&)>& fill) {
    std::string layout = (dir_ / name).string(), bundle = (dir_ / (name + "-bundle")).string();
    must({"umoci", "init", "--layout", layout});
    must({"umoci", "new", "--image", layout + ":1.0"});
    must({"umoci", "unpack", "--image", layout + ":1.0", bundle});
    fill(fs::path(bundle) / "rootfs");
    must({"umoci", "repack", "--image", layout + ":1.0", bundle});
    fs::remove_all(bundle);
    return layout;
  }

  std::string simple_layout(const std::string& name) {
    return make_layout(name, [](const fs::path& root) {
      fs::create_directories(root / "www");
      std::ofstream(root / "www/index.html") << "hello\n";
    });
  }

  void must(const std::vector<std::string>& argv) {
    auto r = run_command(argv, std::chrono::minutes(2));
    ASSERT_TRUE(r.ok()) << r.describe(argv[0] + " " + argv[1]);
  }

  static std::string index_of(const std::string& layout) {
    return read_file(fs::path(layout) / "index.json");
  }
  static void write_index(const std::string& layout, const std::string& text) {
    fs::remove(fs::path(layout) / "index.json");
    std::ofstream(fs::path(layout) / "index.json") << text;
  }
  // The digest umoci wrote for the layout's only manifest.
  static std::string digest_of(const std::string& layout) {
    auto index = nlohmann::json::parse(index_of(layout));
    return index["manifests"][0]["digest"].get<std::string>();
  }
  static std::string replaced(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from << " in " << text;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  }

  // Everything below dir_ except the store and the layouts' blobs: what a
  // refused image must not have changed.
  std::set<std::string> host_tree() {
    std::set<std::string> out;
    for (auto it = fs::recursive_directory_iterator(dir_); it != fs::recursive_directory_iterator();
         ++it) {
      auto rel = fs::relative(it->path(), dir_).string();
      if (rel.rfind("images", 0) == 0)
        it.disable_recursion_pending();
      else
        out.insert(rel);
    }
    return out;
  }

  void expect_sentinel_intact() {
    EXPECT_EQ(read_file(dir_ / "sentinel" / "precious"), "keep me\n");
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "sentinel")) ++entries;
    EXPECT_EQ(entries, 1u) << "the sentinel directory was written to";
  }

  fs::path dir_;
  RootFs root_;
  std::string error_;
};

TEST_F(ImageStoreTest, IndexJsonIsParsedStrictly) {
  fs::create_directories(dir_ / "l");
  std::string layout = (dir_ / "l").string(), good = "sha256:" + std::string(64, 'e');
  auto manifest = [&](const std::string& extra) {
    return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + good +
           R"(","size":1)" + extra +
           R"(,"annotations":{"org.opencontainers.image.ref.name":"1.0"}})";
  };
  write_index(layout, R"({"schemaVersion":2,"manifests":[)" + manifest("") + "]}");
  std::string digest;
  ASSERT_TRUE(layout_manifest_digest(layout, "1.0", &digest, &error_)) << error_;
  EXPECT_EQ(digest, good);
  EXPECT_FALSE(layout_manifest_digest(layout, "2.0", &digest, &error_));
  EXPECT_NE(error_.find("no tag \"2.0\""), std::string::npos) << error_;

  std::string evil = "sha256:/../../sentinel";
  struct Case {
    std::string index, error;
  } cases[] = {
      {R"({"schemaVersion":2,"manifests":[)" + manifest(R"(,"Digest":")" + evil + "\"") + "]}",
       "has the key \"Digest\" twice or in another case"},
      {R"({"schemaVersion":2,"manifests":[)" + manifest(R"(,"digest":")" + evil + "\"") + "]}",
       "has the key \"digest\" twice"},
      {R"({"schemaVersion":2,"Manifests":[],"manifests":[)" + manifest("") + "]}",
       "has the key \"manifests\" twice or in another case"},
      {R"({"schemaVersion":2,"manifests":[)" + manifest(R"(,"dige\u017ft":")" + evil + "\"") + "]}",
       "twice or in another case (keys must be unique ASCII"},
      {R"({"schemaVersion":2,"manifests":[)" + manifest("") + "," + manifest("") + "]}",
       "names the tag \"1.0\" more than once"},
      {R"({"schemaVersion":1,"manifests":[)" + manifest("") + "]}", "schemaVersion 2"},
      {R"({"schemaVersion":"2","manifests":[)" + manifest("") + "]}", "schemaVersion 2"},
      {R"([{"schemaVersion":2}])", "schemaVersion 2"},
      {R"({"schemaVersion":2,"manifests":{}})", "no \"manifests\" array"},
      {R"({"schemaVersion":2,"manifests":["x"]})", "not an object"},
      {R"({"schemaVersion":2,"manifests":[{"digest":7}]})", "without a digest"},
      {R"({"schemaVersion":2,"manifests":[)" + manifest(",") + "]}", "not valid JSON"},
      {R"({"schemaVersion":2,"manifests":[{"digest":"sha256:../../x","annotations":{}}]})",
       "invalid digest \"sha256:../../x\""},
  };
  for (const auto& c : cases) {
    write_index(layout, c.index);
    EXPECT_FALSE(layout_manifest_digest(layout, "1.0", &digest, &error_)) << c.index;
    EXPECT_NE(error_.find(c.error), std::string::npos) << c.index << " -> " << error_;
    EXPECT_NE(error_.find(layout), std::string::npos) << "names the image: " << error_;
  }

  // Not a regular file of the layout: a symlink (to a valid index even), a
  // FIFO (must not hang), something huge.
  fs::remove(dir_ / "l" / "index.json");
  std::ofstream(dir_ / "valid.json") << R"({"schemaVersion":2,"manifests":[)" + manifest("") + "]}";
  fs::create_symlink(dir_ / "valid.json", dir_ / "l" / "index.json");
  EXPECT_FALSE(layout_manifest_digest(layout, "1.0", &digest, &error_));
  EXPECT_NE(error_.find("cannot open index.json"), std::string::npos) << error_;
  fs::remove(dir_ / "l" / "index.json");
  ASSERT_EQ(::mkfifo((dir_ / "l" / "index.json").c_str(), 0600), 0);
  EXPECT_FALSE(layout_manifest_digest(layout, "1.0", &digest, &error_));
  EXPECT_NE(error_.find("not a regular file"), std::string::npos) << error_;
  fs::remove(dir_ / "l" / "index.json");
  std::string huge = R"({"schemaVersion":2,"manifests":[)" + manifest("") + R"(],"x":")" +
                     std::string(kMaxIndexBytes, 'x') + "\"}";
  write_index(layout, huge);
  EXPECT_FALSE(layout_manifest_digest(layout, "1.0", &digest, &error_));
  EXPECT_NE(error_.find("larger than 4 MiB"), std::string::npos) << error_;
}

// A digest is a path component of the cache: with a '/' or '..' it would make
// wok unpack, remove_all and rename wherever it points. umoci reads the same
// digest, so here it fails anyway; the check must come first and say why.
TEST_F(ImageStoreTest, DigestsThatAreNotHexNameNoPath) {
  if (!need_umoci()) GTEST_SKIP() << "needs root and umoci";
  std::string layout = simple_layout("layout");
  std::string real = digest_of(layout), original = index_of(layout);
  ImageStore store(dir_ / "images");
  auto before = host_tree();
  for (const std::string& evil :
       {std::string("sha256:../../sentinel"), std::string("sha256:/../../sentinel"),
        "sha256:" + real.substr(7, 62) + "/x", std::string("sha256:..")}) {
    write_index(layout, replaced(original, real, evil));
    EXPECT_FALSE(store.resolve("team-a", "oci:" + layout + ":1.0", &root_, &error_)) << evil;
    EXPECT_NE(error_.find("invalid digest \"" + evil + "\""), std::string::npos) << error_;
    EXPECT_NE(error_.find(layout), std::string::npos) << error_;
  }
  EXPECT_EQ(host_tree(), before);
  expect_sentinel_intact();
  EXPECT_TRUE(fs::is_empty(dir_ / "images" / "team-a"));
}

// The attack that worked: Go's JSON decoder in umoci matches "Digest" to the
// digest field (last key wins) while wok read "digest". Step one makes
// images/sha256_ a directory (an image unpacked under the digest "sha256:"),
// step two's "sha256:/../../sentinel" then walks out of it: wok unpacked the
// image beside the sentinel, removed the sentinel and renamed the image there.
TEST_F(ImageStoreTest, KeysDifferingInCaseCannotSmuggleADigestPastUmoci) {
  if (!need_umoci()) GTEST_SKIP() << "needs root and umoci";
  std::string layout = simple_layout("layout");
  std::string real = digest_of(layout), original = index_of(layout);
  ImageStore store(dir_ / "images");
  auto before = host_tree();
  for (std::string evil : {"sha256:", "sha256:/../../sentinel"}) {
    write_index(layout, replaced(original, "\"digest\":\"" + real + "\"",
                                 "\"digest\":\"" + evil + "\",\"Digest\":\"" + real + "\""));
    EXPECT_FALSE(store.resolve("team-a", "oci:" + layout + ":1.0", &root_, &error_)) << evil;
    EXPECT_NE(error_.find("has the key \"Digest\" twice or in another case"), std::string::npos)
        << error_;
  }
  EXPECT_EQ(host_tree(), before);
  expect_sentinel_intact();
  // The untouched layout still works.
  write_index(layout, original);
  ASSERT_TRUE(store.resolve("team-a", "oci:" + layout + ":1.0", &root_, &error_)) << error_;
  EXPECT_EQ(root_.path, dir_ / "images" / "team-a" / ("sha256_" + real.substr(7)) / "rootfs");
  EXPECT_EQ(read_file(root_.path / "www/index.html"), "hello\n");
}

// umoci reads index.json again: a tenant changing it between wok's read and
// umoci's gets refused, not a cache entry holding another manifest.
TEST_F(ImageStoreTest, AnIndexChangedDuringTheUnpackIsRefused) {
  if (!need_umoci()) GTEST_SKIP() << "needs root and umoci";
  std::string layout = simple_layout("layout");
  std::string first = index_of(layout);
  must({"umoci", "config", "--image", layout + ":1.0", "--config.env", "X=2"});
  std::string second = index_of(layout);
  ASSERT_NE(first, second);
  write_index(layout, first);
  std::ofstream(dir_ / "index.second") << second;
  // An "umoci" that swaps the index first, as a racing tenant would.
  auto fake = dir_ / "umoci-swapping";
  std::ofstream(fake) << "#!/bin/sh\ncp " << (dir_ / "index.second").string() << " " << layout
                      << "/index.json\nexec umoci \"$@\"\n";
  fs::permissions(fake, fs::perms(0755));
  ImageStore store(dir_ / "images", fake.string());
  EXPECT_FALSE(store.resolve("team-a", "oci:" + layout + ":1.0", &root_, &error_));
  EXPECT_NE(error_.find("index.json changed while it was unpacked"), std::string::npos) << error_;
  EXPECT_TRUE(fs::is_empty(dir_ / "images" / "team-a"));
}

// The unpacked root is the image's content: its mount points may be symlinks
// to host directories. wok (root) must replace them inside its copy, never
// write through them.
TEST_F(ImageStoreTest, MountPointsThatAreSymlinksLeaveTheHostAlone) {
  if (!need_umoci()) GTEST_SKIP() << "needs root and umoci";
  auto host = dir_ / "sentinel";
  fs::create_directories(dir_ / "host-tmp");
  fs::permissions(dir_ / "host-tmp", fs::perms(0700));
  std::string layout = make_layout("layout", [&](const fs::path& root) {
    fs::create_symlink(host, root / "etc");
    fs::create_symlink(dir_ / "host-tmp", root / "tmp");
    fs::create_symlink(host, root / "run");
    fs::create_symlink(dir_ / "host-proc", root / "proc");  // does not exist
    std::ofstream(root / "dev") << "a file where a directory goes\n";
  });
  auto before = host_tree();
  ImageStore store(dir_ / "images");
  ASSERT_TRUE(store.resolve("team-a", "oci:" + layout + ":1.0", &root_, &error_)) << error_;
  EXPECT_EQ(host_tree(), before);
  expect_sentinel_intact();
  EXPECT_FALSE(fs::exists(dir_ / "host-proc"));
  EXPECT_EQ(fs::status(dir_ / "host-tmp").permissions(), fs::perms(0700));
  EXPECT_TRUE(fs::is_empty(dir_ / "host-tmp"));
  // Inside the copy: real directories and files, /tmp writable by anyone.
  for (const char* d : {"etc", "etc/wok", "run", "run/wok", "tmp", "proc", "dev", "sys"})
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(root_.path / d))) << d;
  for (const char* f : {"passwd", "group", "hosts", "resolv.conf", "nsswitch.conf"})
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root_.path / "etc" / f))) << f;
  EXPECT_EQ(fs::status(root_.path / "tmp").permissions(), fs::perms(01777));
}

TEST_F(ImageStoreTest, EtcFilesThatAreSymlinksAreReplacedNotFollowed) {
  if (!need_umoci()) GTEST_SKIP() << "needs root and umoci";
  std::string layout = make_layout("layout", [&](const fs::path& root) {
    fs::create_directories(root / "etc");
    fs::create_directories(root / "tmp");
    fs::permissions(root / "tmp", fs::perms(0755));
    fs::create_symlink(dir_ / "sentinel" / "passwd", root / "etc/passwd");  // would be created
    fs::create_symlink(dir_ / "sentinel" / "precious", root / "etc/hosts");
    fs::create_symlink(dir_ / "sentinel", root / "etc/wok");
    fs::create_directories(root / "etc/group");  // empty: replaced by a file
    std::ofstream(root / "etc/resolv.conf") << "nameserver 10.0.0.1\n";  // the image's own
  });
  auto before = host_tree();
  ImageStore store(dir_ / "images");
  ASSERT_TRUE(store.resolve("team-a", "oci:" + layout + ":1.0", &root_, &error_)) << error_;
  EXPECT_EQ(host_tree(), before);
  expect_sentinel_intact();
  for (const char* f : {"passwd", "group", "hosts", "resolv.conf", "nsswitch.conf"})
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root_.path / "etc" / f))) << f;
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(root_.path / "etc/wok")));
  EXPECT_EQ(read_file(root_.path / "etc/resolv.conf"), "nameserver 10.0.0.1\n");
  EXPECT_EQ(fs::status(root_.path / "tmp").permissions(), fs::perms(01777));
}

TEST_F(ImageStoreTest, AnEtcFileThatIsANonEmptyDirectoryRefusesTheImage) {
  if (!need_umoci()) GTEST_SKIP() << "needs root and umoci";
  std::string layout = make_layout("layout", [&](const fs::path& root) {
    // (umoci itself reads /etc/passwd and /etc/group for the image's user.)
    fs::create_directories(root / "etc/hosts/inside");
  });
  ImageStore store(dir_ / "images");
  EXPECT_FALSE(store.resolve("team-a", "oci:" + layout + ":1.0", &root_, &error_));
  EXPECT_NE(error_.find("image " + layout + ":1.0: /etc/hosts must be a file"), std::string::npos)
      << error_;
  EXPECT_TRUE(fs::is_empty(dir_ / "images" / "team-a")) << "no cache entry, no leftover";
}

// team-b names the digest team-a unpacked, without holding its blobs: with a
// shared cache it got team-a's private root.
TEST_F(ImageStoreTest, AnotherProjectsDigestGivesNothing) {
  if (!need_umoci()) GTEST_SKIP() << "needs root and umoci";
  std::string layout = make_layout("private", [](const fs::path& root) {
    std::ofstream(root / "secret") << "team-a's secret\n";
  });
  ImageStore store(dir_ / "images");
  ASSERT_TRUE(store.resolve("team-a", "oci:" + layout + ":1.0", &root_, &error_)) << error_;
  auto a_root = root_.path;
  EXPECT_EQ(read_file(a_root / "secret"), "team-a's secret\n");

  auto forged = dir_ / "forged";
  fs::create_directories(forged / "blobs" / "sha256");
  fs::copy_file(fs::path(layout) / "oci-layout", forged / "oci-layout");
  fs::copy_file(fs::path(layout) / "index.json", forged / "index.json");
  RootFs b_root;
  EXPECT_FALSE(store.resolve("team-b", "oci:" + forged.string() + ":1.0", &b_root, &error_));
  EXPECT_NE(error_.find("cannot unpack image"), std::string::npos) << error_;
  EXPECT_TRUE(b_root.path.empty());
  EXPECT_TRUE(fs::is_empty(dir_ / "images" / "team-b"));

  // The same layout is team-a's own cache entry: it may name it again.
  ASSERT_TRUE(store.resolve("team-a", "oci:" + forged.string() + ":1.0", &root_, &error_))
      << error_;
  EXPECT_EQ(root_.path, a_root);
}

TEST_F(ImageStoreTest, ProjectNamesAreCheckedBeforeNamingADirectory) {
  ImageStore store(dir_ / "images");
  auto before = host_tree();
  for (const std::string& bad : {std::string("../sentinel"), std::string(".."), std::string("a/b"),
                                 std::string("Team-A"), std::string(), std::string(64, 'a')}) {
    EXPECT_FALSE(store.resolve(bad, "oci:/nonexistent:1", &root_, &error_)) << bad;
    EXPECT_NE(error_.find("invalid project name"), std::string::npos) << error_;
  }
  EXPECT_EQ(host_tree(), before);
  EXPECT_FALSE(fs::exists(dir_ / "images"));
}

// Other transports are copied with skopeo into the project's own store.
TEST_F(ImageStoreTest, PulledImagesStayInTheProjectsStore) {
  if (!need_umoci() || !have("skopeo")) GTEST_SKIP() << "needs root, umoci and skopeo";
  std::string layout = simple_layout("layout");
  auto archive = dir_ / "image.tar";
  must({"skopeo", "--insecure-policy", "copy", "oci:" + layout + ":1.0",
        "oci-archive:" + archive.string()});
  ImageStore store(dir_ / "images");
  std::string ref = "oci-archive:" + archive.string();
  ASSERT_TRUE(store.resolve("team-a", ref, &root_, &error_)) << error_;
  EXPECT_EQ(read_file(root_.path / "www/index.html"), "hello\n");
  EXPECT_EQ(root_.path.parent_path().parent_path(), dir_ / "images" / "team-a");
  size_t pulled = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "images" / "team-a" / "pulled"))
    pulled += fs::exists(e.path() / "index.json");
  EXPECT_EQ(pulled, 1u);
  EXPECT_FALSE(fs::exists(dir_ / "images" / "pulled"));
}

}  // namespace
}  // namespace wok::runtime::testing

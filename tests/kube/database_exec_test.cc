// `wok db dump|import|shell --kubeconfig`: the engine's own client started
// by pods/exec in the site's database pod (kube/site_database.h), over the
// WebSocket channel protocols (kube/pod_exec.h, kube/websocket.h). The
// scripted API runs the command as the pod's container would: here, in a
// network namespace of its own where a real MariaDB listens on 3306, as
// the StatefulSet's pod would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/base64.h"
#include "base/text.h"
#include "cmd/cli.h"
#include "kube/fake_kube_api.h"
#include "kube/pod_exec.h"
#include "kube/site_database.h"
#include "kube/tls_relay.h"
#include "kube/websocket.h"
#include "support/temp_dir.h"

namespace wok::kube::testing {
namespace {

// RFC 6455 §5.7's examples.
TEST(WebSocketFrames, EncodeAndDecodeAsTheRfcsExamples) {
  EXPECT_EQ(ws_encode({true, WsOpcode::kText, "Hello"}, std::nullopt),
            std::string("\x81\x05Hello", 7));
  const std::string masked("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  EXPECT_EQ(ws_encode({true, WsOpcode::kText, "Hello"}, 0x37fa213d), masked);
  std::string error;
  std::string buffer = masked + "\x82";
  size_t used = 0;
  auto frame = ws_decode(buffer, true, 1 << 20, &used, &error);
  ASSERT_TRUE(frame) << error;
  EXPECT_EQ(frame->payload, "Hello");
  EXPECT_EQ(frame->opcode, WsOpcode::kText);
  EXPECT_EQ(used, masked.size());  // the next frame's start is the caller's
  EXPECT_FALSE(ws_decode(std::string_view(buffer).substr(used), true, 1 << 20, &used, &error));
  EXPECT_EQ(error, "");  // incomplete, not broken
  EXPECT_EQ(used, 0u);
  // 256 bytes: a 16-bit length; 65536: a 64-bit one.
  EXPECT_EQ(ws_encode({true, WsOpcode::kBinary, std::string(256, 'x')}, std::nullopt).substr(0, 4),
            std::string("\x82\x7e\x01\x00", 4));
  std::string big = ws_encode({true, WsOpcode::kBinary, std::string(65536, 'y')}, std::nullopt);
  EXPECT_EQ(big.substr(0, 10), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  frame = ws_decode(big, false, 1 << 20, &used, &error);
  ASSERT_TRUE(frame) << error;
  EXPECT_EQ(frame->payload, std::string(65536, 'y'));
  // §1.3's handshake.
  EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketFrames, RefusesWhatTheProtocolForbids) {
  std::string error;
  auto broken = [&](std::string bytes, bool from_client, uint64_t max = 1 << 20) {
    size_t used = 0;
    EXPECT_FALSE(ws_decode(bytes, from_client, max, &used, &error));
    return error;
  };
  EXPECT_EQ(broken(std::string("\x82\x01x", 3), true), "an unmasked WebSocket frame from a client");
  EXPECT_EQ(broken(ws_encode({true, WsOpcode::kBinary, "x"}, 1), false),
            "a masked WebSocket frame from a server");
  EXPECT_EQ(broken(std::string("\xc2\x01x", 3), false),
            "a WebSocket frame with reserved bits set (no extension was agreed)");
  EXPECT_EQ(broken(std::string("\x83\x01x", 3), false), "a WebSocket frame of unknown opcode 3");
  EXPECT_EQ(broken(ws_encode({false, WsOpcode::kPing, "x"}, std::nullopt), false),
            "a WebSocket control frame fragmented or over 125 bytes");
  EXPECT_EQ(
      broken(ws_encode({true, WsOpcode::kBinary, std::string(300, 'x')}, std::nullopt), false, 200),
      "a WebSocket frame of 300 bytes (at most 200)");
  EXPECT_EQ(broken(std::string("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10), false),
            "a WebSocket frame length with its top bit set");
}

TEST(PodExec, TheExitCodeOfAStatus) {
  std::string error;
  EXPECT_EQ(exec_status_code(R"({"metadata":{},"status":"Success"})", &error), 0);
  EXPECT_EQ(
      exec_status_code(
          R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"}]}})",
          &error),
      2);
  EXPECT_EQ(
      exec_status_code(
          R"j({"status":"Failure","reason":"InternalError","message":"container not found (\"db\")"})j",
          &error),
      -1);
  EXPECT_EQ(error, "container not found (\"db\")");
  EXPECT_EQ(exec_status_code("garbage", &error), -1);
  EXPECT_EQ(error, "an exit status that is not a Status: garbage");
}

// The command never holds the password; the input's length is in it.
TEST(PodExec, TheDatabaseCommandReadsThePasswordFromStdin) {
  render::DatabasePlan db;
  db.engine = "mariadb";
  db.port = 3306;
  db.user = "it's";
  db.database = "www";
  auto argv = database_exec_command(db, render::DatabaseAction::kExec, 1234);
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[0], "/bin/sh");
  EXPECT_NE(argv[2].find("IFS= read -r password || exit 1\n"), std::string::npos) << argv[2];
  EXPECT_NE(argv[2].find("DB_USER='it'\\''s' DB_NAME='www'"), std::string::npos) << argv[2];
  EXPECT_NE(argv[2].find("head -c 1234 | '/bin/sh' '-c' 'exec mariadb "), std::string::npos)
      << argv[2];
  argv = database_exec_command(db, render::DatabaseAction::kDump, 0);
  EXPECT_NE(argv[2].find("exec '/bin/sh' '-c' 'exec mariadb-dump "), std::string::npos) << argv[2];
  EXPECT_NE(argv[2].find(" </dev/null\n"), std::string::npos) << argv[2];
}

int run_command(const std::vector<std::string>& argv, std::string* output = nullptr) {
  std::string line;
  for (const auto& a : argv) line += shell_quote(a) + " ";
  line += "2>&1";
  FILE* p = ::popen(line.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    if (output) output->append(buf, n);
  int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A database server alone in a network namespace, on 127.0.0.1 there at
// the engine's port, as in the database's pod; the site's user (with the
// password below) and database made.
constexpr char kPassword[] = "pod-pass_1234567";

class PodDatabase {
 public:
  explicit PodDatabase(std::string engine) : engine_(std::move(engine)) {}

  bool start(std::string* error) {
    netns_ = "wok-" + engine_ + "-" + std::to_string(::getpid());
    std::string out;
    if (run_command({"ip", "netns", "add", netns_}, &out) != 0 ||
        run_command({"ip", "netns", "exec", netns_, "ip", "link", "set", "lo", "up"}, &out) != 0) {
      *error = "ip netns: " + out;
      return false;
    }
    const std::string d = dir_.path.string();
    std::vector<std::string> server;
    if (maria()) {
      // Its own tmpdir: two bootstraps at once in /tmp (ctest -j2 runs this
      // suite's processes side by side) lost each other's temporary tables.
      if (run_command(
              {"mariadb-install-db", "--no-defaults", "--datadir=" + d + "/data", "--tmpdir=" + d,
               "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db"},
              &out) != 0) {
        *error = "mariadb-install-db: " + out;
        return false;
      }
      server = {"mariadbd",
                "--no-defaults",
                "--datadir=" + d + "/data",
                "--tmpdir=" + d,
                "--socket=" + d + "/mysqld.sock",
                "--port=3306",
                "--bind-address=127.0.0.1",
                "--user=root",
                "--log-error=" + d + "/error.log",
                "--skip-log-bin"};
    } else {
      // PostgreSQL will not run as root: its directory is the postgres user's.
      std::filesystem::create_directories(d + "/data");
      run_command({"chown", "-R", "postgres:postgres", d});
      if (run_command({"runuser", "-u", "postgres", "--", bin() + "initdb", "-D", d + "/data",
                       "--auth-local=trust", "--auth-host=scram-sha-256", "-U", "postgres"},
                      &out) != 0) {
        *error = "initdb: " + out;
        return false;
      }
      server = {"runuser",
                "-u",
                "postgres",
                "--",
                bin() + "postgres",
                "-D",
                d + "/data",
                "-p",
                "5432",
                "-c",
                "listen_addresses=127.0.0.1",
                "-k",
                d};
    }
    server.insert(server.begin(), {"ip", "netns", "exec", netns_});
    std::vector<char*> args;
    for (auto& a : server) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      int log = ::open((d + "/server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    const std::string create =
        maria() ? std::string(
                      "DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES; "
                      "CREATE DATABASE www; CREATE USER 'www'@'%' IDENTIFIED BY '") +
                      kPassword + "'; GRANT ALL ON www.* TO 'www'@'%';"
                : std::string("CREATE ROLE www LOGIN PASSWORD '") + kPassword + "'";
    for (int i = 0; i < 300; ++i) {
      if (admin_sql("SELECT 1", "", &out)) {
        if (!admin_sql(create, "", error)) return false;
        return maria() || admin_sql("CREATE DATABASE www OWNER www", "", error);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::ifstream log(d + (maria() ? "/error.log" : "/server.log"));
    std::stringstream text;
    text << log.rdbuf();
    *error = engine_ + " did not start: " + text.str();
    return false;
  }
  // As the engine's superuser, in the site's database (tab-separated rows).
  bool sql(const std::string& statements, std::string* output) {
    return admin_sql(statements, "www", output);
  }
  ~PodDatabase() {
    if (pid_ > 0) {
      // ip netns exec and runuser exec or wait: the server's group ends.
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!netns_.empty()) run_command({"ip", "netns", "del", netns_});
  }
  const std::string& netns() const { return netns_; }
  bool maria() const { return engine_ == "mariadb"; }

 private:
  static std::string bin() { return "/usr/lib/postgresql/15/bin/"; }
  bool admin_sql(const std::string& statements, const std::string& database, std::string* output) {
    output->clear();
    const std::string d = dir_.path.string();
    if (maria())
      return run_command({"mariadb", "--no-defaults", "--socket=" + d + "/mysqld.sock", "--batch",
                          "--skip-column-names", "-e", statements, database},
                         output) == 0;
    return run_command({"runuser",
                        "-u",
                        "postgres",
                        "--",
                        "psql",
                        "-h",
                        d,
                        "-p",
                        "5432",
                        "-U",
                        "postgres",
                        "-X",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-A",
                        "-t",
                        "-F",
                        "\t",
                        "-c",
                        statements,
                        database.empty() ? "postgres" : database},
                       output) == 0;
  }

  std::string engine_;
  test_support::TempDir dir_{"wok-dbexec"};
  std::string netns_;
  pid_t pid_ = -1;
};

constexpr char kMariaDb[] = "mariadb";
constexpr char kPostgreSql[] = "postgresql";

template <const char* kEngine>
class ExecFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new PodDatabase(kEngine);
    std::string error;
    if (!db_->start(&error)) start_error_ = new std::string(error);
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
    std::string error;
    ASSERT_TRUE(api_.start(&error)) << error;
    api_.set_exec({"ip", "netns", "exec", db_->netns()});
    Credentials creds;
    creds.server = api_.url();
    member_ = std::make_unique<KubeClient>(creds, "kubectl/member");
    std::string out;
    ASSERT_TRUE(db_->sql("DROP TABLE IF EXISTS posts", &out)) << out;
    const uint16_t port = db_->maria() ? 3306 : 5432;
    // The Site, its database's Service, a pod starting and a pod ready
    // (a sidecar listed first), the password's Secret.
    api_.create("/apis/wok.dev/v1alpha1/namespaces/team-a/sites",
                {{"metadata", {{"name", "www"}, {"namespace", "team-a"}}},
                 {"spec",
                  {{"mode", "php"},
                   {"hosts", {"www.team-a.test"}},
                   {"database", {{"engine", kEngine}, {"size", "1Gi"}}}}}});
    api_.create("/api/v1/namespaces/team-a/services",
                {{"metadata", {{"name", "www-db"}, {"namespace", "team-a"}}},
                 {"spec", {{"selector", {{"wok.dev/site", "www"}, {"wok.dev/component", "db"}}}}}});
    json labels = {{"wok.dev/site", "www"}, {"wok.dev/component", "db"}};
    api_.create("/api/v1/namespaces/team-a/pods",
                {{"metadata", {{"name", "www-db-1"}, {"namespace", "team-a"}, {"labels", labels}}},
                 {"spec", {{"containers", {{{"name", "db"}}}}}},
                 {"status", {{"phase", "Pending"}}}});
    api_.create(
        "/api/v1/namespaces/team-a/pods",
        {{"metadata", {{"name", "www-db-0"}, {"namespace", "team-a"}, {"labels", labels}}},
         {"spec",
          {{"containers",
            {{{"name", "metrics"}}, {{"name", "db"}, {"ports", {{{"containerPort", port}}}}}}}}},
         {"status",
          {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}});
    api_.create("/api/v1/namespaces/team-a/secrets",
                {{"metadata", {{"name", "www-db"}, {"namespace", "team-a"}}},
                 {"data", {{"password", api::base64_encode(kPassword)}}}});
  }

  // `wok db VERB site NAME -n team-a --kubeconfig ...` as the CLI runs it.
  int db(const std::string& verb, const std::string& input, const std::string& file = "",
         const std::string& site = "www") {
    out_.str("");
    err_.str("");
    std::istringstream in(input);
    return kube_db_command(
        *member_, verb, "team-a", site, file, in, out_, err_,
        [](std::istream& shell_in, std::ostream& shell_err, const std::string& name,
           const std::function<int(const std::string&)>& run_sql) {
          return cmd::sql_shell(shell_in, shell_err, name, nullptr, run_sql);
        });
  }

  static inline PodDatabase* db_ = nullptr;
  static inline std::string* start_error_ = nullptr;
  FakeKubeApi api_;
  std::unique_ptr<KubeClient> member_;
  std::ostringstream out_, err_;
};

using DatabaseExecTest = ExecFixture<kMariaDb>;
using PostgresExecTest = ExecFixture<kPostgreSql>;

TEST_F(DatabaseExecTest, ImportsDumpsAndRunsStatementsInTheDatabasesPod) {
  test_support::TempDir dir;
  const std::string file = (dir.path / "dump.sql").string();
  std::ofstream(file) << "CREATE TABLE posts (id INT PRIMARY KEY, title TEXT);\n"
                         "INSERT INTO posts VALUES (1, 'Hello'), (2, 'it''s here'), (3, 'ünï');\n";
  ASSERT_EQ(db("db-import", "", file), 0) << err_.str();
  std::string rows;
  ASSERT_TRUE(db_->sql("SELECT COUNT(*) FROM posts", &rows)) << rows;
  EXPECT_EQ(rows, "3\n");

  ASSERT_EQ(db("db-dump", ""), 0) << err_.str();
  EXPECT_NE(out_.str().find("CREATE TABLE `posts`"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("(2,'it\\'s here')"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("ünï"), std::string::npos);
  const std::string dump = out_.str();

  // The shell: input that is not a terminal runs as one script.
  ASSERT_EQ(db("db-shell", "SELECT title FROM posts WHERE id = 2;\n"), 0) << err_.str();
  EXPECT_NE(out_.str().find("it's here"), std::string::npos) << out_.str();

  // The dump imports back (stdin), into an emptied database.
  ASSERT_TRUE(db_->sql("DROP TABLE posts", &rows)) << rows;
  ASSERT_EQ(db("db-import", dump, "-"), 0) << err_.str();
  ASSERT_TRUE(db_->sql("SELECT title FROM posts ORDER BY id", &rows)) << rows;
  EXPECT_EQ(rows, "Hello\nit's here\nünï\n");

  // Every command ran in the ready pod's database container, none held
  // the password.
  auto execs = api_.execs();
  ASSERT_EQ(execs.size(), 4u);
  for (const auto& argv : execs) {
    ASSERT_EQ(argv.size(), 3u);
    EXPECT_EQ(argv[0], "/bin/sh");
    for (const auto& a : argv) EXPECT_EQ(a.find("pod-pass_1234567"), std::string::npos) << a;
  }
  EXPECT_EQ(api_.count("GET", "/namespaces/team-a/pods/www-db-0/exec"), 4);
  EXPECT_EQ(api_.count("GET", "container=db&command="), 4);
}

// An old API server (v4 only) cannot be told that stdin ended: the command
// reads the input's length. A large import streams both ways.
TEST_F(DatabaseExecTest, ALargeImportOverTheOlderProtocol) {
  api_.set_exec({"ip", "netns", "exec", db_->netns()}, {"v4.channel.k8s.io"});
  std::string sql = "CREATE TABLE posts (id INT PRIMARY KEY, title TEXT);\n";
  for (int i = 0; i < 20000; ++i)
    sql += "INSERT INTO posts VALUES (" + std::to_string(i) + ", '" +
           std::string(200, 'a' + i % 26) + "');\n";
  ASSERT_GT(sql.size(), 4u << 20);
  ASSERT_EQ(db("db-import", sql, "-"), 0) << err_.str();
  std::string rows;
  ASSERT_TRUE(db_->sql("SELECT COUNT(*), SUM(LENGTH(title)) FROM posts", &rows)) << rows;
  EXPECT_EQ(rows, "20000\t4000000\n");
  // Output as large as the input, while it is sent.
  ASSERT_EQ(db("db-shell", "SELECT * FROM posts;"), 0) << err_.str();
  EXPECT_GT(out_.str().size(), 4'000'000u);
  ASSERT_EQ(db("db-dump", ""), 0) << err_.str();
  EXPECT_NE(out_.str().find("(19999,'"), std::string::npos);
}

// Over TLS, as every real API server speaks: the client's CA and the
// upgrade on a connection of its own (TLS records read ahead of poll).
TEST_F(DatabaseExecTest, OverTls) {
  test_support::TempDir dir;
  const std::string cert = (dir.path / "tls.crt").string(), key = (dir.path / "tls.key").string();
  make_certificate(cert, key, "127.0.0.1");
  TlsRelay relay;
  std::string error;
  ASSERT_TRUE(
      relay.start(cert, key, static_cast<uint16_t>(std::stoi(api_.url().substr(17))), &error))
      << error;
  Credentials creds;
  creds.server = relay.url();
  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  creds.ca_pem = pem.str();
  member_ = std::make_unique<KubeClient>(creds, "kubectl/member");
  std::string sql = "CREATE TABLE posts (id INT PRIMARY KEY, title TEXT);\n";
  for (int i = 0; i < 3000; ++i)
    sql +=
        "INSERT INTO posts VALUES (" + std::to_string(i) + ", '" + std::string(300, 'z') + "');\n";
  ASSERT_EQ(db("db-import", sql, "-"), 0) << err_.str();
  ASSERT_EQ(db("db-dump", ""), 0) << err_.str();
  EXPECT_NE(out_.str().find("(2999,'zzz"), std::string::npos);
  EXPECT_GT(out_.str().size(), 900'000u);
  // A CA that did not sign the server's certificate: refused.
  creds.ca_pem = "";
  creds.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  member_ = std::make_unique<KubeClient>(creds, "kubectl/member");
  EXPECT_EQ(db("db-dump", ""), 1);
  EXPECT_NE(err_.str().find("error: "), std::string::npos);
  EXPECT_NE(err_.str().find("certificate"), std::string::npos) << err_.str();
}

TEST_F(DatabaseExecTest, ErrorsNameTheirCause) {
  // A client that fails at once while much input is still on its way: its
  // error and exit code, not a broken stream.
  ASSERT_EQ(db("db-import", "SELEC 1;\n" + std::string(8 << 20, '-') + "\n", "-"), 1);
  EXPECT_NE(err_.str().find("ERROR 1064"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("exited with 1"), std::string::npos) << err_.str();
  // The client's own error, and its exit code.
  EXPECT_EQ(db("db-shell", "SELEC 1;"), 1);
  EXPECT_NE(err_.str().find("ERROR 1064"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("error: the database's client (mariadb, pod www-db-0) exited with 1"),
            std::string::npos)
      << err_.str();
  // A member whose role has no pods/exec (a viewer): the API's answer.
  api_.fail_next("GET", "/pods/www-db-0/exec", 403);
  EXPECT_EQ(db("db-dump", ""), 1);
  EXPECT_NE(err_.str().find("error: exec in pod www-db-0: 403"), std::string::npos) << err_.str();
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(db("db-dump", "", "", "nope"), 1);
  EXPECT_EQ(err_.str(), "error: site \"nope\" not found in namespace \"team-a\"\n");
  EXPECT_EQ(db("db-import", "", "/nonexistent/dump.sql"), 1);
  EXPECT_EQ(err_.str(), "error: cannot read /nonexistent/dump.sql\n");
  // No password to read (a viewer cannot read Secrets either).
  api_.fail_next("GET", "/secrets/www-db", 403);
  EXPECT_EQ(db("db-dump", ""), 1);
  EXPECT_NE(err_.str().find("error: get secret www-db (the database's password): 403"),
            std::string::npos)
      << err_.str();
  // No ready pod: the ones there named.
  api_.remove("/api/v1/namespaces/team-a/pods/www-db-0");
  EXPECT_EQ(db("db-dump", ""), 1);
  EXPECT_EQ(err_.str(),
            "error: the database of site \"www\" has no running, ready pod (www-db-1 Pending)\n");
  api_.remove("/api/v1/namespaces/team-a/services/www-db");
  EXPECT_EQ(db("db-dump", ""), 1);
  EXPECT_EQ(err_.str(),
            "error: the database of site \"www\" has no Service \"www-db\" yet (has the operator "
            "made it?)\n");
  // A site without a database.
  api_.create("/apis/wok.dev/v1alpha1/namespaces/team-a/sites",
              {{"metadata", {{"name", "plain"}, {"namespace", "team-a"}}},
               {"spec", {{"mode", "static"}, {"hosts", {"plain.team-a.test"}}}}});
  EXPECT_EQ(db("db-shell", "SELECT 1;", "", "plain"), 1);
  EXPECT_EQ(err_.str(), "error: site \"plain\" has no database (spec.database)\n");
  EXPECT_EQ(api_.execs().size(), 2u);  // only the two failed commands ran
}

// PostgreSQL: psql and pg_dump as the site's user, PGPASSWORD from stdin.
TEST_F(PostgresExecTest, ImportsDumpsAndRunsStatementsInTheDatabasesPod) {
  ASSERT_EQ(db("db-import",
               "CREATE TABLE posts (id INT PRIMARY KEY, title TEXT);\n"
               "INSERT INTO posts VALUES (1, 'Hello'), (2, 'it''s here');\n",
               "-"),
            0)
      << err_.str();
  std::string rows;
  ASSERT_TRUE(db_->sql("SELECT tableowner FROM pg_tables WHERE tablename = 'posts'", &rows));
  EXPECT_EQ(rows, "www\n");  // the site's user, not the superuser
  ASSERT_EQ(db("db-dump", ""), 0) << err_.str();
  EXPECT_NE(out_.str().find("CREATE TABLE public.posts"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("2\tit's here"), std::string::npos) << out_.str();
  const std::string dump = out_.str();
  ASSERT_EQ(db("db-shell", "SELECT title FROM posts WHERE id = 1;"), 0) << err_.str();
  EXPECT_NE(out_.str().find("Hello"), std::string::npos) << out_.str();
  ASSERT_TRUE(db_->sql("DROP TABLE posts", &rows)) << rows;
  ASSERT_EQ(db("db-import", dump, "-"), 0) << err_.str();
  ASSERT_TRUE(db_->sql("SELECT title FROM posts ORDER BY id", &rows)) << rows;
  EXPECT_EQ(rows, "Hello\nit's here\n");
  // The first error stops it, and says so.
  EXPECT_EQ(db("db-shell", "SELECT * FROM nothing_here;"), 1);
  EXPECT_NE(err_.str().find("relation \"nothing_here\" does not exist"), std::string::npos)
      << err_.str();
  for (const auto& argv : api_.execs())
    for (const auto& a : argv) EXPECT_EQ(a.find(kPassword), std::string::npos) << a;
}

}  // namespace
}  // namespace wok::kube::testing

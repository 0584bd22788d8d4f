"""spec.database on the embedded platform: real MariaDB and PostgreSQL servers
from Debian's packages, run by `wok up` in the site's sandbox and network.
Needs root (runc, loop-mounted volumes); CI runs it as root."""
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.parse

from test_modes import app_site
from wokharness import WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "mariadbd", "mariadb", "psql") if not shutil.which(b) and
         not os.path.exists("/usr/sbin/" + b)]
if not os.path.exists("/usr/lib/postgresql/15/bin/postgres"):
    NEEDS.append("postgresql-15")
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)
# The PostgreSQL versions side by side (Debian's layout), as wok up finds them.
PG_VERSIONS = sorted((v for v in (os.listdir("/usr/lib/postgresql") if os.path.isdir(
    "/usr/lib/postgresql") else []) if v.isdigit() and os.access(
        f"/usr/lib/postgresql/{v}/bin/postgres", os.X_OK)), key=int)
SKIP_UPGRADE = SKIP or (None if "13" in PG_VERSIONS else
                        "needs PostgreSQL 13 beside 15 (scripts/install-postgresql-13.sh, run by make test)")

# An app that runs SQL with the engine's own client, connected as the
# platform says (DB_* and DATABASE_URL), and shows what it was given.
APP = r"""import http.server, os, subprocess, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == '/env':
            body = '\n'.join(f'{k}={os.environ.get(k, "")}' for k in
                             ('DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'DATABASE_URL'))
        elif url.path == '/hosts':
            body = open('/etc/hosts').read()
        elif url.path == '/sql':
            sql = q['q'][0]
            host = q.get('host', [os.environ.get('DB_HOST', '')])[0]
            if os.environ.get('ENGINE') == 'mariadb':
                cmd = ['mariadb', '--connect-timeout=3', '-h', host, '-P', os.environ.get('DB_PORT', '3306'),
                       '-u', q.get('user', [os.environ.get('DB_USER', '')])[0], '-N', '-B',
                       os.environ.get('DB_NAME', ''), '-e', sql]
                env = dict(os.environ, MYSQL_PWD=q.get('password', [os.environ.get('DB_PASSWORD', '')])[0])
            else:
                url_ = q.get('url', [os.environ.get('DATABASE_URL', '')])[0]
                cmd = ['psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url_, '-c', sql]
                env = dict(os.environ, PGCONNECT_TIMEOUT='3')
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=20)
            body = ('OK\n' + r.stdout) if r.returncode == 0 else ('ERR\n' + r.stderr)
        else:
            body = 'app'
        data = body.encode()
        self.send_response(200); self.send_header('Content-Length', str(len(data))); self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""


# A php site (WordPress's way: PDO, the connection from the environment) that
# counts visits in its database, and tries another site's database when asked.
PHP = r"""<?php
if (isset($_GET['probe'])) {
  try {
    new PDO('mysql:host=' . $_GET['probe'] . ';port=3306;dbname=blog', 'blog', $_GET['pw'],
            [PDO::ATTR_TIMEOUT => 3]);
    echo 'CONNECTED';
  } catch (Exception $e) { echo 'REFUSED ' . $e->getMessage(); }
  exit;
}
$pdo = new PDO('mysql:host=' . getenv('DB_HOST') . ';port=' . getenv('DB_PORT') . ';dbname=' .
               getenv('DB_NAME'), getenv('DB_USER'), getenv('DB_PASSWORD'));
$pdo->exec('CREATE TABLE IF NOT EXISTS visits (n INT)');
$pdo->exec('INSERT INTO visits VALUES (1)');
echo 'visits ' . $pdo->query('SELECT COUNT(*) FROM visits')->fetchColumn();
"""


def db_site(name, project, url, engine, size="300Mi", extra=""):
    """test_modes' app site (one replica) with ENGINE in its env and a database."""
    return (app_site(name, project, url, replicas=1).replace("GREETING: hi", f"ENGINE: {engine}") +
            f"  database: {{engine: {engine}, size: {size}}}\n" + extra)


class DatabaseCase(WokTestCase):
    """wok up with two projects and their members' tokens."""

    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "60000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"],
                                    [("alice", "developer"), ("vera", "viewer")]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"], [("bob", "admin")]))
        self.alice, self.vera, self.bob = (self.wok.cli("token", "create", u).stdout.strip()
                                           for u in ("alice", "vera", "bob"))

    def sql(self, host, sql, check=True, **params):
        q = urllib.parse.urlencode(dict(q=sql, **params))
        status, _, body = self.wok.get(host, "/sql?" + q)
        if check:
            self.assertEqual(status, 200, body)
        return body.decode() if status == 200 else ""

    def env(self, host):
        status, _, body = self.wok.get(host, "/env")
        return dict(line.split("=", 1) for line in body.decode().splitlines())

    def deploy(self, name, project, engine, revision=1, **kw):
        repo = self.repo(f"{project}-{name}", {"app.py": APP, "v.txt": "1"})
        self.wok.apply(db_site(name, project, repo.url, engine, **kw))
        self.wok.wait_revision(name, project, revision, timeout=120)
        return repo



@unittest.skipIf(SKIP, SKIP)
class DatabaseTest(DatabaseCase):
    def check_engine(self, engine):
        repo = self.deploy("blog", "team-a", engine)
        host = "blog.team-a.localhost"
        env = self.env(host)
        port = "3306" if engine == "mariadb" else "5432"
        self.assertEqual((env["DB_HOST"], env["DB_PORT"], env["DB_NAME"], env["DB_USER"]),
                         ("blog-db", port, "blog", "blog"))
        self.assertGreaterEqual(len(env["DB_PASSWORD"]), 32)
        scheme = "mysql" if engine == "mariadb" else "postgresql"
        self.assertEqual(env["DATABASE_URL"], f"{scheme}://blog:{env['DB_PASSWORD']}@blog-db:{port}/blog")
        # The password is the project's secret blog-db, made by the platform.
        out = self.wok.cli("get", "secret", "blog-db", "-n", "team-a", "-o", "json").stdout
        self.assertEqual(sorted(json.loads(out)["keys"]), ["password", "username"], out)
        self.assertTrue(self.sql(host, "CREATE TABLE posts (title VARCHAR(100))").startswith("OK"))
        self.assertTrue(self.sql(host, "INSERT INTO posts VALUES ('hello')").startswith("OK"))
        self.assertIn("hello", self.sql(host, "SELECT title FROM posts"))
        self.check_db_commands(engine)
        # A new revision: same server, same data.
        repo.write({"v.txt": "2"})
        self.wok.cli("refresh", "site", "blog", "-n", "team-a")
        self.wok.wait_revision("blog", "team-a", 2, timeout=120)
        self.assertIn("hello", self.sql(host, "SELECT title FROM posts"))
        # The server killed: the runtime restarts it, the data is there.
        st = self.wok.site_json("blog", "team-a")["status"]
        db = [i for i in st["instances"] if i["component"] == "db"]
        self.assertEqual(len(db), 1, st["instances"])
        subprocess.run(["runc", "--root", os.path.join(self.wok.data, "runtime", "runc"), "kill",
                        db[0]["name"], "KILL"], check=True)
        wait_for(lambda: "hello" in self.sql(host, "SELECT title FROM posts", check=False), 60, interval=0.5,
                 what="the database back after a kill -9")
        # wok restarted: the server and its data survive.
        self.wok.stop()
        self.wok.close()
        self.wok.start()
        wait_for(lambda: "hello" in self.sql(host, "SELECT title FROM posts", check=False), 60, interval=0.5,
                 what="the database after a restart of wok")
        # A member's own password: refused when it could break SQL or a URL,
        # else given to the user and the instances by the next revision.
        self.wok.cli("secret", "set", "blog-db", "password=it's-mine-1234", "-n", "team-a", token=self.alice)
        self.wok.cli("rollout", "restart", "site", "blog", "-n", "team-a", token=self.alice)
        wait_for(lambda: 'secret "blog-db": key "password" may hold only letters' in self.wok.cli(
            "rollout", "history", "site", "blog", "-n", "team-a").stdout, 60, interval=0.5,
            what="the failed revision naming the secret")
        self.wok.cli("secret", "set", "blog-db", "password=Mine-2.0_secret~pw", "-n", "team-a", token=self.alice)
        self.wok.cli("rollout", "restart", "site", "blog", "-n", "team-a", token=self.alice)
        wait_for(lambda: self.env(host).get("DB_PASSWORD") == "Mine-2.0_secret~pw", 120, interval=0.5,
                 what="the new password in the instances")
        wait_for(lambda: "hello" in self.sql(host, "SELECT title FROM posts", check=False), 60, interval=0.5,
                 what="the database with the new password")
        old = self.sql(host, "SELECT 1", password=env["DB_PASSWORD"], url=env["DATABASE_URL"], check=False)
        self.assertTrue(old.startswith("ERR"), old)
        # The size is shown in the status.
        st = wait_for(lambda: (lambda s: s if any(v["name"] == "database" for v in s.get("storage", [])) else None)(
            self.wok.site_json("blog", "team-a")["status"]), 60, what="status.storage")
        self.assertRegex(self.wok.cli("stats", "site", "blog", "-n", "team-a").stdout,
                         r"database\s+[\d.]+ ?[KMG]i?B? used")
        described = self.wok.cli("describe", "site", "blog", "-n", "team-a").stdout
        self.assertRegex(described, r"Database:\s+" + engine + r" [\d.]+, 1/1 ready, .* used of 300Mi, host blog-db")
        return env

    def db(self, *args, token=None, stdin=None, check=True):
        return self.wok.cli("db", *args, "site", "blog", "-n", "team-a", token=token or self.alice,
                            stdin=stdin, check=check)

    def check_db_commands(self, engine):
        """wok db dump, import and shell: a developer's; never a viewer's or another project's."""
        host = "blog.team-a.localhost"
        dump = self.db("dump").stdout
        self.assertIn("CREATE TABLE", dump)
        self.assertIn("hello", dump)
        # A shell reading a script, a statement typed at a time being the same path.
        out = self.db("shell", stdin="SELECT title FROM posts;\n").stdout
        self.assertIn("hello", out)
        # A mistake says what the server said, and fails.
        r = self.db("shell", stdin="SELECT nothing FROM nowhere;\n", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nowhere", r.stderr)
        # Import: the dump brings a dropped table back.
        self.db("shell", stdin="DROP TABLE posts;\n")
        self.assertNotIn("hello", self.sql(host, "SELECT title FROM posts", check=False))
        path = os.path.join(self.root, "dump.sql")
        with open(path, "w") as f:
            f.write(dump)
        self.db("import", "-f", path)
        self.assertIn("hello", self.sql(host, "SELECT title FROM posts"))
        # Over the API's 16 MiB body limit: sent in parts, run as one import.
        big = os.path.join(self.root, "big.sql")
        with open(big, "w") as f:
            f.write("CREATE TABLE big (v %s);\n" % ("MEDIUMTEXT" if engine == "mariadb" else "TEXT"))
            for i in range(24):
                f.write("INSERT INTO big VALUES ('" + chr(ord("a") + i) * (1 << 20) + "');\n")
        self.db("import", "-f", big)
        self.assertEqual(self.sql(host, "SELECT COUNT(*), SUM(LENGTH(v)) FROM big").split(),
                         ["OK", "24", str(24 << 20)] if engine == "mariadb" else
                         ["OK", f"24|{24 << 20}"])
        self.assertEqual(os.listdir(os.path.join(self.wok.data, "tmp", "sql-uploads")), [])
        self.db("shell", stdin="DROP TABLE big;\n")
        # An output past its cap stops the client: the host's disk never fills.
        huge = ("SELECT REPEAT('x', 1000000) FROM seq_1_to_100;" if engine == "mariadb" else
                "SELECT repeat('x', 1000000) FROM generate_series(1, 100);")
        r = self.db("shell", stdin=huge + "\n", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the output is over 64 MiB", r.stderr)
        # A viewer reads the site, not its rows; another project's admin sees nothing.
        r = self.db("dump", token=self.vera, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("for developers and admins", r.stderr)
        r = self.db("shell", token=self.bob, stdin="SELECT 1;\n", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no access to project", r.stderr)
        # The job ran as the site's user: no other database is to be seen.
        if engine == "mariadb":
            out = self.db("shell", stdin="SHOW DATABASES;\n").stdout
            self.assertNotIn("mysql", out.split())
        r = self.db("shell", stdin="CREATE DATABASE other;\n", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_mariadb_site_keeps_its_data_across_revisions_kills_and_restarts(self):
        self.check_engine("mariadb")

    def test_postgresql_site_keeps_its_data_across_revisions_kills_and_restarts(self):
        self.check_engine("postgresql")


@unittest.skipIf(SKIP_UPGRADE, SKIP_UPGRADE)
class DatabaseUpgradeTest(DatabaseCase):
    def version(self, host):
        return self.sql(host, "SHOW server_version").split("\n")[1].strip()

    def test_postgresql_13_is_upgraded_to_15_only_by_wok_db_upgrade(self):
        host = "blog.team-a.localhost"
        repo = self.repo("team-a-blog", {"app.py": APP, "v.txt": "1"})
        measure = os.environ.get("WOK_DB_UPGRADE_MEASURE") == "1"
        yaml_13 = db_site("blog", "team-a", repo.url, "postgresql",
                          size="1Gi" if measure else "300Mi").replace(
            "engine: postgresql,", 'engine: postgresql, version: "13",')
        self.wok.apply(yaml_13, token=self.alice)
        self.wok.wait_revision("blog", "team-a", 1, timeout=120)
        self.assertTrue(self.version(host).startswith("13."), self.version(host))
        self.sql(host, "CREATE TABLE posts (title VARCHAR(100))")
        self.sql(host, "INSERT INTO posts VALUES ('written on 13')")
        # Never implicit: an apply naming another version is refused, one
        # leaving it out keeps the database's.
        r = self.wok.apply(yaml_13.replace('version: "13"', 'version: "15"'), token=self.alice,
                           check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('spec.database.version: "15": the database runs 13; only `wok db upgrade site '
                      'blog --to 15` changes its version', r.stderr)
        self.wok.apply(yaml_13.replace('version: "13", ', ""), token=self.alice)
        self.assertEqual(self.wok.site_json("blog", "team-a")["spec"]["database"]["version"], "13")

        def upgrade(version, token=None, check=True):
            return self.wok.cli("db", "upgrade", "site", "blog", "-n", "team-a", "--to", version,
                                token=token or self.alice, check=check)
        # Refused: a viewer, a version the platform has not, the same one.
        r = upgrade("15", token=self.vera, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("may only read project", r.stderr)
        r = upgrade("16", check=False)
        self.assertIn('"16" is not a version of postgresql this platform runs (' +
                      ", ".join(PG_VERSIONS) + ")", r.stderr)
        r = upgrade("13", check=False)
        self.assertIn('site "blog"\'s database runs postgresql 13 already', r.stderr)
        # The upgrade: a new revision, its server 15 on the upgraded data.
        # WOK_DB_UPGRADE_MEASURE=1: with 50 MB of rows, timed (docs/data.md).
        if measure:
            self.sql(host, "CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 31) AS body "
                           "FROM generate_series(1, 50000) g")
            size = self.sql(host, "SELECT pg_database_size('blog')").split("\n")[1]
        started = time.monotonic()
        r = upgrade("15")
        if measure:
            print(f"\nwok db upgrade 13 to 15 of a {int(size) / 1e6:.1f} MB database: "
                  f"{time.monotonic() - started:.1f} s")
        self.assertIn("site.wok.dev/blog: database upgrade to 15 requested", r.stdout)
        self.assertIn("successfully rolled out (revision 2", r.stdout)
        self.assertTrue(self.version(host).startswith("15."), self.version(host))
        self.assertIn("written on 13", self.sql(host, "SELECT title FROM posts"))
        self.assertEqual(self.wok.site_json("blog", "team-a")["spec"]["database"]["version"], "15")
        self.sql(host, "INSERT INTO posts VALUES ('written on 15')")
        volume = os.path.join(self.wok.data, "storage")
        left = [os.path.join(d, f) for d, dirs, _ in os.walk(volume) for f in dirs
                if f in ("data.new", "data.old", "data.upgraded", "upgrade")]
        self.assertEqual(left, [])
        logs = self.wok.cli("logs", "site", "blog", "-n", "team-a", "--component", "db",
                            "--tail", "1000").stdout
        self.assertIn("upgraded the data to PostgreSQL 15", logs)
        # Never back down: not asked for, nor by a rollback to revision 1.
        r = upgrade("13", check=False)
        self.assertIn("it is never downgraded to 13", r.stderr)
        self.wok.cli("rollout", "undo", "site", "blog", "-n", "team-a", "--to-revision", "1",
                     token=self.alice)
        self.wok.cli("rollout", "status", "site", "blog", "-n", "team-a", "--timeout", "50s")
        self.assertEqual(self.wok.site_json("blog", "team-a")["spec"]["database"]["version"], "15")
        self.assertTrue(self.version(host).startswith("15."), self.version(host))
        self.assertIn("written on 15", self.sql(host, "SELECT title FROM posts"))


    def test_an_upgrade_without_room_fails_saying_so_and_13_keeps_serving(self):
        host = "tiny.team-a.localhost"
        repo = self.repo("team-a-tiny", {"app.py": APP, "v.txt": "1"})
        self.wok.apply(db_site("tiny", "team-a", repo.url, "postgresql", size="64Mi").replace(
            "engine: postgresql,", 'engine: postgresql, version: "13",'), token=self.alice)
        self.wok.wait_revision("tiny", "team-a", 1, timeout=120)
        self.sql(host, "CREATE TABLE posts (title VARCHAR(100))")
        self.sql(host, "INSERT INTO posts VALUES ('kept on 13')")
        r = self.wok.cli("db", "upgrade", "site", "tiny", "-n", "team-a", "--to", "15",
                         token=self.alice, check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"revision 2 failed: .*error: upgrading PostgreSQL 13 to 15 copies "
                                   r"the data: it needs \d+ MiB free on the database's volume, which "
                                   r"has \d+ MiB \(raise spec.database.size\)")
        wait_for(lambda: "kept on 13" in self.sql(host, "SELECT title FROM posts", check=False), 60,
                 interval=0.5, what="the database on 13 again")
        self.assertTrue(self.version(host).startswith("13."), self.version(host))
        # Never deployed: it may be called off (back to what the live revision runs).
        r = self.wok.cli("db", "upgrade", "site", "tiny", "-n", "team-a", "--to", "13",
                         token=self.alice)
        self.assertIn("successfully rolled out", r.stdout)
        self.assertEqual(self.wok.site_json("tiny", "team-a")["spec"]["database"]["version"], "13")
        self.assertIn("kept on 13", self.sql(host, "SELECT title FROM posts"))


@unittest.skipIf(SKIP, SKIP)
class DatabaseIsolationTest(DatabaseCase):
    def test_only_its_own_site_reaches_a_database(self):
        self.deploy("blog", "team-a", "mariadb")
        host = "blog.team-a.localhost"
        env = self.env(host)
        status, _, hosts = self.wok.get(host, "/hosts")
        vip = next(line.split()[0] for line in hosts.decode().splitlines() if "blog-db" in line.split())
        # A php site of the same project, with a database of its own.
        repo = self.repo("wp", {"index.php": PHP})
        self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: wp, namespace: team-a}}
spec:
  mode: php
  hosts: [wp.team-a.localhost]
  source: {{git: {{url: "{repo.url}", interval: 1h}}}}
  database: {{engine: mariadb, size: 300Mi}}
""", token=self.alice)
        self.wok.wait_revision("wp", "team-a", 1, timeout=120)
        self.assertEqual(self.wok.get("wp.team-a.localhost", "/")[2], b"visits 1")
        self.assertEqual(self.wok.get("wp.team-a.localhost", "/")[2], b"visits 2")
        # Even with blog's password, neither its name nor its address is
        # reachable from another site: its network is blog's alone.
        for target in ("blog-db", vip):
            q = urllib.parse.urlencode({"probe": target, "pw": env["DB_PASSWORD"]})
            body = self.wok.get("wp.team-a.localhost", "/?" + q)[2].decode()
            self.assertTrue(body.startswith("REFUSED"), f"{target}: {body}")
        # Nor from another project's site.
        self.deploy("spy", "team-b", "postgresql")
        for target in ("blog-db", vip):
            out = self.sql("spy.team-b.localhost", "SELECT 1",
                           url=f"postgresql://blog:{env['DB_PASSWORD']}@{target}:3306/blog")
            self.assertTrue(out.startswith("ERR"), f"{target}: {out}")
        # Nor from the host: it listens inside its own network namespace only
        # (a connection, if this host's network accepts one at all, meets no
        # server: MariaDB greets first).
        import socket
        greeting = b""
        try:
            with socket.create_connection((vip, 3306), timeout=2) as c:
                c.settimeout(2)
                greeting = c.recv(200)
        except OSError:
            pass
        self.assertNotIn(b"MariaDB", greeting)

    def test_a_first_start_cut_short_starts_over_cleanly(self):
        """The data directory is made under a temporary name: what a kill -9
        in the middle of mariadb-install-db leaves behind is thrown away."""
        self.deploy("blog", "team-a", "mariadb")
        host = "blog.team-a.localhost"
        self.assertTrue(self.sql(host, "CREATE TABLE t (v INT)").startswith("OK"))
        uid = self.wok.site_json("blog", "team-a")["metadata"]["uid"]
        volume = os.path.join(self.wok.data, "sites", "team-a", "blog", uid, "database", "data")
        self.wok.kill9()
        subprocess.run(["runc", "--root", os.path.join(self.wok.data, "runtime", "runc"), "kill",
                        "team-a.blog.db.r0.0", "KILL"], check=False)
        time.sleep(1)
        # As a first start killed half-way would leave it (the server's own
        # files): no data, a half-made copy.
        shutil.rmtree(os.path.join(volume, "data"))
        owner = os.stat(volume).st_uid
        os.makedirs(os.path.join(volume, "data.new", "mysql"))
        with open(os.path.join(volume, "data.new", "ibdata1"), "w") as f:
            f.write("half")
        for p in ("data.new", "data.new/mysql", "data.new/ibdata1"):
            os.chown(os.path.join(volume, p), owner, owner)
        self.wok.close()
        self.wok.start()
        wait_for(lambda: self.sql(host, "CREATE TABLE again (v INT)", check=False).startswith("OK"), 120,
                 interval=0.5, what="a fresh database after the half-made one")
        self.assertFalse(os.path.exists(os.path.join(volume, "data.new")))

    def test_bad_database_specs_and_quota_are_refused_by_field(self):
        repo = self.repo("bad", {"app.py": APP})
        cases = [
            ("engine: mongodb, size: 1Gi", 'spec.database.engine: "mongodb" is not an engine'),
            ('engine: postgresql, version: "16", size: 1Gi',
             'spec.database.version: "16" is not a version of postgresql this platform runs (' +
             ", ".join(PG_VERSIONS) + ")"),
            ("engine: mariadb, size: 10Mi", 'spec.database.size: "10Mi" is too small for mariadb'),
            ("engine: mariadb", "spec.database.size"),
        ]
        for db, message in cases:
            text = db_site("bad", "team-a", repo.url, "mariadb").replace(
                "database: {engine: mariadb, size: 300Mi}", "database: {" + db + "}")
            r = self.wok.apply(text, token=self.alice, check=False)
            self.assertNotEqual(r.returncode, 0, db)
            self.assertIn(message, r.stderr, db)
        # Its volume counts against the project's storage quota.
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"],
                                    [("alice", "developer"), ("vera", "viewer")]).replace(
            "spec:\n", "spec:\n  quota: {storage: 1Gi}\n"))
        r = self.wok.apply(db_site("big", "team-a", repo.url, "mariadb", size="2Gi"),
                           token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("storage is 1Gi", r.stderr)


if __name__ == "__main__":
    unittest.main()

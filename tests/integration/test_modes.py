"""The php and app modes on the embedded platform: real `wok up`, real runc,
real php-fpm. Needs root (runc, cgroups); CI runs it as root."""
import http.client
import json
import os
import shutil
import subprocess
import threading
import unittest

from wokharness import WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "php-fpm8.2", "python3") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

PHP_INDEX = """<?php
$uri = $_SERVER['REQUEST_URI'];
if (isset($_GET['write'])) { file_put_contents(__DIR__ . '/uploads/note.txt', $_GET['write']); echo 'wrote'; exit; }
if (isset($_GET['upload'])) { file_put_contents(__DIR__ . '/uploads/evil.php', '<?php echo "RAN" . "-AS-PHP";'); echo 'uploaded'; exit; }
if (isset($_GET['sqlite'])) { $db = new SQLite3(__DIR__ . '/uploads/app.db'); $db->exec('CREATE TABLE IF NOT EXISTS t(v TEXT)'); $db->exec("INSERT INTO t VALUES('" . SQLite3::escapeString($_GET['sqlite']) . "')"); echo 'rows ' . $db->querySingle('SELECT count(*) FROM t'); exit; }
if (isset($_GET['read'])) { $r = @file_get_contents($_GET['read']); echo $r === false ? 'DENIED' : 'READ:' . $r; exit; }
echo "front " . VERSION . " " . $uri . " " . @file_get_contents(__DIR__ . '/uploads/note.txt');
"""

APP = """import http.server, os, sys, time
VERSION = open('version.txt').read().strip()
INSTANCE = os.urandom(4).hex()
if VERSION == 'crash':
    sys.exit(3)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/healthz' and VERSION == 'sick':
            self.send_response(500); self.end_headers(); return
        body = ('app ' + VERSION + ' ' + os.environ.get('GREETING', '') + ' instance=' + INSTANCE).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body)))
        self.send_header('X-Instance', INSTANCE); self.end_headers()
        if self.path == '/slow':  # the head now, the body in 3 s: a request that stays in flight
            time.sleep(3)
        if self.path == '/half':  # half a second in flight: they straddle every route switch
            time.sleep(0.5)
        self.wfile.write(body)
    def log_message(self, *a): pass
server = http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H)
print('listening', VERSION, flush=True)
server.serve_forever()
"""


def php_site(name, project, url):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: php
  hosts: [{name}.{project}.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  php: {{docroot: public, ini: {{memory_limit: 64M}}}}
  storage: [{{name: uploads, path: public/uploads, size: 100Mi}}]
  resources: {{memory: 128Mi, cpu: 500m}}
"""


def app_site(name, project, url, replicas=2, health="/healthz", balance="round-robin"):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: app
  hosts: [{name}.{project}.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, replicas: {replicas}, health: {{path: {health}}}, env: {{GREETING: hi}}, balance: {balance}}}
  resources: {{memory: 128Mi}}
"""


@unittest.skipIf(SKIP, SKIP)
class ModesTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"]))

    def body(self, host, path="/"):
        status, _, body = self.wok.get(host, path)
        return status, body.decode(errors="replace")

    def h2_body(self, host, path="/", data=None):
        """The body through HTTPS and HTTP/2 (curl --http2), failing unless
        HTTP/2 was spoken: FastCGI and the proxy behind an HTTP/2 stream."""
        ca = os.path.join(self.root, "wok-ca.pem")
        if not os.path.exists(ca):
            with open(ca, "w") as f:
                f.write(self.wok.cli("ca").stdout)
        cmd = ["curl", "-s", "--http2", "--cacert", ca, "--resolve", f"{host}:{self.wok.tls_port}:127.0.0.1",
               "-w", "\n%{http_version} %{http_code}", f"https://{host}:{self.wok.tls_port}{path}"]
        if data is not None:
            cmd += ["--data-binary", data]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        body, _, tail = r.stdout.rpartition("\n")
        self.assertTrue(tail.startswith("2 "), f"not HTTP/2: {tail!r} {r.stderr}")
        return body

    def wait_body(self, host, path, text, timeout=60):
        return wait_for(lambda: (lambda r: r if text in r[1] else None)(self.body(host, path)), timeout,
                        interval=0.2, what=f"{text!r} at {host}{path}")

    def php_repo(self, name, version):
        return self.repo(name, {"public/index.php": f"<?php define('VERSION', '{version}'); ?>" + PHP_INDEX,
                                "public/style.css": "body{color:red}", "public/info.php": "<?php echo 'info ' . PHP_VERSION;"})

    def test_php_site_serves_scripts_pretty_urls_static_files_and_keeps_storage(self):
        repo = self.php_repo("blog", "v1")
        self.wok.apply(php_site("blog", "team-a", repo.url))
        self.wok.wait_revision("blog", "team-a", 1)
        host = "blog.team-a.localhost"
        self.wait_body(host, "/info.php", "info 8.")
        self.assertIn("front v1 /posts/hello", self.wait_body(host, "/posts/hello", "front")[1])
        self.assertIn("info 8.", self.h2_body(host, "/info.php"))
        self.assertIn("front v1 /posts/h2", self.h2_body(host, "/posts/h2"))
        status, headers, css = self.wok.get(host, "/style.css")
        self.assertEqual((status, css), (200, b"body{color:red}"))
        self.assertEqual(self.body(host, "/index.php?write=kept")[1], "wrote")
        # Uploaded files are served by the router from storage, and never run as PHP.
        status, headers, note = self.wok.get(host, "/uploads/note.txt")
        self.assertEqual((status, note), (200, b"kept"))
        self.assertEqual(self.body(host, "/index.php?upload=1")[1], "uploaded")
        status, headers, evil = self.wok.get(host, "/uploads/evil.php")
        self.assertNotIn(b"RAN-AS-PHP", evil)
        self.assertEqual(self.wok.get(host, "/uploads/missing.txt")[0], 404)
        self.assertIn(self.wok.get(host, "/uploads/../info.php")[0], (400, 404))
        # An unmodified PHP application keeping its data in SQLite, in storage.
        self.assertEqual(self.body(host, "/index.php?sqlite=a")[1], "rows 1")
        self.assertEqual(self.body(host, "/index.php?sqlite=b")[1], "rows 2")
        # A redeploy (new commit) keeps the uploaded file.
        repo.write({"public/index.php": "<?php define('VERSION', 'v2'); ?>" + PHP_INDEX})
        self.wok.cli("refresh", "site", "blog", "-n", "team-a")
        self.wok.wait_revision("blog", "team-a", 2)
        self.assertIn("front v2 / kept", self.wait_body(host, "/", "front v2")[1])
        self.assertEqual(self.body(host, "/index.php?sqlite=c")[1], "rows 3")
        # So does a rollback.
        self.wok.cli("rollout", "undo", "site", "blog", "-n", "team-a")
        self.wok.wait_revision("blog", "team-a", 3)
        self.assertIn("front v1 / kept", self.wait_body(host, "/", "front v1")[1])
        site = self.wok.site_json("blog", "team-a")
        self.assertEqual([i["phase"] for i in site["status"]["instances"]], ["Ready"])

    def test_a_project_cannot_read_another_projects_storage(self):
        a, b = self.php_repo("a", "a1"), self.php_repo("b", "b1")
        self.wok.apply(php_site("a", "team-a", a.url) + "---\n" + php_site("b", "team-b", b.url))
        self.wok.wait_revision("a", "team-a", 1)
        self.wok.wait_revision("b", "team-b", 1)
        self.assertEqual(self.wait_body("b.team-b.localhost", "/?write=secret", "wrote")[1], "wrote")
        b_uid = self.wok.site_json("b", "team-b")["metadata"]["uid"]
        b_file = os.path.join(self.wok.data, "sites", "team-b", "b", b_uid, "storage", "uploads", "note.txt")
        self.assertTrue(os.path.exists(b_file))
        status, text = self.body("a.team-a.localhost", "/?read=" + b_file)
        self.assertEqual(text, "DENIED")
        status, text = self.body("a.team-a.localhost", "/?read=/etc/shadow")
        self.assertEqual(text, "DENIED")

    def app_repo(self, name, version):
        return self.repo(name, {"app.py": APP, "version.txt": version})

    def test_app_site_rollouts_lose_no_requests_and_a_crashing_revision_never_goes_live(self):
        repo = self.app_repo("api", "v1")
        self.wok.apply(app_site("api", "team-a", repo.url))
        self.wok.wait_revision("api", "team-a", 1)
        host = "api.team-a.localhost"
        self.assertIn("app v1 hi", self.wait_body(host, "/", "app v1")[1])
        self.assertIn("app v1 hi", self.h2_body(host, "/"))
        site = self.wok.site_json("api", "team-a")
        self.assertEqual(sorted(i["name"] for i in site["status"]["instances"]),
                         ["team-a.api.web.r1.0", "team-a.api.web.r1.1"])
        # Several keep-alive clients and a stream of half-second requests, so
        # that requests are in flight on the old instances at each switch.
        # Every answer that is not a 200 with a body, and every exception (a
        # dropped connection, a reset), is a failure: a thread that died of
        # one used to go unnoticed.
        failures, count, stop = [], [0], threading.Event()

        def client(path):
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.wok.port, timeout=30)
                    conn.request("GET", path, headers={"Host": host})
                    r = conn.getresponse()
                    body = r.read()
                    count[0] += 1
                    if r.status != 200 or not body.startswith(b"app "):
                        failures.append((path, r.status, body[:200]))
                    if r.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                except Exception as e:  # noqa: BLE001 - every kind of failure counts
                    failures.append((path, type(e).__name__, str(e)))
                    if conn is not None:
                        conn.close()
                    conn = None
            if conn is not None:
                conn.close()
        threads = [threading.Thread(target=client, args=(p,)) for p in ("/", "/", "/", "/half")]
        for t in threads:
            t.start()
        try:
            repo.write({"version.txt": "v2"})
            self.wok.cli("refresh", "site", "api", "-n", "team-a")
            self.wok.wait_revision("api", "team-a", 2)
            self.wait_body(host, "/", "app v2")
            self.wok.cli("rollout", "undo", "site", "api", "-n", "team-a")
            self.wok.wait_revision("api", "team-a", 3)
            self.wait_body(host, "/", "app v1")
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertGreater(count[0], 10)
        self.assertEqual(failures, [])
        # A revision that crashes at start never serves; the live one does.
        repo.write({"version.txt": "crash"})
        self.wok.cli("refresh", "site", "api", "-n", "team-a")

        def failed():
            s = self.wok.site_json("api", "team-a")["status"]
            return s if "failed" in (s.get("lastError") or "") else None
        status = wait_for(failed, 90, interval=0.5, what="the crashing revision to fail")
        self.assertIn("CrashLoopBackOff", status["lastError"])
        self.assertEqual(status["revision"], 3)
        self.assertIn("app v1", self.body(host)[1])

    def test_health_path_gates_readiness_and_instances_survive_a_kill9(self):
        repo = self.app_repo("api", "v1")
        self.wok.apply(app_site("api", "team-a", repo.url, replicas=1))
        self.wok.wait_revision("api", "team-a", 1)
        host = "api.team-a.localhost"
        self.wait_body(host, "/", "app v1")
        # Running but failing its health check: never routed, the revision fails.
        repo.write({"version.txt": "sick"})
        self.wok.cli("refresh", "site", "api", "-n", "team-a")

        def failed():
            s = self.wok.site_json("api", "team-a")["status"]
            return s if "failed" in (s.get("lastError") or "") else None
        status = wait_for(failed, 60, interval=0.5, what="the unhealthy revision to fail")
        self.assertIn("not ready", status["lastError"])
        self.assertIn("/healthz", status["lastError"])
        self.assertIn("app v1", self.body(host)[1])
        self.wok.kill9()
        self.wok.close()
        from wokharness import Wok
        self.wok = Wok(self.root).start()
        self.wait_body(host, "/", "app v1")
        out = os.popen(f"runc --root {self.wok.data}/runtime/runc list -q").read().split()
        self.assertEqual(sorted(out), ["team-a.api.web.r1.0"])
        # And a normal stop stops every workload.
        self.assertEqual(self.wok.stop(), 0)
        out = os.popen(f"runc --root {self.wok.data}/runtime/runc list -q").read().split()
        self.assertEqual(out, [])

    def test_logs_and_scale(self):
        repo = self.app_repo("api", "v1")
        self.wok.apply(app_site("api", "team-a", repo.url, replicas=1))
        self.wok.wait_revision("api", "team-a", 1)
        self.wait_body("api.team-a.localhost", "/", "app v1")
        logs = wait_for(lambda: "listening v1" in (out := self.wok.cli("logs", "site", "api", "-n", "team-a").stdout) and out,
                        30, interval=0.5, what="the app's output in wok logs")
        self.assertNotIn(" | ", logs)  # one instance: no prefixes
        out = self.wok.cli("scale", "site", "api", "-n", "team-a", "--component", "web", "--replicas", "2").stdout
        self.assertIn("scaled (component web: 2 replicas)", out)
        status = self.wok.wait_revision("api", "team-a", 2)
        self.assertEqual(len([i for i in status["instances"] if ".web." in i["name"]]), 2)
        logs = wait_for(lambda: (out := self.wok.cli("logs", "site", "api", "-n", "team-a", "--component", "web").stdout)
                        .count("listening v1") == 2 and out, 30, interval=0.5, what="both replicas in wok logs")
        self.assertIn("team-a.api.web.r2.0 | listening v1", logs)
        self.assertIn("team-a.api.web.r2.1 | listening v1", logs)
        r = self.wok.cli("scale", "site", "api", "-n", "team-a", "--component", "nope", "--replicas", "1", check=False)
        self.assertIn('has no component "nope" (it has: web)', r.stderr)
        r = self.wok.cli("logs", "site", "api", "-n", "team-a", "--component", "Bad_Name", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_balance_round_robin_or_least_connections(self):
        repo = self.app_repo("api", "v1")
        host = "api.team-a.localhost"
        instance = lambda text: text.split("instance=")[-1]
        self.wok.apply(app_site("api", "team-a", repo.url))
        self.wok.wait_revision("api", "team-a", 1)
        self.wait_body(host, "/", "app v1")
        # Round robin: one request each, in turn.
        seen = [instance(self.body(host)[1]) for _ in range(4)]
        self.assertEqual(len(set(seen)), 2, seen)
        self.assertNotEqual(seen[0], seen[1])
        # Least connections: while one replica holds a slow request, every
        # request goes to the other.
        self.wok.apply(app_site("api", "team-a", repo.url, balance="least-connections"))
        self.wok.wait_revision("api", "team-a", 2)
        slow, in_flight = [], threading.Event()

        def slow_request():
            conn = http.client.HTTPConnection("127.0.0.1", self.wok.port, timeout=30)
            conn.request("GET", "/slow", headers={"Host": host})
            r = conn.getresponse()  # the head: the request is at its replica
            slow.append(r.getheader("X-Instance"))
            in_flight.set()
            r.read()
            conn.close()
        t = threading.Thread(target=slow_request)
        t.start()
        try:
            self.assertTrue(in_flight.wait(30), "the slow request got no head")
            seen = [instance(self.body(host)[1]) for _ in range(4)]
        finally:
            t.join()
        self.assertEqual(len(set(seen)), 1, seen)
        self.assertNotEqual(slow[0], seen[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)

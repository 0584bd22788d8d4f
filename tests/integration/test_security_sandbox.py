"""Issue 12 attacks on the sandboxes and on the paths a member's repository
names, staged with a member's token against a real `wok up` (real runc, real
php-fpm); and the issue 13 php site that never came back after its php-fpm
died. Needs root; CI runs it as root."""
import json
import os
import shutil
import subprocess
import unittest
import urllib.request

from wokharness import WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "php-fpm8.2", "python3") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)


def site(name, project, url, mode="static", extra=""):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: {mode}
  hosts: [{name}.{project}.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
{extra}"""


@unittest.skipIf(SKIP, SKIP)
class SandboxAttackTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "20000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], members=[("alice", "developer")]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()

    def status(self, name, project="team-a"):
        return self.wok.site_json(name, project).get("status", {})

    def wait_failed(self, name, text, project="team-a"):
        def failed():
            s = self.status(name, project)
            return s if text in (s.get("lastError") or "") else None
        return wait_for(failed, 90, interval=0.3, what=f"{name} to fail with {text!r}")

    def build_log(self, name, project="team-a"):
        req = urllib.request.Request(
            f"{self.wok.api_url}/apis/wok.dev/v1alpha1/namespaces/{project}/sites/{name}/revisions",
            headers={"Authorization": "Bearer " + self.alice})
        with urllib.request.urlopen(req, timeout=10) as r:
            items = json.loads(r.read())["items"]
        return "\n".join(i.get("log") or "" for i in items)

    def runc_pid(self, container):
        out = subprocess.run(["runc", "--root", os.path.join(self.wok.data, "runtime", "runc"), "state", container],
                             capture_output=True, text=True)
        return json.loads(out.stdout)["pid"] if out.returncode == 0 else 0

    def test_a_build_runs_sandboxed_as_the_project_and_leaves_nothing_running(self):
        token_file = os.path.join(self.wok.data, "admin.token")
        script = (
            f"cat /etc/shadow >/dev/null 2>&1 && echo READ_SHADOW;"
            f"cat {token_file} 2>/dev/null | grep -q . && echo READ_TOKEN;"
            f"echo x > {self.wok.data}/planted 2>/dev/null && echo WROTE_DATA;"
            "echo x > /usr/planted 2>/dev/null && echo WROTE_USR;"
            "unshare -r true 2>/dev/null && echo USERNS;"
            "setsid sleep 7373 >/dev/null 2>&1 < /dev/null &"
            "echo uid=$(id -u);"
            "mkdir -p out && echo built-by-$(id -u) > out/index.html && echo cached > $HOME/cache.txt")
        repo = self.repo("b", {"README": "x"})
        self.wok.apply(site("b", "team-a", repo.url, extra=f"  build: {{command: [sh, -c, {json.dumps(script)}], output: out}}\n"),
                       token=self.alice)
        self.wok.wait_revision("b", "team-a", 1)
        status, _, body = self.wok.get("b.team-a.localhost", "/")
        self.assertEqual(status, 200)
        uid = body.decode().strip().split("-")[-1]
        self.assertNotEqual(uid, "0", "the build must not run as root")
        log = self.build_log("b")
        self.assertIn("uid=" + uid, log)
        for leaked in ("READ_SHADOW", "READ_TOKEN", "WROTE_DATA", "WROTE_USR", "USERNS"):
            self.assertNotIn(leaked, log)
        self.assertFalse(os.path.exists(os.path.join(self.wok.data, "planted")))
        self.assertFalse(os.path.exists("/usr/planted"))
        # The setsid child died with the build's sandbox.
        left = subprocess.run(["pgrep", "-f", "sleep 7373"], capture_output=True, text=True).stdout.split()
        self.assertEqual(left, [], "a process of the build outlived it")
        # The published files belong to the project's uid; its cache stays in
        # the site's build disk, unmounted between builds (test_security_build_disk).
        site_dir = os.path.join(self.wok.data, "sites", "team-a", "b")
        pages = [os.path.join(r, "index.html") for r, _, files in os.walk(site_dir) if "index.html" in files]
        self.assertEqual(len(pages), 1, pages)
        self.assertEqual(str(os.stat(pages[0]).st_uid), uid)
        images = [f for _, _, files in os.walk(site_dir) for f in files if f == "build-disk.img"]
        self.assertEqual(images, ["build-disk.img"])

    def test_a_build_over_its_time_limit_is_killed_with_everything_it_started(self):
        repo = self.repo("slow", {"README": "x"})
        script = "setsid sleep 7474 >/dev/null 2>&1 < /dev/null & sleep 600"
        self.wok.apply(site("slow", "team-a", repo.url,
                            extra=f"  build: {{command: [sh, -c, {json.dumps(script)}], timeout: 3s}}\n"), token=self.alice)
        status = self.wait_failed("slow", "timed out")
        self.assertIn("3s", status["lastError"])
        wait_for(lambda: subprocess.run(["pgrep", "-f", "sleep 7474"], capture_output=True).returncode != 0, 20,
                 what="the build's processes to be gone")
        out = subprocess.run(["runc", "--root", os.path.join(self.wok.data, "runtime", "runc"), "list", "-q"],
                             capture_output=True, text=True).stdout.split()
        self.assertEqual([c for c in out if c.startswith("build.")], [])

    def test_stuck_builds_of_one_team_do_not_delay_another_teams_deploys(self):
        # Before: two reconcile workers ran the builds themselves; three stuck
        # builds of team-a held both, and team-b's deploy waited for their
        # time limit (10 minutes).
        repo = self.repo("stuck", {"README": "x"})
        stuck = "  build: {command: [sleep, '600'], timeout: 10m}\n"
        self.wok.apply("---\n".join(site(f"stuck{i}", "team-a", repo.url, extra=stuck) for i in range(3)),
                       token=self.alice)
        wait_for(lambda: any("building" in str(self.status(f"stuck{i}")) for i in range(3)), 30, interval=0.2,
                 what="team-a's first build")
        b = self.repo("b", {"index.html": "team-b"})
        self.wok.apply(site("quick", "team-b", b.url) + "---\n" +
                       site("built", "team-b", b.url,
                            extra="  build: {command: [sh, -c, 'mkdir -p o && echo built > o/index.html'], output: o}\n"))
        self.wok.wait_revision("quick", "team-b", 1, timeout=30)
        self.wok.wait_revision("built", "team-b", 1, timeout=30)
        self.assertEqual(self.wok.get("built.team-b.localhost")[2].strip(), b"built")
        # team-a's builds wait their turn (one per project at a time) and say so.
        waiting = [self.status(f"stuck{i}")["conditions"][0]["message"] for i in range(3)]
        self.assertEqual(sum("waiting for a build slot" in m for m in waiting), 2, waiting)
        # Deleting a site ends its running build.
        running = [i for i in range(3) if "waiting" not in waiting[i]][0]
        self.wok.cli("delete", "site", f"stuck{running}", "-n", "team-a")
        wait_for(lambda: f"build.team-a.stuck{running}.r1" not in subprocess.run(
            ["runc", "--root", os.path.join(self.wok.data, "runtime", "runc"), "list", "-q"],
            capture_output=True, text=True).stdout, 30, what="the deleted site's build to end")
        # ... and the next of team-a's builds gets the slot.
        wait_for(lambda: sum("building commit" in self.status(f"stuck{i}")["conditions"][0]["message"]
                             for i in range(3) if i != running) == 1, 30, interval=0.3, what="the next build to start")

    def test_stopping_wok_up_during_a_build_leaves_nothing_running(self):
        repo = self.repo("long", {"README": "x"})
        self.wok.apply(site("long", "team-a", repo.url, extra="  build: {command: [sleep, '7575']}\n"), token=self.alice)
        wait_for(lambda: "building" in str(self.status("long")), 30, interval=0.2, what="the build to start")
        self.assertEqual(self.wok.stop(), 0)
        left = subprocess.run(["pgrep", "-f", "sleep 7575"], capture_output=True, text=True).stdout.split()
        self.assertEqual(left, [], "the build outlived wok up")
        out = subprocess.run(["runc", "--root", os.path.join(self.wok.data, "runtime", "runc"), "list", "-q"],
                             capture_output=True, text=True).stdout.split()
        self.assertEqual(out, [])

    def test_symlinks_in_spec_paths_are_refused_and_never_followed(self):
        outside = os.path.join(self.root, "outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "secret.txt"), "w") as f:
            f.write("host secret")
        repo = self.repo("links", {"public/index.php": "<?php echo 'ok';", "site/index.html": "ok"})
        os.symlink("/", os.path.join(repo.path, "root"))
        os.symlink(outside, os.path.join(repo.path, "out"))
        os.makedirs(os.path.join(repo.path, "public2"))
        os.symlink(outside, os.path.join(repo.path, "public2", "uploads"))
        with open(os.path.join(repo.path, "public2", "index.php"), "w") as f:
            f.write("<?php echo 'ok';")
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", "links")
        # php.docroot through a symlink to /: the router would serve the host.
        self.wok.apply(site("docroot", "team-a", repo.url, mode="php", extra="  php: {docroot: root}\n"),
                       token=self.alice)
        s = self.wait_failed("docroot", "symlink")
        self.assertIn("php.docroot", s["lastError"])
        status, _, body = self.wok.get("docroot.team-a.localhost", "/etc/passwd")
        self.assertNotIn(b"root:", body)
        # source.path through a symlink.
        self.wok.apply(site("srcpath", "team-a", repo.url + "", extra="").replace(
            "interval: 1h}", "interval: 1h, path: out}"), token=self.alice)
        s = self.wait_failed("srcpath", "symlink")
        self.assertIn("source path", s["lastError"])
        self.assertNotIn(b"host secret", self.wok.get("srcpath.team-a.localhost", "/secret.txt")[2])
        # A storage path through a symlink: wok (root) must not create or
        # mount anything outside the site.
        self.wok.apply(site("storage", "team-a", repo.url, mode="php",
                            extra="  php: {docroot: public2}\n  storage: [{name: up, path: public2/uploads/deep, size: 10Mi}]\n"),
                       token=self.alice)
        s = self.wait_failed("storage", "symlink")
        self.assertIn("storage", s["lastError"])
        self.assertEqual(sorted(os.listdir(outside)), ["secret.txt"])

    def test_a_php_site_answers_again_after_its_php_fpm_is_killed(self):
        repo = self.repo("blog", {"public/index.php": "<?php echo 'php alive ', getmypid();"})
        self.wok.apply(site("blog", "team-a", repo.url, mode="php", extra="  php: {docroot: public}\n"), token=self.alice)
        self.wok.wait_revision("blog", "team-a", 1)
        host = "blog.team-a.localhost"

        def answers():
            status, _, body = self.wok.get(host, "/index.php")
            return status == 200 and b"php alive" in body
        wait_for(answers, 60, interval=0.2, what="the php site to answer")
        for round in range(2):
            pid = self.runc_pid("team-a.blog.php.r1.0")
            self.assertGreater(pid, 0)
            os.kill(pid, 9)
            wait_for(lambda: self.runc_pid("team-a.blog.php.r1.0") not in (0, pid), 60, interval=0.2,
                     what="php-fpm to be relaunched")
            wait_for(answers, 60, interval=0.2, what=f"the php site to answer after kill {round + 1}")
        s = self.status("blog")
        ready = [c for c in s["conditions"] if c["type"] == "Ready"][0]
        wait_for(lambda: [c for c in self.status("blog")["conditions"] if c["type"] == "Ready"][0]["status"] == "True",
                 30, interval=0.3, what="Ready again")
        self.assertIsNotNone(ready)

    def test_ready_means_answers(self):
        # Healthy for its first seconds, then its health check fails for good
        # (the process stays up): the live revision no longer answers.
        app = ("import http.server, os, time\n"
               "start = time.time()\n"
               "class H(http.server.BaseHTTPRequestHandler):\n"
               "    def do_GET(self):\n"
               "        ok = time.time() - start < 6\n"
               "        self.send_response(200 if ok else 500)\n"
               "        self.end_headers()\n"
               "        self.wfile.write(b'ok' if ok else b'sick')\n"
               "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n")
        repo = self.repo("api", {"app.py": app})
        self.wok.apply(site("api", "team-a", repo.url, mode="app",
                            extra="  app:\n    components:\n      - {name: web, command: [python3, app.py], port: 8080, health: {path: /h}}\n"),
                       token=self.alice)
        self.wok.wait_revision("api", "team-a", 1)

        def not_ready():
            c = [c for c in self.status("api")["conditions"] if c["type"] == "Ready"][0]
            return c if c["status"] == "False" else None
        c = wait_for(not_ready, 60, interval=0.3, what="Ready to turn False")
        self.assertEqual(c["reason"], "Unavailable")
        self.assertIn("no instance answers", c["message"])
        out = self.wok.cli("get", "sites", "-n", "team-a").stdout
        line = [l for l in out.splitlines() if l.startswith("api")][0]
        self.assertIn("False", line)


if __name__ == "__main__":
    unittest.main()

"""Failures you can see (issue 13), on a real `wok up` with real runc: a failed
build's output (`wok logs --build`, the tail in `wok describe`), the output of
crashed instances (`wok logs`, `--previous`), describe's instances (restarts,
last exit), storage use and serving revision, and rollout history's causes.
Needs root (runc, cgroups); CI runs it as root."""
import os
import re
import shutil
import subprocess
import threading
import unittest

from wokharness import WOK, WokTestCase, project_yaml, site_yaml, wait_for

NEEDS = [b for b in ("runc", "php-fpm8.2", "python3") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

# Prints a line per run (with a per-run token), and on /crash says so and exits 3.
APP = """import http.server, os, sys
RUN = os.urandom(4).hex()
print('run', RUN, 'starting', flush=True)
print('run', RUN, 'stderr line', file=sys.stderr, flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/crash':
            print('run', RUN, 'crashing on purpose', flush=True)
            os._exit(3)
        body = ('run ' + RUN).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""

# Says why, then exits: every run crashes at once.
BROKEN = """import sys
print('boom: DATABASE_URL is not set', flush=True)
print('traceback of the failure', file=sys.stderr, flush=True)
sys.exit(4)
"""


def app_site(name, url, replicas=1):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: team-a}}
spec:
  mode: app
  hosts: [{name}.team-a.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, replicas: {replicas}, health: {{path: /}}}}
  resources: {{memory: 128Mi}}
"""


@unittest.skipIf(SKIP, SKIP)
class VisibleFailuresTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "30000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))

    def wok_ok(self, *args):
        return self.wok.cli(*args, "-n", "team-a")

    def crashing_app(self):
        """The APP as site api, answering: its host and its first run's token."""
        repo = self.repo("api", {"app.py": APP})
        self.wok.apply(app_site("api", repo.url))
        self.wok.wait_revision("api", "team-a", 1)
        host = "api.team-a.localhost"
        first = wait_for(lambda: (lambda s: s[2].decode() if s[0] == 200 else None)(self.wok.get(host, "/")), 30,
                         interval=0.2, what="the app answering").split()[1]
        return host, first

    def test_a_failed_builds_output_is_shown_by_logs_build_and_describe(self):
        repo = self.repo("www", {"index.html": "v1"})
        steps = "; ".join(f"echo step-{i}" for i in range(1, 31))
        build = '{command: ["sh", "-c", "echo warning on stderr >&2; ' + steps + '; echo npm ERR! missing script; exit 3"]}'
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url, build=build))
        wait_for(lambda: "failed" in (self.wok.site_json("www", "team-a")["status"].get("lastError") or ""), 60,
                 interval=0.5, what="the build to fail")
        r = self.wok_ok("logs", "site", "www", "--build")
        self.assertIn("step-1\n", r.stdout)
        self.assertIn("step-30\n", r.stdout)
        self.assertIn("npm ERR! missing script", r.stdout)
        self.assertIn("warning on stderr", r.stdout)  # the build's stdout and stderr, together
        self.assertIn("revision 1 (Failed", r.stderr)
        self.assertIn("npm ERR! missing script", self.wok_ok("logs", "site", "www", "--build", "1").stdout)
        r = self.wok.cli("logs", "site", "www", "-n", "team-a", "--build", "7", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("has no revision 7", r.stderr)
        text = self.wok_ok("describe", "site", "www").stdout
        self.assertIn("Last failed build: revision 1", text)
        self.assertIn("  npm ERR! missing script", text)
        self.assertIn("  step-30", text)
        self.assertNotIn("  step-5\n", text)  # only the tail
        self.assertIn("Serving:", text)
        # The events say it too (issue 17): a warning with the revision's failure.
        # With its last line: stdout's or stderr's, which the sandbox's two
        # streams may deliver in either order.
        self.assertRegex(text, r"Warning\s+RevisionFailed\s+\S+\s+wok-controller\s+revision 1 failed: "
                               r"build exited with status 3: (npm ERR! missing script|warning on stderr)\n")

    def test_crashed_instances_show_their_output_and_previous_run(self):
        broken = self.repo("broken", {"app.py": BROKEN})
        self.wok.apply(app_site("broken", broken.url))
        wait_for(lambda: "failed" in (self.wok.site_json("broken", "team-a")["status"].get("lastError") or ""), 90,
                 interval=0.5, what="the crashing rollout to fail")
        r = self.wok_ok("logs", "site", "broken")
        self.assertNotIn("No instances", r.stderr)
        self.assertIn("boom: DATABASE_URL is not set", r.stdout)
        self.assertIn("traceback of the failure", r.stdout)
        self.assertEqual(r.stdout.count("boom:"), 1, r.stdout)  # the last run only
        self.assertIn("is not running (Stopped)", r.stderr)
        r = self.wok_ok("logs", "site", "broken", "--previous")
        self.assertEqual(r.stdout.count("boom:"), 1, r.stdout)  # it crashed at least three times

        # A live app that crashes: restarted, its runs told apart.
        host, first = self.crashing_app()
        try:
            self.wok.get(host, "/crash")
        except Exception:
            pass  # the connection dies with the process
        def second_run():
            s = self.wok.get(host, "/")
            return s[2].decode().split()[1] if s[0] == 200 and s[2].decode().split()[1] != first else None
        second = wait_for(second_run, 60, interval=0.3, what="the app's second run answering")
        r = self.wok_ok("logs", "site", "api")
        self.assertIn(f"run {second} starting", r.stdout)
        self.assertNotIn(first, r.stdout)
        r = self.wok_ok("logs", "site", "api", "--previous")
        self.assertIn(f"run {first} starting", r.stdout)
        self.assertIn(f"run {first} crashing on purpose", r.stdout)
        self.assertIn(f"run {first} stderr line", r.stdout)
        self.assertNotIn(second, r.stdout)

        def described():
            text = self.wok_ok("describe", "site", "api").stdout
            return text if "exited with code 3" in text else None
        text = wait_for(described, 30, interval=0.5, what="describe showing the restart")
        self.assertRegex(text, r"team-a\.api\.web\.r1\.0\s+(Ready|Running)\s+1\s+exited with code 3")
        self.assertRegex(text, r"web\s+1/1\s+8080\s+python3 app.py")
        self.assertIn("Resources:    memory 128Mi", text)
        self.assertIn("Serving:      revision 1", text)
        self.assertIn("created (generation 1)", text)
        # The restart is an event of the site (issue 17).
        self.assertRegex(text, r"Warning\s+Restarted\s+\S+\s+wok-controller\s+"
                               r"instance team-a\.api\.web\.r1\.0 exited with code 3")

    def test_logs_follow_streams_new_runs_until_the_site_is_deleted(self):
        host, first = self.crashing_app()
        follower = subprocess.Popen([WOK, "logs", "site", "api", "-n", "team-a", "-f"], env=self.wok.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(follower.stdout.readline, "")), daemon=True)
        reader.start()
        try:
            wait_for(lambda: any(f"run {first} starting" in l for l in lines), 20, interval=0.2,
                     what="the follow's first lines")
            try:
                self.wok.get(host, "/crash")
            except Exception:
                pass  # the connection dies with the process
            # The restarted run's lines arrive on the open stream: no new request.
            wait_for(lambda: any("starting" in l and first not in l for l in lines), 60, interval=0.2,
                     what="the second run's first line on the followed stream")
            self.assertTrue(any(f"run {first} crashing on purpose" in l for l in lines), lines)
            self.assertEqual(sum(f"run {first} starting" in l for l in lines), 1, lines)  # never twice
            # Deleting the site ends it: `wok logs -f` says so and exits 0.
            self.wok_ok("delete", "site", "api")
            self.assertEqual(follower.wait(timeout=20), 0)
            self.assertIn('site "api" was deleted', follower.stderr.read())
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait()
            follower.stdout.close()
            follower.stderr.close()

    def test_an_instance_over_its_memory_is_an_oomkilled_event(self):
        hog = APP.replace("if self.path == '/crash':", "if self.path == '/hog':\n"
                          "            hold = b'x' * (256 << 20)\n"
                          "        if self.path == '/crash':")
        repo = self.repo("hog", {"app.py": hog})
        self.wok.apply(app_site("hog", repo.url).replace("memory: 128Mi", "memory: 48Mi"))
        self.wok.wait_revision("hog", "team-a", 1)
        host = "hog.team-a.localhost"
        wait_for(lambda: self.wok.get(host, "/")[0] == 200, 30, interval=0.2, what="the app answering")
        try:
            self.wok.get(host, "/hog")
        except Exception:
            pass  # killed while answering
        event = re.compile(r"Warning\s+OOMKilled\s+\S+\s+wok-controller\s+instance team-a\.hog\.web\.r1\.0 "
                           r"was killed for using more memory than its limit; restarted")
        def described():
            text = self.wok_ok("describe", "site", "hog").stdout
            return text if event.search(text) else None
        text = wait_for(described, 60, interval=0.5, what="describe showing the OOM kill as an event")
        self.assertIn("OOMKilled: killed by the memory limit", text)  # and the instance's last end
        events = self.wok_ok("get", "events").stdout
        self.assertRegex(events, r"Warning\s+OOMKilled\s+site/hog")

    def test_describe_shows_a_php_sites_storage_use(self):
        repo = self.repo("blog", {"public/index.php": "<?php file_put_contents(__DIR__ . '/uploads/blob', "
                                                      "str_repeat('x', 5000)); echo 'wrote';"})
        self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: blog, namespace: team-a}}
spec:
  mode: php
  hosts: [blog.team-a.localhost]
  source: {{git: {{url: "{repo.url}", interval: 1h}}}}
  php: {{docroot: public}}
  storage: [{{name: uploads, path: public/uploads, size: 100Mi}}]
""")
        self.wok.wait_revision("blog", "team-a", 1)
        wait_for(lambda: self.wok.get("blog.team-a.localhost", "/")[2] == b"wrote", 30, interval=0.3,
                 what="the php site writing to its storage")
        # Measured at most every 30 s: wait for the next measure.
        text = wait_for(lambda: (t := self.wok_ok("describe", "site", "blog").stdout) and "4.9 KiB" in t and t, 90,
                        interval=1, what="describe showing the storage use")
        self.assertRegex(text, r"uploads\s+public/uploads\s+4\.9 KiB\s+100Mi")
        self.assertRegex(text, r"php\s+1/1\s+-\s+php-fpm")

    def test_rollout_history_gives_every_revision_a_cause(self):
        repo = self.repo("api", {"app.py": APP})
        self.wok.apply(app_site("api", repo.url))
        self.wok.wait_revision("api", "team-a", 1)
        self.wok.apply(app_site("api", repo.url, replicas=2))  # spec changed: generation 2
        self.wok.wait_revision("api", "team-a", 2)
        commit = repo.write({"app.py": APP + "\n# v2\n"})
        self.wok_ok("refresh", "site", "api")
        self.wok.wait_revision("api", "team-a", 3)
        self.wok_ok("rollout", "undo", "site", "api", "--to-revision", "1")
        self.wok.wait_revision("api", "team-a", 4)
        history = self.wok_ok("rollout", "history", "site", "api").stdout
        lines = history.splitlines()
        self.assertIn("CAUSE", lines[0])
        self.assertIn("created (generation 1)", lines[1])
        self.assertIn("apply: spec changed (generation 2)", lines[2])
        self.assertIn(f"fetch: commit {commit[:7]}", lines[3])
        # Who: the admin applied; the fetch's revision is the commit's author's (issue 17).
        self.assertIn("BY", lines[0])
        self.assertRegex(lines[1], r"\sadmin\s+created")
        self.assertRegex(lines[3], r"\st <t@x>\s+fetch: commit")
        self.assertIn("rollout undo to 1", lines[4])
        text = self.wok_ok("describe", "site", "api").stdout
        self.assertIn("Serving:      revision 4", text)
        self.assertIn("rollout undo to 1", text)


if __name__ == "__main__":
    unittest.main()

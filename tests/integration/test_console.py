"""Issue 17, the web console in a real browser: playwright-core (npm) drives
Debian's chromium against a real `wok up` with a static site of two
revisions, an app with a job and a volume, and two projects. Sign in (a bad
token refused), the topology's instance counts, a scale followed without a
reload, another project invisible, a log line appearing, a rollback that
changes what is served (and says who), a viewer without buttons, the
create form's YAML, a build's output while it runs, the quota's bars, and an accessibility audit (axe-core).
Screenshots go to build/test-artifacts/console (docs/console.md shows them).
Needs root (runc) and chromium; CI runs it as root and installs chromium."""
import os
import shutil
import subprocess
import unittest

from wokharness import WokTestCase, project_yaml, site_yaml, wait_for

SOURCE = os.environ.get("WOK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TESTS = os.path.join(SOURCE, "tests", "console")
CHROMIUM = shutil.which("chromium")
NEEDS = [b for b in ("runc", "chromium", "node") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

# Prints every request's path: the console's log view shows it.
APP = """import http.server, os
print('app starting', flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print('request', self.path, flush=True)
        body = b'app'
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""


@unittest.skipIf(SKIP, SKIP)
class ConsoleTest(WokTestCase):
    def test_the_console_in_a_browser(self):
        subprocess.run([os.path.join(SOURCE, "scripts", "npm-install.sh"), TESTS], check=True)
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer"), ("vic", "viewer")])
                       + "  quota: {sites: 5, memory: 2Gi, storage: 1Gi}\n")
        self.wok.apply(project_yaml("team-b", ["*.team-b.localhost"], [("bob", "admin")]))
        alice = self.wok.cli("token", "create", "alice").stdout.strip()
        vic = self.wok.cli("token", "create", "vic").stdout.strip()

        www = self.repo("www", {"index.html": "version one\n"})
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], www.url))
        self.wok.wait_revision("www", "team-a", 1)
        www.write({"index.html": "version two\n"}, "second")
        self.wok.cli("refresh", "site", "www", "-n", "team-a")
        self.wok.wait_revision("www", "team-a", 2)
        secret = self.repo("hidden", {"index.html": "team-b only\n"})
        self.wok.apply(site_yaml("hidden", "team-b", ["hidden.team-b.localhost"], secret.url))

        api = self.repo("api", {"app.py": APP})
        self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: api, namespace: team-a}}
spec:
  mode: app
  hosts: [api.team-a.localhost]
  source: {{git: {{url: "{api.url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, replicas: 1, health: {{path: /}}}}
    jobs:
      - {{name: tick, schedule: "0 3 * * *", command: [python3, -c, "print(1)"]}}
  storage:
    - {{name: data, path: data, size: 64Mi}}
  resources: {{memory: 128Mi}}
""")
        self.wok.cli("wait", "site", "api", "-n", "team-a", "--for=condition=Ready", "--timeout=2m")
        docs = self.repo("docs", {"index.html": "docs\n"})
        slow = self.repo("slow", {"README": "built by a slow build\n"})

        artifacts = os.path.join(os.environ.get("WOK_ARTIFACTS_DIR", os.path.join(SOURCE, "build", "test-artifacts")),
                                 "console")
        os.makedirs(artifacts, exist_ok=True)
        env = dict(os.environ, WOK_API=self.wok.api_url, WOK_ROUTER_PORT=str(self.wok.port),
                   TOKEN_DEV=alice, TOKEN_VIEWER=vic, CHROMIUM=CHROMIUM, ARTIFACTS=artifacts,
                   DOCS_REPO=docs.url, SLOW_REPO=slow.url)
        r = subprocess.run(["node", os.path.join(TESTS, "console_test.mjs")], env=env, capture_output=True,
                           text=True, timeout=400)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + "\n" + self.wok.logs()[-3000:])
        self.assertIn("ok", r.stdout.splitlines()[-1])
        for shot in ("build-live.png", "projects.png", "topology.png", "topology-scaled.png", "site.png", "rolled-back.png",
                     "viewer.png", "create.png", "sign-in-refused.png"):
            self.assertGreater(os.path.getsize(os.path.join(artifacts, shot)), 5000, shot)


if __name__ == "__main__":
    from wokharness import _strict_main
    _strict_main()

"""Issue 12: the admin's upper bounds on each site (`wok up --max-site-memory, --max-site-cpu,
--max-site-replicas, --max-site-storage`), staged against a real `wok up` (real runc): a member and
the platform admin alike are refused a site, a change, a scale or a rollback over a bound, with the
field and the bound named, and the running site is left as it was. Needs root; CI runs it as root."""
import os
import shutil
import subprocess
import unittest

from wokharness import WOK, Wok, WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "python3") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

APP = """import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"app ok")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def app_site(url, replicas=2, memory="128Mi", cpu="500m"):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: api, namespace: team-a}}
spec:
  mode: app
  hosts: [api.team-a.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, replicas: {replicas}, health: {{path: /}}}}
  resources: {{memory: {memory}, cpu: {cpu}}}
"""


def php_site(url, sizes):
    volumes = "".join(f"\n    - {{name: v{i}, path: v{i}, size: {s}}}" for i, s in enumerate(sizes))
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: files, namespace: team-a}}
spec:
  mode: php
  hosts: [files.team-a.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  php: {{docroot: public}}
  resources: {{memory: 64Mi, cpu: 250m}}
  storage:{volumes}
"""


def limit(text, bound, per, flag):
    return f"{text} is over the platform's limit of {bound} per {per} (wok up --max-site-{flag})"


@unittest.skipIf(SKIP, SKIP)
class BoundsTest(WokTestCase):
    wok_args = ("--max-site-replicas", "3", "--max-site-memory", "512Mi", "--max-site-cpu", "1",
                "--max-site-storage", "2Gi")

    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "20000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.app = self.repo("api", {"app.py": APP})

    def serving(self):
        wait_for(lambda: self.wok.get("api.team-a.localhost")[2] == b"app ok", 60, interval=0.2,
                 what="the app site to answer")

    def assert_refused(self, result, message):
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn(message, result.stderr)

    def test_sites_over_a_bound_are_refused_for_members_and_the_admin(self):
        self.wok.apply(app_site(self.app.url), token=self.alice)
        self.wok.wait_revision("api", "team-a", 1)
        self.serving()
        before = self.wok.site_json("api", "team-a")
        replicas = "spec.app.components[0].replicas: " + limit(4, 3, "component", "replicas")
        for who, token in (("alice", self.alice), ("admin", None)):
            with self.subTest(who=who):
                self.assert_refused(self.wok.apply(app_site(self.app.url, replicas=4), token=token, check=False),
                                    replicas)
                self.assert_refused(self.wok.cli("scale", "site", "api", "-n", "team-a", "--component", "web",
                                                 "--replicas", "4", token=token, check=False), replicas)
                self.assert_refused(self.wok.apply(app_site(self.app.url, memory="1Gi"), token=token, check=False),
                                    "spec.resources.memory: " + limit("1Gi", "512Mi", "instance", "memory"))
                self.assert_refused(self.wok.apply(app_site(self.app.url, cpu="1500m"), token=token, check=False),
                                    "spec.resources.cpu: " + limit("1500m", "1", "instance", "cpu"))
                self.assert_refused(self.wok.apply(php_site(self.app.url, ["3Gi"]), token=token, check=False),
                                    "spec.storage[0].size: " + limit("3Gi", "2Gi", "site", "storage"))
                self.assert_refused(self.wok.apply(php_site(self.app.url, ["1536Mi", "1Gi"]), token=token, check=False),
                                    "spec.storage: " + limit("2.5Gi in all", "2Gi", "site", "storage"))
        # Nothing changed: the same spec, generation and running site; no php site.
        after = self.wok.site_json("api", "team-a")
        self.assertEqual(after["spec"], before["spec"])
        self.assertEqual(after["metadata"]["generation"], before["metadata"]["generation"])
        self.assertNotEqual(self.wok.cli("get", "site", "files", "-n", "team-a", check=False).returncode, 0)
        self.assertEqual(self.wok.get("api.team-a.localhost")[2], b"app ok")
        # At the bounds: accepted.
        self.wok.cli("scale", "site", "api", "-n", "team-a", "--component", "web", "--replicas", "3", token=self.alice)
        self.wok.apply(php_site(self.app.url, ["1Gi", "1Gi"]), token=self.alice)

    def test_a_lowered_bound_refuses_rolling_back_to_a_revision_over_it(self):
        # Deployed under the default bounds: 4 replicas (revision 1), then 2 (revision 2).
        self.wok.stop()
        self.wok.close()
        self.wok = Wok(self.root, data=self.wok.data).start()
        self.wok.apply(app_site(self.app.url, replicas=4), token=self.alice)
        self.wok.wait_revision("api", "team-a", 1)
        self.wok.apply(app_site(self.app.url, replicas=2), token=self.alice)
        self.wok.wait_revision("api", "team-a", 2)
        self.wok.stop()
        self.wok.close()
        # The admin lowers the bound to 3.
        self.wok = Wok(self.root, data=self.wok.data, args=self.wok_args).start()
        self.serving()
        for who, token in (("alice", self.alice), ("admin", None)):
            with self.subTest(who=who):
                r = self.wok.cli("rollout", "undo", "site", "api", "-n", "team-a", "--to-revision", "1", token=token,
                                 check=False)
                self.assert_refused(r, "cannot roll back to revision 1: spec.app.components[0].replicas: " +
                                    limit(4, 3, "component", "replicas"))
        site = self.wok.site_json("api", "team-a")
        self.assertEqual(site["spec"]["app"]["components"][0]["replicas"], 2)
        self.assertNotIn("pinnedRevision", site.get("status", {}))

    def test_a_bound_that_is_not_a_quantity_stops_wok_up(self):
        r = subprocess.run([WOK, "up", "--data", os.path.join(self.root, "other"), "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
                            "--api", "127.0.0.1:0", "--max-site-memory", "lots"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn('--max-site-memory "lots" is not a positive quantity', r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

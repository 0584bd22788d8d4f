"""The API and the data directory against a member and a second `wok up`:
/metrics only for the platform admin, secret files private from their
creation, one `wok up` per data directory, members read only their projects."""
import json
import os
import stat
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WOK, Wok, WokTestCase, project_yaml, site_yaml  # noqa: E402

BASE = "/apis/wok.dev/v1alpha1"


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class MembersTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"], [("bob", "admin")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.bob = self.wok.cli("token", "create", "bob").stdout.strip()

    def call(self, path, token=None):
        req = urllib.request.Request(self.wok.api_url + path)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def serve_site(self):
        repo = self.repo("www", {"index.html": "team-a home"})
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        self.assertEqual(self.wok.get("www.team-a.localhost")[0], 200)  # now in the site's metrics

    def test_metrics_need_the_admin_token(self):
        self.serve_site()
        code, body = self.call("/metrics")
        self.assertEqual(code, 401, body)
        self.assertNotIn("team-a", body)
        code, body = self.call("/metrics", "0" * 64)
        self.assertEqual(code, 401, body)
        for member in (self.alice, self.bob):  # even a project admin sees no other project's sites
            code, body = self.call("/metrics", member)
            self.assertEqual(code, 403, body)
            self.assertNotIn("team-a", body)
        code, body = self.call("/metrics", self.wok.admin_token)
        self.assertEqual(code, 200, body)
        self.assertIn('wok_site_requests_total{project="team-a",site="www",code="2xx"}', body)
        # health and version stay open (load balancers and `wok version` use them)
        self.assertEqual(self.call("/healthz")[0], 200)
        self.assertEqual(self.call("/version")[0], 200)

    def test_members_read_only_their_projects(self):
        self.serve_site()
        site = BASE + "/namespaces/team-a/sites/www"
        reads = [BASE + "/projects/team-a", BASE + "/namespaces/team-a/sites", site, site + "/revisions",
                 site + "/stats?minutes=5", site + "/logs?tail=10"]
        for path in reads:
            code, body = self.call(path, self.bob)
            self.assertEqual(code, 403, f"{path}: {body}")
            self.assertNotIn("www.team-a", body, path)
            self.assertEqual(self.call(path)[0], 401, path)
            self.assertEqual(self.call(path, self.alice)[0], 200, path)
        code, body = self.call(BASE + "/sites", self.bob)
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["items"], [])
        r = self.wok.cli("logs", "site", "www", "-n", "team-a", token=self.bob, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("team-a home", r.stdout)

    def test_undo_does_not_reclaim_hosts_the_project_lost(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost", "*.shop.localhost"], [("alice", "developer")]))
        repo = self.repo("www", {"index.html": "team-a home"})
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost", "www.shop.localhost"], repo.url),
                       token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url), token=self.alice)
        self.wok.wait_revision("www", "team-a", 2)
        # The admin gives *.shop.localhost to another project.
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        r = self.wok.cli("rollout", "undo", "site", "www", "-n", "team-a", "--to-revision", "1",
                         token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("spec.hosts[1]", r.stderr)
        self.assertEqual(self.wok.site_json("www", "team-a")["spec"]["hosts"], ["www.team-a.localhost"])
        self.assertEqual(self.wok.get("www.shop.localhost")[0], 404)


class SecretFilesTest(WokTestCase):
    """Modes come from each file's creation, not from the umask: wok up runs with umask 0 here."""

    def setUp(self):
        old = os.umask(0)
        try:
            super().setUp()
        finally:
            os.umask(old)

    def test_secrets_are_only_the_owners(self):
        data = self.wok.data
        self.assertEqual(mode(data), 0o700)
        for name in ("admin.token", "secrets.key", "wok.db", "wok.db-wal", "wok.db-shm", "wok.lock"):
            path = os.path.join(data, name)
            if name.endswith(("-wal", "-shm")) and not os.path.exists(path):
                continue
            self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode), name)
            self.assertEqual(mode(path), 0o600, name)
        config = self.wok.env["WOK_CONFIG"]
        self.assertEqual(mode(config), 0o600)
        with open(config) as f:
            self.assertIn(self.wok.admin_token, f.read())
        # no temporary copy of a secret is left beside it
        self.assertEqual([n for n in os.listdir(self.root) if ".tmp." in n], [])
        self.assertEqual([n for n in os.listdir(data) if ".tmp." in n], [])

    def test_a_config_directory_is_created_private(self):
        self.wok.stop()
        self.wok.close()
        config = os.path.join(self.root, "home", "nested", "wok", "config.yaml")
        old = os.umask(0)
        try:
            self.wok = Wok(self.root, data=self.wok.data)
            self.wok.env["WOK_CONFIG"] = config
            self.wok.start()
        finally:
            os.umask(old)
        self.assertEqual(mode(os.path.dirname(config)), 0o700)
        self.assertEqual(mode(config), 0o600)
        self.assertEqual(mode(self.wok.data), 0o700)


class DataDirLockTest(WokTestCase):
    def test_a_second_wok_up_is_refused_and_the_first_keeps_serving(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        repo = self.repo("www", {"index.html": "first"})
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url))
        self.wok.wait_revision("www", "team-a", 1)
        config = self.wok.env["WOK_CONFIG"]
        with open(config) as f:
            config_before = f.read()

        second = subprocess.Popen([WOK, "up", "--data", self.wok.data, "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
                                   "--api", "127.0.0.1:0"], env=self.wok.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            out, err = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
            out, err = second.communicate()
            self.fail("a second wok up on the same data directory kept running:\n" + out + err)
        self.assertNotEqual(second.returncode, 0, out + err)
        self.assertIn(f"data directory {os.path.abspath(self.wok.data)} is in use by wok up "
                      f"(pid {self.wok.proc.pid}); stop it first or use --data", err)
        self.assertNotIn("ready", out)

        # The first one is untouched: its config, its API, its sites.
        with open(config) as f:
            self.assertEqual(f.read(), config_before)
        self.assertIsNone(self.wok.proc.poll())
        status, _, body = self.wok.get("www.team-a.localhost")
        self.assertEqual((status, body), (200, b"first"))
        self.assertIn("www", self.wok.cli("get", "sites", "-n", "team-a").stdout)
        with open(os.path.join(self.wok.data, "wok.lock")) as f:
            self.assertEqual(f.read().strip(), str(self.wok.proc.pid))

    def test_the_lock_dies_with_its_holder(self):
        self.wok.kill9()
        self.wok.close()
        self.wok = Wok(self.root, data=self.wok.data).start()
        with open(os.path.join(self.wok.data, "wok.lock")) as f:
            self.assertEqual(f.read().strip(), str(self.wok.proc.pid))
        self.assertEqual(self.wok.cli("version").returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

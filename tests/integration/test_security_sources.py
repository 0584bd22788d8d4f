"""Sources a member may name (issue 12): local paths only under the
directories the admin allowed (`wok up --allow-local-source`), checked at
admission and again before each fetch; remote fetches never reach loopback
or private addresses (wok's own API) unless `--allow-private-sources`."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import GitRepo, Wok, WokTestCase, project_yaml, site_yaml, wait_for  # noqa: E402

APP_SITE = """apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: team-a}}
spec:
  mode: app
  hosts: [{name}.team-a.localhost]
  source: {{git: {{url: "{url}", ref: main, interval: 1h}}}}
  app:
    components:
      - {{name: web, image: "{image}", port: 8080}}
"""


class LocalSourcesTest(WokTestCase):
    """ROOT/allowed is the admin's directory; ROOT/other-team holds another team's repository."""
    allow_root = False

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wok-it-")
        self.allowed = os.path.join(self.root, "allowed")
        os.makedirs(self.allowed)
        self.other = GitRepo(os.path.join(self.root, "other-team", "repo"))
        self.other.write({"index.html": "team-b private"}, "first")
        self.wok = Wok(self.root, args=["--allow-local-source", self.allowed], allow_root=False).start()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()

    def refused(self, yaml_text, field):
        r = self.wok.apply(yaml_text, token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(field + ": ", r.stderr)
        self.assertIn(f"members may use local sources only under {self.allowed} (wok up --allow-local-source)",
                      r.stderr)
        return r.stderr

    def assert_no_site(self, name):
        r = self.wok.cli("get", "site", name, "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_other_teams_repository_is_refused(self):
        for url in ("file://" + self.other.path, self.other.path, "file://" + self.allowed + "/%2e%2e/other-team/repo"):
            err = self.refused(site_yaml("www", "team-a", ["www.team-a.localhost"], url), "spec.source.git.url")
            self.assertIn(f"spec.source.git.url: {url} is a local path; ", err)
            self.assert_no_site("www")

    def test_repository_under_the_allowed_directory_deploys(self):
        repo = GitRepo(os.path.join(self.allowed, "repo"))
        repo.write({"index.html": "team-a home"}, "first")
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        status, _, body = self.wok.get("www.team-a.localhost")
        self.assertEqual((status, body), (200, b"team-a home"))

    def test_symlink_from_the_allowed_directory_is_refused(self):
        os.symlink(os.path.join(self.root, "other-team"), os.path.join(self.allowed, "link"))
        url = "file://" + os.path.join(self.allowed, "link", "repo")
        err = self.refused(site_yaml("www", "team-a", ["www.team-a.localhost"], url), "spec.source.git.url")
        self.assertIn("it leads to " + self.other.path, err)
        self.assert_no_site("www")

    def test_image_from_a_host_directory_is_refused(self):
        for image in ("oci:/var/lib:latest", "dir:" + self.other.path, "containers-storage:alpine"):
            self.refused(APP_SITE.format(name="api", url="https://git.example.org/a.git", image=image),
                         "spec.app.components[0].image")
            self.assert_no_site("api")

    def test_the_platform_admin_may_use_any_directory(self):
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], self.other.url))
        self.wok.wait_revision("www", "team-a", 1)
        self.assertEqual(self.wok.get("www.team-a.localhost")[2], b"team-b private")
        # A member's change is checked again: the admin's approval was for that spec.
        self.refused(site_yaml("www", "team-a", ["www.team-a.localhost"], self.other.url, ref="other"),
                     "spec.source.git.url")

    def test_a_site_admitted_under_a_wider_allow_list_stops_being_served(self):
        # Admitted while the admin allowed ROOT/other-team too...
        self.wok.stop()
        self.wok.close()
        wide = Wok(self.root, data=self.wok.data, allow_root=False,
                   args=["--allow-local-source", self.allowed, "--allow-local-source",
                         os.path.join(self.root, "other-team")])
        self.wok = wide.start()
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], self.other.url), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        # ...then the admin narrows it: nothing new is fetched, and the live
        # revision stops being served (its status says why).
        self.wok.stop()
        self.wok.close()
        self.wok = Wok(self.root, data=wide.data, allow_root=False, args=["--allow-local-source", self.allowed]).start()
        self.other.write({"index.html": "team-b new secret"}, "second")
        self.wok.cli("refresh", "site", "www", "-n", "team-a", token=self.alice)

        def refused():
            s = self.wok.site_json("www", "team-a").get("status", {})
            return s if "is a local path" in (s.get("lastError") or "") else None
        status = wait_for(refused, 30, what="the refusal")
        self.assertTrue(status["lastError"].startswith("revision 1 is not served: spec.source.git.url: " +
                                                       self.other.url), status)
        ready = [c for c in status["conditions"] if c["type"] == "Ready"][0]
        self.assertEqual((ready["status"], ready["reason"]), ("False", "SourceNotAllowed"), status)
        self.assertIsNone(status.get("revision"), status)
        self.assertEqual(self.wok.get("www.team-a.localhost")[0], 404)


class PrivateSourcesTest(unittest.TestCase):
    """A site whose git URL is wok's own API (127.0.0.1): refused before connecting."""

    def start(self, *args):
        self.root = tempfile.mkdtemp(prefix="wok-it-")
        self.wok = Wok(self.root, args=list(args)).start()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        alice = self.wok.cli("token", "create", "alice").stdout.strip()
        url = f"http://127.0.0.1:{self.wok.api_port}/"
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], url), token=alice)

        def failed():
            s = self.wok.site_json("www", "team-a").get("status", {})
            return s.get("lastError")
        return wait_for(failed, 30, what="the fetch to fail")

    def tearDown(self):
        import shutil
        if self.wok.proc and self.wok.proc.poll() is None:
            self.wok.stop()
        self.wok.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def test_loopback_is_refused(self):
        error = self.start()
        self.assertIn("address 127.0.0.1 is a loopback address", error)
        self.assertIn("refused unless the platform admin allows them", error)

    def test_the_admin_may_allow_private_sources(self):
        error = self.start("--allow-private-sources")
        # It connected (and wok's API is no git server): no refusal of the address.
        self.assertNotIn("loopback", error)
        self.assertIn("cannot fetch", error)


if __name__ == "__main__":
    unittest.main()

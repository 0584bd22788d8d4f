"""Deploy a static site from git, update it, refresh it, roll it back."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WokTestCase, project_yaml, site_yaml, wait_for  # noqa: E402


class DeployTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost", "team-a.localhost"]))

    def test_deploy_update_refresh_rollback(self):
        repo = self.repo("www", {"public/index.html": "<h1>v1</h1>", "public/about/index.html": "about",
                                 "public/404.html": "custom missing", "README": "not published"})
        out = self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url, path="public")).stdout
        self.assertIn("site.wok.dev/www created", out)
        status = self.wok.wait_revision("www", "team-a", 1)
        self.assertEqual(status["commit"], repo.git("rev-parse", "HEAD"))
        ready = [c for c in status["conditions"] if c["type"] == "Ready"][0]
        self.assertEqual(ready["status"], "True", ready)
        # HTTPS by default (spec.tls mode auto, the local CA): docs/tls.md.
        self.assertIn(f"https://www.team-a.localhost:{self.wok.tls_port}/", status["urls"])

        code, headers, body = self.wok.get("www.team-a.localhost")
        self.assertEqual((code, body), (200, b"<h1>v1</h1>"))
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertEqual(self.wok.get("www.team-a.localhost", "/about")[0], 301)
        self.assertEqual(self.wok.get("www.team-a.localhost", "/about/")[2], b"about")
        code, _, body = self.wok.get("www.team-a.localhost", "/nope")
        self.assertEqual((code, body), (404, b"custom missing"))
        self.assertEqual(self.wok.get("www.team-a.localhost", "/README")[0], 404)  # outside path
        self.assertEqual(self.wok.get("other.team-a.localhost")[0], 404)

        # Re-applying the same file changes nothing.
        out = self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url, path="public")).stdout
        self.assertIn("unchanged", out)

        # A new commit is deployed on refresh.
        repo.write({"public/index.html": "<h1>v2</h1>"}, "v2")
        self.assertIn("refresh", self.wok.cli("refresh", "site", "www", "-n", "team-a").stdout)
        self.wok.wait_revision("www", "team-a", 2)
        self.assertEqual(self.wok.get("www.team-a.localhost")[2], b"<h1>v2</h1>")

        # A failing build keeps v2 serving and says why: its status and its
        # last line (a terminal escape in it made a space), not the blank after.
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url, path="public",
                                 build=r"""{command: ["sh", "-c", "echo building; printf 'npm ERR! \\033[31mmissing script\\n \\n'; exit 3"]}"""))
        def failed():
            s = self.wok.site_json("www", "team-a")["status"]
            return s if s.get("lastError") and s.get("observedGeneration") == 2 else None
        status = wait_for(failed, 60, what="failed build reported")
        self.assertIn("build exited with status 3: npm ERR!  [31mmissing script", status["lastError"])
        self.assertEqual(status["revision"], 2)
        self.assertEqual(self.wok.get("www.team-a.localhost")[2], b"<h1>v2</h1>")

        # A working build publishes its output.
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url, path="public",
                                 build='{command: ["sh", "-c", "mkdir -p out && echo built-$WOK_COMMIT > out/index.html"], output: out}'))
        self.wok.wait_revision("www", "team-a", 4)
        self.assertEqual(self.wok.get("www.team-a.localhost")[2].strip(), b"built-" + repo.git("rev-parse", "HEAD").encode())

        history = self.wok.cli("rollout", "history", "site", "www", "-n", "team-a").stdout
        self.assertIn("Failed", history)
        revisions = json.loads(self.wok.cli("get", "site", "www", "-n", "team-a", "-o", "json").stdout)
        self.assertEqual(revisions["metadata"]["generation"], 3)

        # Undo goes back to the previous deployed revision (2) as revision 5.
        self.wok.cli("rollout", "undo", "site", "www", "-n", "team-a")
        self.wok.wait_revision("www", "team-a", 5)
        self.assertEqual(self.wok.get("www.team-a.localhost")[2], b"<h1>v2</h1>")
        # And to a named revision: 1 (v1) as revision 6, pinned to its commit.
        self.wok.cli("rollout", "undo", "site", "www", "-n", "team-a", "--to-revision", "1")
        self.wok.wait_revision("www", "team-a", 6)
        self.assertEqual(self.wok.get("www.team-a.localhost")[2], b"<h1>v1</h1>")
        err = self.wok.cli("rollout", "undo", "site", "www", "-n", "team-a", "--to-revision", "3", check=False)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("never deployed", err.stderr)

        # describe shows the live revision and the conditions.
        described = self.wok.cli("describe", "site", "www", "-n", "team-a").stdout
        self.assertIn("Ready", described)
        self.assertIn("www.team-a.localhost", described)

        # Delete: the host stops being served.
        self.assertIn("deleted", self.wok.cli("delete", "site", "www", "-n", "team-a").stdout)
        wait_for(lambda: self.wok.get("www.team-a.localhost")[0] == 404, 30, what="site gone")

    def test_static_file_details(self):
        repo = self.repo("files", {"index.html": "<p>home</p>", "app.js": "x=1", "data.json": "{}",
                                   "big.txt": "0123456789" * 100})
        self.wok.apply(site_yaml("files", "team-a", ["team-a.localhost"], repo.url))
        self.wok.wait_revision("files", "team-a", 1)
        code, h, _ = self.wok.get("team-a.localhost", "/app.js")
        self.assertEqual(code, 200)
        self.assertIn("javascript", h["content-type"])
        self.assertIn("json", self.wok.get("team-a.localhost", "/data.json")[1]["content-type"])
        etag = h["etag"]
        self.assertEqual(self.wok.get("team-a.localhost", "/app.js", {"If-None-Match": etag})[0], 304)
        code, h, body = self.wok.get("team-a.localhost", "/big.txt", {"Range": "bytes=10-19"})
        self.assertEqual((code, body), (206, b"0123456789"))
        self.assertEqual(h["content-range"], "bytes 10-19/1000")
        self.assertEqual(self.wok.get("team-a.localhost", "/big.txt", {"Range": "bytes=5000-"})[0], 416)
        code, h, body = self.wok.get("team-a.localhost", "/big.txt", method="HEAD")
        self.assertEqual((code, body, h["content-length"]), (200, b"", "1000"))

    def test_fetch_failure_is_reported_and_retried(self):
        missing = os.path.join(self.root, "repos", "later")
        self.wok.apply(site_yaml("later", "team-a", ["later.team-a.localhost"], "file://" + missing))
        def reported():
            s = self.wok.site_json("later", "team-a").get("status", {})
            return s if s.get("lastError") else None
        status = wait_for(reported, 30, what="fetch error in status")
        self.assertIn("fetch failed", status["lastError"])
        ready = [c for c in status["conditions"] if c["type"] == "Ready"][0]
        self.assertEqual((ready["status"], ready["reason"]), ("False", "FetchFailed"))
        # The repository appears: the backoff retry deploys it without any command.
        from wokharness import GitRepo
        GitRepo(missing).write({"index.html": "late"})
        self.wok.wait_revision("later", "team-a", 1, timeout=60)
        self.assertEqual(self.wok.get("later.team-a.localhost")[2], b"late")


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Hostile inputs: traversal, other projects' hosts, forbidden users, bad YAML."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WokTestCase, project_yaml, site_yaml  # noqa: E402


class SecurityTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "admin"), ("vera", "viewer")]) +
                       "---\n" + project_yaml("team-b", ["*.team-b.localhost", "*.shared.localhost"], [("bob", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.bob = self.wok.cli("token", "create", "bob").stdout.strip()
        self.vera = self.wok.cli("token", "create", "vera").stdout.strip()
        self.eve = self.wok.cli("token", "create", "eve").stdout.strip()

    def test_path_traversal_never_leaves_the_revision(self):
        secret = os.path.join(self.root, "secret.txt")
        with open(secret, "w") as f:
            f.write("TOP-SECRET")
        repo = self.repo("www", {"index.html": "home", "sub/page.html": "page"})
        os.symlink(secret, os.path.join(repo.path, "leak.txt"))
        os.symlink("/etc", os.path.join(repo.path, "etc"))
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", "links")
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        self.assertEqual(self.wok.get("www.team-a.localhost", "/sub/page.html")[2], b"page")
        attempts = ["/../secret.txt", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/sub/..%2f..%2f..%2fetc/passwd",
                    "/%2e%2e%2fsecret.txt", "/leak.txt", "/etc/passwd", "/sub/%00/page.html", "/..\\..\\etc\\passwd",
                    "/sub/../../../../etc/passwd"]
        for path in attempts:
            raw = self.wok.raw(f"GET {path} HTTP/1.1\r\nHost: www.team-a.localhost\r\nConnection: close\r\n\r\n".encode())
            status = int(raw.split(b" ", 2)[1])
            self.assertIn(status, (400, 403, 404), f"{path}: {raw[:200]!r}")
            self.assertNotIn(b"TOP-SECRET", raw, path)
            self.assertNotIn(b"root:x:0:0", raw, path)

    def test_unknown_host_and_malformed_requests(self):
        self.assertEqual(self.wok.get("nobody.example")[0], 404)
        raw = self.wok.raw(b"GET / HTTP/1.1\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 400"), raw[:100])
        raw = self.wok.raw(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 400"), raw[:100])

    def test_a_transfer_encoding_not_ending_in_chunked_is_400_and_close_on_a_routed_site(self):
        # RFC 9112 6.3: decided before the method (a static site answers POST
        # with 405) and before the route; the connection is then closed.
        repo = self.repo("te", {"index.html": "te"})
        self.wok.apply(site_yaml("te", "team-a", ["te.team-a.localhost"], repo.url), token=self.alice)
        self.wok.wait_revision("te", "team-a", 1)
        for te in (b"gzip", b"chunked, gzip", b"identity"):
            raw = self.wok.raw(b"POST / HTTP/1.1\r\nHost: te.team-a.localhost\r\nTransfer-Encoding: " + te +
                               b"\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: te.team-a.localhost\r\n\r\n")
            self.assertTrue(raw.startswith(b"HTTP/1.1 400"), raw[:200])
            self.assertIn(b"\r\nConnection: close\r\n", raw.split(b"\r\n\r\n")[0] + b"\r\n", raw[:200])
            self.assertEqual(raw.count(b"HTTP/1.1 "), 1, raw)  # the pipelined GET is never answered
        raw = self.wok.raw(b"POST / HTTP/1.1\r\nHost: te.team-a.localhost\r\nTransfer-Encoding: chunked\r\n"
                           b"Connection: close\r\n\r\n0\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 405"), raw[:200])

    def test_host_owned_by_another_project(self):
        repo = self.repo("a", {"index.html": "a"})
        self.wok.apply(project_yaml("team-c", ["*.shared.localhost", "*.team-c.localhost"]))
        self.wok.apply(site_yaml("www", "team-c", ["www.shared.localhost"], repo.url))
        # bob (team-b developer) cannot see team-c: the error does not name it.
        r = self.wok.apply(site_yaml("www", "team-b", ["www.shared.localhost"], repo.url), token=self.bob, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already served", r.stderr)
        self.assertNotIn("team-c", r.stderr)
        # the admin sees the owner.
        r = self.wok.apply(site_yaml("www", "team-b", ["www.shared.localhost"], repo.url), check=False)
        self.assertIn("team-c", r.stderr)
        # a host outside the project's patterns is refused with the field path.
        r = self.wok.apply(site_yaml("x", "team-b", ["www.team-a.localhost"], repo.url), token=self.bob, check=False)
        self.assertIn("spec.hosts[0]", r.stderr)
        self.assertIn("may claim", r.stderr)
        out = self.wok.cli("get", "sites", "-n", "team-b", token=self.bob)
        self.assertNotIn("www", out.stdout)

    def test_roles(self):
        repo = self.repo("a", {"index.html": "a"})
        site = site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url)
        # an outsider learns nothing
        r = self.wok.cli("get", "sites", "-n", "team-a", token=self.eve, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no access to project", r.stderr)
        r = self.wok.apply(site, token=self.eve, check=False)
        self.assertNotEqual(r.returncode, 0)
        r = self.wok.cli("get", "site", "nothing-here", "-n", "team-a", token=self.eve, check=False)
        self.assertNotIn("not found", r.stderr)  # 403, not 404: existence is not revealed
        # a viewer reads but does not write
        self.wok.apply(site, token=self.alice)
        self.assertIn("www", self.wok.cli("get", "sites", "-n", "team-a", token=self.vera).stdout)
        r = self.wok.cli("delete", "site", "www", "-n", "team-a", token=self.vera, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("may only read", r.stderr)
        # only the admin makes projects and tokens
        r = self.wok.apply(project_yaml("mine", ["*.mine.localhost"]), token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("project \"mine\"", r.stderr)
        self.assertNotEqual(self.wok.cli("get", "project", "mine", check=False).returncode, 0)
        r = self.wok.cli("delete", "project", "team-a", token=self.alice, check=False)
        self.assertIn("only the platform admin", r.stderr)
        r = self.wok.cli("token", "create", "mallory", token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        # listing all sites shows only visible projects
        self.assertNotIn("team-a", self.wok.cli("get", "sites", token=self.bob).stdout)
        r = self.wok.cli("get", "sites", token="not-a-token", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("401", r.stderr)

    def test_bad_documents_change_nothing(self):
        repo = self.repo("a", {"index.html": "a"})
        good = site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url)
        r = self.wok.apply(good + "---\nkind: Site\nmetadata: {name: [unclosed\n", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("line", r.stderr)
        r = self.wok.apply(good.replace("mode: static", "mode: static\n  colour: blue"), check=False)
        self.assertIn("spec.colour: unknown field", r.stderr)
        r = self.wok.apply(good.replace("www.team-a.localhost", "www..team-a.localhost"), check=False)
        self.assertIn('spec.hosts[0]: "www..team-a.localhost" is not a valid host name', r.stderr)
        r = self.wok.apply(good.replace("mode: static", "mode: php\n  php: {docroot: ../../etc}"), check=False)
        self.assertIn("spec.php.docroot", r.stderr)
        r = self.wok.apply(good.replace("mode: static", "mode: php\n  php: {colour: blue}"), check=False)
        self.assertIn("spec.php.colour: unknown field", r.stderr)
        r = self.wok.apply(good.replace("path:", "x:").replace("interval: 1h", "interval: 1h, path: ../../etc"), check=False)
        self.assertIn("spec.source.git.path", r.stderr)
        r = self.wok.cli("get", "sites", "-n", "team-a", "-o", "json")
        self.assertNotIn('"www"', r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)

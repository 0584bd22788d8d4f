"""Router policy: a site's dot-files (VCS metadata, .env, .ht*) are not served
unless the site opts in (spec.serveDotFiles); /.well-known/ always is."""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WOK, WokTestCase, project_yaml, site_yaml, wait_for  # noqa: E402

HOST = "www.team-a.localhost"
PHP_HOST = "blog.team-a.localhost"
NEEDS_PHP = None if os.geteuid() == 0 and shutil.which("runc") and os.path.exists("/usr/sbin/php-fpm8.2") \
    else "needs root, runc and php-fpm8.2"

# What a careless repository holds next to its pages. git refuses to commit
# a ".git" directory, so other VCS metadata stands in for it.
SECRETS = {
    ".env": "DB_PASSWORD=hunter2-env\n",
    ".htpasswd": "admin:$apr1$hunter2-htpasswd\n",
    ".htaccess": "AuthUserFile hunter2-htaccess\n",
    "sub/.htpasswd": "sub:$apr1$hunter2-sub\n",
    ".hg/hgrc": "[paths]\ndefault = https://hunter2-hg@example.org/x\n",
    "docs/.svn/entries": "hunter2-svn\n",
    ".hidden/index.html": "hunter2-hidden-index\n",
    ".well-known/.secret": "hunter2-below-well-known\n",
}

# Each secret file, by its plain path and by spellings that decode to it.
PROBES = ["/" + name for name in SECRETS] + [
    "/%2eenv", "/%2Ehtpasswd", "/sub/%2ehtpasswd", "//.env", "/./.env", "/sub//.htpasswd", "/.hg/", "/.hg",
    "/docs/%2esvn/entries", "/.hidden/", "/.hidden", "/.well-known/%2esecret",
]


class DotFilesTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        files = {"index.html": "home", "sub/page.html": "page", "404.html": "custom missing",
                 ".well-known/acme-challenge/tok3n": "tok3n.thumbprint", **SECRETS}
        self.repo_ = self.repo("www", files)

    def site(self, extra=""):
        return site_yaml("www", "team-a", [HOST], self.repo_.url) + extra

    def raw_get(self, path):
        raw = self.wok.raw(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        return int(raw.split(b" ", 2)[1]), raw

    def test_dot_files_are_not_found_unless_the_site_opts_in(self):
        self.wok.apply(self.site())
        self.wok.wait_revision("www", "team-a", 1)
        self.assertEqual(self.wok.get(HOST, "/sub/page.html")[2], b"page")
        status, _, body = self.wok.get(HOST, "/.well-known/acme-challenge/tok3n")
        self.assertEqual((status, body), (200, b"tok3n.thumbprint"))
        for path in PROBES:
            status, raw = self.raw_get(path)
            self.assertEqual(status, 404, f"{path}: {raw[:300]!r}")
            self.assertIn(b"custom missing", raw, path)  # as if absent: the site's own 404 page
            self.assertNotIn(b"hunter2", raw, path)
            self.assertNotIn(b"Location:", raw, path)  # "/.hg" does not redirect to "/.hg/" either

        # The site opts in: a new revision serves them like any other file.
        self.wok.apply(self.site("  serveDotFiles: true\n"))
        self.wok.wait_revision("www", "team-a", 2)
        for name, content in SECRETS.items():
            status, _, body = self.wok.get(HOST, "/" + name)
            self.assertEqual((status, body), (200, content.encode()), name)
        self.assertEqual(self.wok.get(HOST, "/%2eenv")[2], SECRETS[".env"].encode())
        self.assertEqual(self.wok.get(HOST, "/.hidden/")[2], SECRETS[".hidden/index.html"].encode())

        # And opts out again.
        self.wok.apply(self.site("  serveDotFiles: false\n"))
        self.wok.wait_revision("www", "team-a", 3)
        status, raw = self.raw_get("/.env")
        self.assertEqual(status, 404)
        self.assertNotIn(b"hunter2", raw)

    def test_the_field_is_validated(self):
        r = self.wok.apply(self.site('  serveDotFiles: "yes"\n'), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.serveDotFiles", r.stderr)
        self.assertIn("boolean", r.stderr)


def php_site(extra=""):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: blog, namespace: team-a}}
spec:
  mode: php
  hosts: [{PHP_HOST}]
  source: {{git: {{url: "{{url}}", interval: 1h}}}}
  php: {{docroot: public}}
""" + extra


@unittest.skipIf(NEEDS_PHP, NEEDS_PHP)
class PhpDotFilesTest(WokTestCase):
    """A php site: dot-paths are neither served nor run, nor handed to the front controller."""

    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        self.repo_ = self.repo("blog", {
            "public/index.php": "<?php echo 'front ' . $_SERVER['REQUEST_URI'];",
            "public/.env": "APP_KEY=hunter2-laravel\n",
            "public/.hidden/run.php": "<?php echo 'RAN-' . 'HIDDEN';",
            "public/.well-known/security.txt": "Contact: security@example.org\n",
        })

    def test_dot_paths_never_reach_php_fpm(self):
        self.wok.apply(php_site().replace("{url}", self.repo_.url))
        self.wok.wait_revision("blog", "team-a", 1)
        wait_for(lambda: self.wok.get(PHP_HOST, "/pretty")[2].startswith(b"front"), 60, 0.2, "php-fpm up")
        self.assertEqual(self.wok.get(PHP_HOST, "/.well-known/security.txt")[2], b"Contact: security@example.org\n")
        for path in ["/.env", "/%2eenv", "/.hidden/run.php", "/.hidden/run.php/x", "/.git/config", "/.nothing"]:
            status, _, body = self.wok.get(PHP_HOST, path)
            self.assertEqual(status, 404, path)
            self.assertNotIn(b"hunter2", body, path)
            self.assertNotIn(b"RAN-HIDDEN", body, path)
            self.assertNotIn(b"front", body, path)  # not even the front controller
        self.wok.apply(php_site("  serveDotFiles: true\n").replace("{url}", self.repo_.url))
        self.wok.wait_revision("blog", "team-a", 2)
        wait_for(lambda: self.wok.get(PHP_HOST, "/.env")[2] == b"APP_KEY=hunter2-laravel\n", 60, 0.2, "opted in")
        self.assertEqual(self.wok.get(PHP_HOST, "/.hidden/run.php")[2], b"RAN-HIDDEN")


class PodCommandsTest(unittest.TestCase):
    """In a site's pod: `wok serve` has the same default and the flag the render sets; `wok fetch` the same fetch policy."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wok-pod-dot-")
        for name, content in {**SECRETS, "index.html": "home", ".well-known/acme-challenge/tok3n": "tok"}.items():
            path = os.path.join(self.root, "site", name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(content)

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def serve(self, *flags):
        p = subprocess.Popen([WOK, "serve", "--root", os.path.join(self.root, "site"), "--listen", "127.0.0.1:0",
                              *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (p.send_signal(signal.SIGTERM), p.wait(30), p.stdout.close(), p.stderr.close()))
        return int(re.search(r":(\d+) ready", p.stdout.readline()).group(1))

    def get(self, port, path):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"Host": "any"})
        r = conn.getresponse()
        result = r.status, r.read()
        conn.close()
        return result

    def test_serve_default_and_flag(self):
        port = self.serve()
        self.assertEqual(self.get(port, "/.well-known/acme-challenge/tok3n"), (200, b"tok"))
        for name in SECRETS:
            status, body = self.get(port, "/" + name)
            self.assertEqual(status, 404, name)
            self.assertNotIn(b"hunter2", body, name)
        port = self.serve("--serve-dot-files")
        for name, content in SECRETS.items():
            self.assertEqual(self.get(port, "/" + name), (200, content.encode()), name)

    def test_fetch_refuses_private_destinations(self):
        with socket.socket() as s:  # a loopback port nothing listens on
            s.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{s.getsockname()[1]}/site.git"
        into = os.path.join(self.root, "src")
        r = subprocess.run([WOK, "fetch", "--url", url, "--into", into], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("address 127.0.0.1 is a loopback address", r.stderr)
        r = subprocess.run([WOK, "fetch", "--url", url, "--into", into, "--allow-private-sources"],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("loopback address", r.stderr)
        self.assertIn("onnect", r.stderr)  # it tried: connection refused


if __name__ == "__main__":
    unittest.main()

"""`wok fetch` and `wok serve`: what the wok image runs in a site's pod on Kubernetes."""
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WOK, GitRepo  # noqa: E402


class PodCommandsTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wok-pod-")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def test_fetch_then_serve_any_host(self):
        repo = GitRepo(os.path.join(self.root, "repo"))
        commit = repo.write({"public/index.html": "from the pod", "public/a/b.txt": "b"})
        into = os.path.join(self.root, "workspace", "src")
        r = subprocess.run([WOK, "fetch", "--url", repo.url, "--ref", "main", "--into", into],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(commit, r.stdout)
        self.assertFalse(os.path.exists(os.path.join(into, ".git")))
        p = subprocess.Popen([WOK, "serve", "--root", os.path.join(into, "public"), "--listen", "127.0.0.1:0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            port = int(re.search(r":(\d+) ready", line).group(1))
            for host in ("www.example.org", "anything"):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/", headers={"Host": host})
                resp = conn.getresponse()
                self.assertEqual((resp.status, resp.read()), (200, b"from the pod"))
                conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/../../repo/public/index.html", headers={"Host": "x"})
            self.assertIn(conn.getresponse().status, (400, 404))
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(30), 0)
            p.stdout.close()
            p.stderr.close()

    def test_errors_are_clear(self):
        r = subprocess.run([WOK, "fetch", "--url", "file:///nonexistent/repo", "--into", os.path.join(self.root, "x")],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot fetch", r.stderr)
        r = subprocess.run([WOK, "serve", "--root", os.path.join(self.root, "missing")], capture_output=True, text=True)
        self.assertIn("is not a directory", r.stderr)
        r = subprocess.run([WOK, "serve", "--root", self.root, "--fastcgi", "unix:/x.sock"], capture_output=True, text=True)
        self.assertIn("not implemented yet", r.stderr)
        r = subprocess.run([WOK, "fetch", "--into", "x"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--url", r.stderr + r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)

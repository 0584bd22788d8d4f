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
from wokharness import WOK, GitRepo, wait_for  # noqa: E402

PHP_FPM = "php-fpm8.2"


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
        r = subprocess.run([WOK, "serve", "--root", self.root, "--fastcgi", "127.0.0.1:9000"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not unix:PATH", r.stderr)
        r = subprocess.run([WOK, "serve", "--root", self.root, "--fastcgi", "unix:/x.sock", "--front-controller", "index.html"],
                           capture_output=True, text=True)
        self.assertIn("does not end in .php", r.stderr)
        r = subprocess.run([WOK, "fetch", "--into", "x"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--url", r.stderr + r.stdout)

    @unittest.skipUnless(shutil.which(PHP_FPM), PHP_FPM + " is missing: apt-get install php8.2-fpm")
    def test_serve_php_through_fastcgi(self):
        public = os.path.join(self.root, "public")
        os.makedirs(os.path.join(public, "uploads"))
        with open(os.path.join(public, "index.php"), "w") as f:
            f.write("<?php echo 'front ', $_SERVER['REQUEST_URI'], ' ', $_SERVER['SCRIPT_FILENAME'];")
        with open(os.path.join(public, "style.css"), "w") as f:
            f.write("css")
        with open(os.path.join(public, "uploads", "evil.jpg"), "w") as f:
            f.write("<?php echo 'EVIL';")
        sock = os.path.join(self.root, "php.sock")
        conf = os.path.join(self.root, "php-fpm.conf")
        with open(conf, "w") as f:
            f.write(f"[global]\npid = {self.root}/php-fpm.pid\nerror_log = {self.root}/php-fpm.log\n"
                    f"daemonize = no\n[site]\nlisten = {sock}\npm = static\npm.max_children = 2\n")
        args = [PHP_FPM, "-F", "-y", conf, "-p", self.root] + (["-R"] if os.geteuid() == 0 else [])
        fpm = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p = None
        try:
            wait_for(lambda: os.path.exists(sock), what="php-fpm's socket")
            p = subprocess.Popen([WOK, "serve", "--root", public, "--listen", "127.0.0.1:0", "--fastcgi", "unix:" + sock,
                                  "--front-controller", "index.php"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            port = int(re.search(r":(\d+) ready", p.stdout.readline()).group(1))

            def get(path):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", path, headers={"Host": "blog.example.org"})
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                return resp.status, body

            self.assertEqual(get("/blog/hello?x=1"),
                             (200, ("front /blog/hello?x=1 " + os.path.join(public, "index.php")).encode()))
            self.assertEqual(get("/style.css"), (200, b"css"))
            self.assertEqual(get("/uploads/evil.jpg"), (200, b"<?php echo 'EVIL';"))
            self.assertEqual(get("/uploads/evil.jpg/x.php")[0], 404)
        finally:
            if p is not None:
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(30), 0)
                p.stdout.close()
                p.stderr.close()
            fpm.send_signal(signal.SIGQUIT)
            fpm.wait(30)


if __name__ == "__main__":
    unittest.main(verbosity=2)

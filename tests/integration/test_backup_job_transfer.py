"""A clone from another project on a cluster carries one backup through a
one-time repository (docs/data.md, "Clones from another project"): the
clone's Job serves it (`wok backup-job receive`, restic's REST protocol),
a Job of the source project copies the one backup into it (`wok backup-job
copy`), and the clone restores from it. Here with real restic: the source
project's repository, the receiver on a loopback port, the restore from
what it received; and what a hostile caller of the receiver meets."""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from wokharness import WOK

SKIP = None if shutil.which("restic") else "missing restic"

SPEC = {"mode": "app", "hosts": ["blog.team-a.example.org"],
        "app": {"components": [{"name": "web", "image": "x:1"}]},
        "storage": [{"name": "uploads", "size": "1Gi"}]}
TOKEN = "a-one-time-token-0123456789abcdef"


@unittest.skipIf(SKIP, SKIP)
class TransferTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wok-transfer-")
        key = os.path.join(self.root, "key")
        with open(key, "w") as f:
            f.write("team-a's key\n")
        self.source = dict(os.environ, RESTIC_REPOSITORY=os.path.join(self.root, "repo"),
                           RESTIC_PASSWORD_FILE=key, RESTIC_CACHE_DIR=os.path.join(self.root, "cache"),
                           TZ="UTC")
        self.transfer_key = os.path.join(self.root, "transfer-key")
        os.makedirs(self.transfer_key)
        for name, text in (("token", TOKEN + "\n"), ("password", "the transfer's own password\n")):
            with open(os.path.join(self.transfer_key, name), "w") as f:
                f.write(text)
        self.receivers = []

    def tearDown(self):
        for p in self.receivers:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stderr.close()
            p.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def job(self, action, *args, env=None, site="blog", project="team-a", uid=None):
        revision = {"revision": 3, "commit": "", "spec": SPEC}
        env = dict(env or self.source, WOK_BACKUP_REVISION=json.dumps(revision))
        argv = [WOK, "backup-job", action, "--project", project, "--site", site, *args]
        if uid:
            argv += ["--uid", uid]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)

    def backup(self, content):
        d = tempfile.mkdtemp(dir=self.root)
        os.makedirs(os.path.join(d, "storage", "uploads"))
        with open(os.path.join(d, "storage", "uploads", "post.txt"), "w") as f:
            f.write(content)
        r = self.job("create", "--reason", "manual", "--dir", d, uid="uid-blog")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["backup"]["id"]

    def receive(self, *extra):
        repo = os.path.join(self.root, "received-%d" % len(self.receivers))
        p = subprocess.Popen([WOK, "backup-job", "receive", "--dir", repo, "--listen", "127.0.0.1:0",
                              "--transfer-key", self.transfer_key, *extra],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.receivers.append(p)
        line = p.stderr.readline()
        m = re.search(r"on 127\.0\.0\.1:(\d+)", line)
        self.assertIsNotNone(m, line)
        return p, repo, "http://127.0.0.1:%s/" % m.group(1)

    def call(self, url, method="GET", body=None, token=TOKEN):
        req = urllib.request.Request(url, data=body, method=method)
        if token is not None:
            req.add_header("Authorization", "Basic " + base64.b64encode(b"wok:" + token.encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_one_backup_goes_through_and_the_clone_restores_it(self):
        first = self.backup("the first post")
        self.backup("the second post")
        p, repo, url = self.receive()
        r = self.job("copy", "--backup", first, "--to", url, "--transfer-key", self.transfer_key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["copied"]["id"], first)
        self.assertNotIn(TOKEN, r.stdout + r.stderr)
        # The receiver stops once told, and says what it received.
        self.assertEqual(p.wait(timeout=30), 0, p.stderr.read())
        self.assertEqual(json.loads(p.stdout.read()), {"received": repo})

        # A repository of restic's local layout, with the transfer's own
        # password, holding that one backup only (not the source's key).
        transfer = dict(self.source, RESTIC_REPOSITORY=repo,
                        RESTIC_PASSWORD_FILE=os.path.join(self.transfer_key, "password"))
        snapshots = json.loads(subprocess.run(["restic", "snapshots", "--json"], env=transfer,
                                              capture_output=True, text=True, check=True).stdout)
        self.assertEqual(len(snapshots), 1)
        self.assertTrue(snapshots[0]["original"].startswith(first))
        self.assertIn("site=blog", snapshots[0]["tags"])
        wrong = subprocess.run(["restic", "snapshots"], env=dict(self.source, RESTIC_REPOSITORY=repo),
                               capture_output=True, text=True)
        self.assertNotEqual(wrong.returncode, 0)

        # The clone's restore, in the other project, names the backup by
        # the source's id (the copy has an id of its own) or as latest.
        for ref in (first, "latest"):
            d = tempfile.mkdtemp(dir=self.root)
            os.makedirs(os.path.join(d, "storage", "uploads"))
            r = self.job("restore", "--from", "blog", "--backup", ref, "--dir", d, env=transfer,
                         site="blog-test", project="team-b", uid="uid-copy")
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, "storage", "uploads", "post.txt")) as f:
                self.assertEqual(f.read(), "the first post")

    def test_a_copy_fails_clearly(self):
        first = self.backup("a post")
        p, repo, url = self.receive()
        # A backup the source does not have.
        r = self.job("copy", "--backup", "0123456789abcdef", "--to", url, "--transfer-key", self.transfer_key)
        self.assertEqual(r.returncode, 1)
        self.assertIn('site "blog" of project "team-a" has no backup "0123456789abcdef"', r.stderr)
        # Credentials in the URL, or not a URL the copy takes.
        for to in ("http://wok:x@127.0.0.1:1/", "s3:https://s3.example.org/b", "http://127.0.0.1:1"):
            r = self.job("copy", "--backup", first, "--to", to, "--transfer-key", self.transfer_key)
            self.assertEqual(r.returncode, 1)
            self.assertIn('--to "%s" is not http://HOST:PORT/ (without credentials)' % to, r.stderr)
        # The wrong token: refused by the receiver, the token not printed.
        other = os.path.join(self.root, "other-key")
        shutil.copytree(self.transfer_key, other)
        with open(os.path.join(other, "token"), "w") as f:
            f.write("not-the-token-0123456789")
        r = self.job("copy", "--backup", first, "--to", url, "--transfer-key", other)
        self.assertEqual(r.returncode, 1)
        self.assertIn("restic init of the transfer's repository " + url + " failed", r.stderr)
        self.assertNotIn("not-the-token-0123456789", r.stderr)
        self.assertIsNone(p.poll())  # still waiting for the copy
        # Nothing copied within the timeout: the receiver gives up.
        q, _, _ = self.receive("--timeout", "1")
        self.assertEqual(q.wait(timeout=30), 1)
        self.assertIn("nothing was received within 1 s", q.stderr.read())

    def test_what_a_hostile_caller_meets(self):
        p, repo, url = self.receive()
        key = "ab" * 32
        # No token, a wrong one: nothing.
        self.assertEqual(self.call(url + "keys/", token=None)[0], 401)
        self.assertEqual(self.call(url + "keys/", token="guess")[0], 401)
        # Nothing before the repository is made.
        self.assertEqual(self.call(url + "data/" + key, "POST", b"x")[0], 404)
        self.assertEqual(self.call(url + "config", "POST", b"x")[0], 404)
        self.assertEqual(self.call(url + "?create=true", "POST")[0], 200)
        # Names are restic's ids, of restic's types: no way out of the directory.
        for path in ("keys/..%2f..%2fetc", "keys/" + "AB" * 32, "keys/x", "etc/" + key,
                     "data/../../" + key, "config/x"):
            status = self.call(url + path, "POST", b"x")[0]
            self.assertIn(status, (400, 404, 405), path)
        self.assertEqual(os.listdir(self.root).count("etc"), 0)
        # A file is written once and never replaced; only locks are deleted.
        self.assertEqual(self.call(url + "keys/" + key, "POST", b"first")[0], 200)
        self.assertEqual(self.call(url + "keys/" + key, "POST", b"second")[0], 403)
        self.assertEqual(self.call(url + "keys/" + key, "DELETE")[0], 403)
        self.assertEqual(self.call(url + "keys/" + key), (200, b"first"))
        self.assertEqual(self.call(url + "locks/" + key, "POST", b"lock")[0], 200)
        self.assertEqual(self.call(url + "locks/" + key, "DELETE")[0], 200)
        # A symlink put in the directory is not followed.
        os.symlink("/etc/passwd", os.path.join(repo, "index", "cd" * 32))
        self.assertEqual(self.call(url + "index/" + "cd" * 32)[0], 404)
        self.assertEqual(json.loads(self.call(url + "index/")[1]), [])
        # Done before anything was copied: refused, the receiver keeps waiting.
        self.assertEqual(self.call(url + "done", "POST")[0], 409)
        self.assertIsNone(p.poll())


if __name__ == "__main__":
    unittest.main()


GOLDEN = os.path.join(os.path.dirname(__file__), "..", "render", "golden", "backup-restore-jobs.yaml")


@unittest.skipIf(SKIP, SKIP)
class RenderedTransferTest(unittest.TestCase):
    """The containers the render gives a clone from another project (the
    golden the render test pins), run as they are: their arguments and
    environment, the pod's paths mapped to directories of their own here,
    the Service's name to the receiver's loopback port."""

    def setUp(self):
        import yaml  # python3-yaml (Makefile)
        self.root = tempfile.mkdtemp(prefix="wok-rendered-transfer-")
        self.addCleanup(shutil.rmtree, self.root, True)
        with open(GOLDEN) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        self.clone = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].endswith("-clone-0a1b2c3d"))
        self.copy = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith("wok.clone-"))
        self.key = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == self.copy["metadata"]["name"])
        # The pod's paths, each a directory here.
        self.paths = {}
        for path in ("/transfer-key", "/transfer", "/repository", "/key", "/restore", "/tmp"):
            self.paths[path] = os.path.join(self.root, path.strip("/"))
            os.makedirs(self.paths[path])
        for name, value in self.key["stringData"].items():  # the Secret's items, mounted
            with open(os.path.join(self.paths["/transfer-key"], name), "w") as f:
                f.write(value)
        with open(os.path.join(self.paths["/key"], "password"), "w") as f:
            f.write("the source project's key\n")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()

    def mapped(self, text, extra=()):
        for old, new in extra:
            text = text.replace(old, new)
        for path in sorted(self.paths, key=len, reverse=True):
            if text == path or text.startswith(path + "/"):
                return self.paths[path] + text[len(path):]
        return text

    def container(self, job, name):
        spec = job["spec"]["template"]["spec"]
        c = next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name)
        env = {e["name"]: self.mapped(e["value"]) for e in c.get("env", []) if "value" in e}
        return c["args"], dict(os.environ, TZ="UTC", **env)

    def test_the_rendered_receive_copy_and_restore_carry_one_backup(self):
        # The source project's backup of site shop, in its repository.
        _, copy_env = self.container(self.copy, "copy")
        made = os.path.join(self.root, "made")
        os.makedirs(os.path.join(made, "storage", "uploads"))
        with open(os.path.join(made, "storage", "uploads", "post.txt"), "w") as f:
            f.write("a post of team-c's shop")
        with open(os.path.join(made, "database.sql"), "w") as f:
            f.write("CREATE TABLE posts (id INT);\n")
        spec = {"mode": "php", "hosts": ["shop.team-c.example.org"], "php": {"docroot": "web"},
                "source": {"git": {"url": "https://git.example.org/shop.git"}},
                "database": {"engine": "mariadb", "size": "1Gi"},
                "storage": [{"name": "uploads", "path": "web/uploads", "size": "1Gi"}]}
        r = subprocess.run([WOK, "backup-job", "create", "--project", "team-c", "--site", "shop", "--uid", "u-shop",
                            "--reason", "manual", "--dir", made],
                           env=dict(copy_env, WOK_BACKUP_REVISION=json.dumps({"revision": 1, "commit": "", "spec": spec})),
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)

        # The clone's receiver, on a port of its own here.
        args, env = self.container(self.clone, "receive")
        args = [self.mapped(a, [("0.0.0.0:8000", "127.0.0.1:0")]) for a in args]
        receiver = subprocess.Popen([WOK, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(receiver)
        port = re.search(r"on 127\.0\.0\.1:(\d+)", receiver.stderr.readline()).group(1)

        # The source's copy, to that port instead of the Service's name.
        args, env = self.container(self.copy, "copy")
        service = "http://%s.%s.svc:8000/" % (self.clone["metadata"]["name"], self.clone["metadata"]["namespace"])
        self.assertIn(service, args)
        args = [self.mapped(a, [(service, "http://127.0.0.1:%s/" % port)]) for a in args]
        r = subprocess.run([WOK, *args], env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(receiver.wait(timeout=30), 0, receiver.stderr.read())

        # The clone's restore, from what was received, into its volume.
        args, env = self.container(self.clone, "restore")
        os.makedirs(os.path.join(self.paths["/restore"], "storage", "uploads"))
        r = subprocess.run([WOK, *[self.mapped(a) for a in args]], env=env, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["restored"]["storage"], ["uploads"])
        with open(os.path.join(self.paths["/restore"], "storage", "uploads", "post.txt")) as f:
            self.assertEqual(f.read(), "a post of team-c's shop")
        with open(os.path.join(self.paths["/restore"], "database.sql")) as f:
            self.assertEqual(f.read(), "CREATE TABLE posts (id INT);\n")  # for the import container

"""Backups into S3-compatible storage (docs/data.md, "Where backups are"):
`wok up --backup-repository s3:https://HOST/BUCKET/{project}` with the
credentials in wok's environment, as restic reads them. The store is s3rver
(npm, tests/s3), started by the test on loopback over TLS with a CA of its
own (SSL_CERT_FILE in wok's environment); restic's own s3 backend talks to
it. A backup, a restore in place, a clone, a deleted site's list, the
credentials kept from the sites, and a store that stops answering.
Needs root (runc, loop-mounted volumes); CI runs it as root."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from test_backup import SKIP as BACKUP_SKIP, BackupCase
from wokharness import WOK, wait_for

S3RVER = os.path.join(os.path.dirname(__file__), "../s3/node_modules/.bin/s3rver")
SKIP = BACKUP_SKIP or (None if os.path.exists(S3RVER) else
                       "missing tests/s3/node_modules (make test runs scripts/npm-install.sh tests/s3)")
SECRET = "wok-s3-test-secret-" + "x" * 12


class S3Store:
    """s3rver on 127.0.0.1, port 0, TLS with a certificate made here, one bucket "wok"."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wok-s3-")
        self.cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", self.cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.data = os.path.join(self.dir, "data")
        os.mkdir(self.data)
        self.proc = subprocess.Popen([S3RVER, "-d", self.data, "-a", "127.0.0.1", "-p", "0", "--key", key,
                                      "--cert", self.cert, "--configure-bucket", "wok", "--silent"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        said = ""
        while not (m := re.search(r"listening on 127\.0\.0\.1:(\d+)", said)):
            line = self.proc.stdout.readline()
            if not line:
                self.close()
                raise AssertionError("s3rver did not start: " + said)
            said += line
        self.port = int(m.group(1))

    def objects(self, prefix):
        """The keys of the bucket under PREFIX/ (s3rver keeps each as KEY._S3rver_object)."""
        top = os.path.join(self.data, "wok", prefix)
        return sorted(os.path.relpath(os.path.join(d, f), top)[:-len("._S3rver_object")]
                      for d, _, files in os.walk(top) for f in files if f.endswith("._S3rver_object"))

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self.proc.stdout.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipIf(SKIP, SKIP)
class S3BackupTest(BackupCase):
    def setUp(self):
        self.s3 = S3Store()
        self.addCleanup(self.s3.close)  # after tearDown has stopped wok
        self.wok_args = ("--backup-repository", f"s3:https://127.0.0.1:{self.s3.port}/wok/{{project}}")
        self.wok_env = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": SECRET,
                        "SSL_CERT_FILE": self.s3.cert}
        super().setUp()

    def test_backup_restore_and_clone_through_s3(self):
        host = "blog.team-a.localhost"
        self.deploy_blog_with_a_post("first post", "before")

        # wok's S3 credentials and CA are its own: a site's processes get none of them.
        env = self.env(host)
        self.assertFalse([k for k in env if k.startswith("AWS_") or k == "SSL_CERT_FILE"], env)
        self.assertNotIn(SECRET, "\n".join(env.values()))

        first = self.backup("blog")
        self.assertIn(first, self.wok.cli("backup", "list", "site", "blog", "-n", "team-a").stdout)
        # The repository is in the bucket, under the project's name and uid;
        # nothing under wok's data directory but the key.
        uid = json.loads(self.wok.cli("get", "project", "team-a", "-o", "json").stdout)["metadata"]["uid"]
        objects = self.s3.objects(f"team-a.{uid}")
        self.assertIn("config", objects)
        self.assertTrue([o for o in objects if o.startswith("snapshots/")], objects)
        self.assertTrue([o for o in objects if o.startswith("data/")], objects)
        self.assertFalse(os.listdir(os.path.join(self.wok.data, "backups", "repos"))
                         if os.path.isdir(os.path.join(self.wok.data, "backups", "repos")) else [])
        self.assertTrue(os.path.exists(os.path.join(self.wok.data, "backups", "keys", f"team-a.{uid}")))

        # Mistakes, then the backup restored in place from the bucket.
        self.sql(host, "DROP TABLE posts")
        self.assertEqual(self.text(host, "/put?name=b.txt&text=later"), "OK")
        out = self.wok.cli("backup", "restore", "site", "blog", "--backup", first, "-n", "team-a").stdout
        self.assertIn(f"restored from backup {first} (revision 1; storage files, database)", out)
        self.assertIn("first post", self.sql(host, "SELECT title FROM posts"))
        self.assertEqual(self.text(host, "/cat?name=a.txt"), "before")
        self.assertEqual(self.text(host, "/cat?name=b.txt"), "MISSING")

        # A clone from the bucket, under a host of its own.
        self.wok.cli("backup", "restore", "site", "blog", "--backup", first, "--to", "copy",
                     "--host", "copy.team-a.localhost", "-n", "team-a")
        self.wok.wait_revision("copy", "team-a", 1, timeout=120)
        self.assertIn("first post", self.sql("copy.team-a.localhost", "SELECT title FROM posts"))
        self.assertEqual(self.text("copy.team-a.localhost", "/cat?name=a.txt"), "before")

        # A deleted site's backups stay in the bucket and are listed.
        self.wok.cli("delete", "site", "blog", "-n", "team-a")
        wait_for(lambda: self.wok.get(host, "/")[0] == 404 or None, 60, what="blog gone")
        out = self.wok.cli("backup", "list", "-n", "team-a").stdout
        self.assertIn("blog (deleted)", out)
        self.assertIn(first, out)

        # The store stops answering: a backup and a list fail with restic's
        # words and the store's address, never an empty list; the site runs on.
        self.s3.stop()
        r = self.wok.cli("backup", "create", "site", "copy", "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"127.0.0.1:{self.s3.port}", r.stderr)
        self.assertIn("connection refused", r.stderr)
        r = self.wok.cli("backup", "list", "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("connection refused", r.stderr)
        self.assertNotIn(first, r.stdout)
        self.assertIn("first post", self.sql("copy.team-a.localhost", "SELECT title FROM posts"))


JOB_SKIP = (None if shutil.which("restic") else "missing restic") or (
    None if os.path.exists(S3RVER) else "missing tests/s3/node_modules (make test runs scripts/npm-install.sh tests/s3)")


@unittest.skipIf(JOB_SKIP, JOB_SKIP)
class S3BackupJobTest(unittest.TestCase):
    """A cluster's backup Jobs with an S3 store (`wok operator --backup-repository`):
    `wok backup-job` with the environment its pod gets from the project's
    Secret wok.backup-store (RESTIC_REPOSITORY, AWS_*), no claim; the store's
    private CA as that Secret's ca.crt, mounted at WOK_BACKUP_CACERT (no
    SSL_CERT_FILE: the wok image's CAs are the system's)."""

    def setUp(self):
        self.s3 = S3Store()
        self.addCleanup(self.s3.close)
        self.root = tempfile.mkdtemp(prefix="wok-s3-job-")
        self.addCleanup(shutil.rmtree, self.root, True)
        key = os.path.join(self.root, "key")
        with open(key, "w") as f:
            f.write("the project's key\n")
        # What the operator writes for project team-a (uid p-1), and the
        # store's CA where the pod mounts the Secret's ca.crt.
        ca = os.path.join(self.root, "store-ca", "ca.crt")
        os.makedirs(os.path.dirname(ca))
        shutil.copy(self.s3.cert, ca)
        base = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
        self.env = dict(base, RESTIC_REPOSITORY=f"s3:https://127.0.0.1:{self.s3.port}/wok/team-a.p-1",
                        AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY=SECRET, WOK_BACKUP_CACERT=ca,
                        RESTIC_PASSWORD_FILE=key, RESTIC_CACHE_DIR=os.path.join(self.root, "cache"), TZ="UTC")

    def job(self, *args, env=None):
        spec = {"mode": "php", "hosts": ["www.team-a.example.org"],
                "storage": [{"name": "files", "path": "files", "size": "1Gi"}]}
        e = dict(env or self.env, WOK_BACKUP_REVISION=json.dumps({"revision": 2, "commit": "", "spec": spec}))
        return subprocess.run([WOK, "backup-job", *args, "--project", "team-a"], env=e, capture_output=True,
                              text=True, timeout=300)

    def test_the_jobs_back_up_list_restore_and_sweep_in_the_store(self):
        d = os.path.join(self.root, "backup")
        os.makedirs(os.path.join(d, "storage", "files"))
        with open(os.path.join(d, "storage", "files", "index.html"), "w") as f:
            f.write("kept in the store")
        r = self.job("create", "--site", "www", "--uid", "uid-www", "--reason", "manual", "--dir", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        made = json.loads(r.stdout)["backup"]["id"]
        objects = self.s3.objects("team-a.p-1")
        self.assertIn("config", objects)
        self.assertTrue([o for o in objects if o.startswith("snapshots/")], objects)

        for args in (("--site", "www"), ()):  # the site's list, the project's
            r = self.job("list", *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([b["id"] for b in json.loads(r.stdout)["items"]], [made])
        r = self.job("sweep", "--live", "www=uid-www")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([b["id"] for b in json.loads(r.stdout)["items"]], [made])

        target = os.path.join(self.root, "restore")
        os.makedirs(os.path.join(target, "storage", "files"))
        r = self.job("restore", "--site", "www", "--uid", "uid-www", "--backup", made, "--dir", target)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(target, "storage", "files", "index.html")) as f:
            self.assertEqual(f.read(), "kept in the store")

        # No ca.crt in the project's Secret (the mount holds no file): the
        # system's CAs, which do not know the store's; restic says so.
        r = self.job("list", env=dict(self.env, WOK_BACKUP_CACERT=os.path.join(self.root, "none", "ca.crt")))
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("reading the repository s3:https://127.0.0.1:", r.stderr)
        self.assertIn("certificate signed by unknown authority", r.stderr)
        # Credentials the store refuses: an error naming the store, never an empty list.
        wrong = dict(self.env, AWS_ACCESS_KEY_ID="NOBODY")  # (s3rver checks the key id only)
        r = self.job("list", env=wrong)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("reading the repository s3:https://127.0.0.1:", r.stderr)
        self.assertIn("Access Key Id you provided does not exist", r.stderr)
        # A project with no backup yet: no repository under its prefix, an empty list.
        r = self.job("list", env=dict(self.env, RESTIC_REPOSITORY=self.env["RESTIC_REPOSITORY"] + "-new"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"items": []})


if __name__ == "__main__":
    unittest.main()

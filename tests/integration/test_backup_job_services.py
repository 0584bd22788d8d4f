"""Services in a cluster's backup (`wok backup-job create|restore`, docs/data.md
"Backups on Kubernetes"), against a real restic repository: what the Job's
init containers fetched (a Redis snapshot services/NAME/dump.rdb, a RabbitMQ
export services/NAME/definitions.json and messages.json) goes into the backup
and its manifest, and a restore puts it where the import containers read it;
a clone takes it only into a service of the same name and engine. The init
and import containers' commands run against real servers in render_test
(RedisBackupTest) and test_backup_job_rabbitmq."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from wokharness import WOK

SKIP = None if shutil.which("restic") else "missing restic"

SPEC = {"mode": "app", "hosts": ["blog.team-a.example.org"],
        "app": {"components": [{"name": "web", "image": "x:1"}]},
        "services": [{"name": "cache", "engine": "redis"}, {"name": "queue", "engine": "rabbitmq"}]}


@unittest.skipIf(SKIP, SKIP)
class BackupJobServicesTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wok-job-services-")
        key = os.path.join(self.root, "key")
        with open(key, "w") as f:
            f.write("a key of the project\n")
        self.env = dict(os.environ, RESTIC_REPOSITORY=os.path.join(self.root, "repo"),
                        RESTIC_PASSWORD_FILE=key, RESTIC_CACHE_DIR=os.path.join(self.root, "cache"),
                        TZ="UTC")
        self.snapshot = os.urandom(4096)
        self.export = {"definitions.json": '{"user": "blog", "broker": {"queues": []}}\n',
                       "messages.json": '[{"vhost": "/", "queue": "jobs", "messages": []}]\n'}

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def wok(self, *args, spec=SPEC, site="blog", uid="uid-blog", policy=None):
        revision = {"revision": 3, "commit": "", "spec": spec}
        if policy is not None:
            revision["backup"] = policy
        env = dict(self.env, WOK_BACKUP_REVISION=json.dumps(revision))
        return subprocess.run([WOK, "backup-job", *args, "--project", "team-a", "--site", site, "--uid", uid],
                              env=env, capture_output=True, text=True, timeout=300)

    def job_dir(self, name, with_snapshot=True):
        d = os.path.join(self.root, name)
        os.makedirs(os.path.join(d, "services", "cache"))
        os.makedirs(os.path.join(d, "services", "queue"))
        if with_snapshot:
            with open(os.path.join(d, "services", "cache", "dump.rdb"), "wb") as f:
                f.write(self.snapshot)
            for name, text in self.export.items():
                with open(os.path.join(d, "services", "queue", name), "w") as f:
                    f.write(text)
        return d

    def restic(self, *args):
        return subprocess.run(["restic", *args], env=self.env, capture_output=True, text=True, check=True).stdout

    def test_the_snapshot_goes_into_the_backup_and_back_for_the_import(self):
        r = self.wok("create", "--reason", "manual", "--dir", self.job_dir("backup"))
        self.assertEqual(r.returncode, 0, r.stderr)
        made = json.loads(r.stdout)["backup"]["id"]
        manifest = json.loads(self.restic("dump", made, "/backup.json"))
        # The Redis service's snapshot, the RabbitMQ service's export.
        self.assertEqual(manifest["services"], [{"name": "cache", "engine": "redis", "snapshot": "dump.rdb"},
                                                {"name": "queue", "engine": "rabbitmq",
                                                 "snapshot": "definitions.json"}])
        listed = self.restic("ls", made)
        for path in ("/services/cache/dump.rdb", "/services/queue/definitions.json",
                     "/services/queue/messages.json"):
            self.assertIn(path, listed)

        r = self.wok("restore", "--backup", made, "--dir", self.job_dir("restore", with_snapshot=False))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["restored"]["services"], ["cache", "queue"])
        with open(os.path.join(self.root, "restore", "services", "cache", "dump.rdb"), "rb") as f:
            self.assertEqual(f.read(), self.snapshot)
        for name, text in self.export.items():
            with open(os.path.join(self.root, "restore", "services", "queue", name)) as f:
                self.assertEqual(f.read(), text)

        # A clone: into a service of the same name and engine only.
        other = dict(SPEC, services=[{"name": "cache", "engine": "rabbitmq"}])
        d = os.path.join(self.root, "clone")
        os.makedirs(d)
        r = self.wok("restore", "--from", "blog", "--dir", d, spec=other, site="copy", uid="uid-copy")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["restored"]["services"], [])
        self.assertFalse(os.path.exists(os.path.join(d, "services")))

    def test_the_project_policy_the_render_gives_is_the_retention(self):
        # The site has no spec.backup; the render passes its project's
        # (api::backup_policy): keep the last scheduled backup.
        policy = {"schedule": "0 3 * * *", "keep": {"last": 1, "weekly": 2}}
        made = []
        for _ in range(2):
            r = self.wok("create", "--reason", "scheduled", "--dir", self.job_dir(f"b{len(made)}"), policy=policy)
            self.assertEqual(r.returncode, 0, r.stderr)
            made.append(json.loads(r.stdout)["backup"]["id"])
        left = json.loads(self.restic("snapshots", "--json"))
        # (2 weekly: the same week's newest is the last one too.)
        self.assertEqual([s["short_id"] for s in left], [made[1]])
        self.assertIn("retain=14", left[0]["tags"])  # what a deleted site's backups keep
        # Without a policy (a site with no spec.backup, a project without a
        # default): nothing the schedule forgets, 30 days after a deletion.
        for name in ("b2", "b3"):
            r = self.wok("create", "--reason", "scheduled", "--dir", self.job_dir(name))
            self.assertEqual(r.returncode, 0, r.stderr)
        tags = [s["tags"] for s in json.loads(self.restic("snapshots", "--json"))]
        self.assertEqual(len(tags), 3)
        self.assertIn("retain=30", tags[2])

    def test_no_backup_without_the_services_snapshot(self):
        r = self.wok("create", "--reason", "manual", "--dir", self.job_dir("backup", with_snapshot=False))
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("no snapshot of the service cache in " + os.path.join(self.root, "backup", "services",
                                                                            "cache", "dump.rdb"), r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "repo", "snapshots")) and
                         os.listdir(os.path.join(self.root, "repo", "snapshots")))
        # A RabbitMQ export without its messages is not one either.
        d = self.job_dir("half")
        os.remove(os.path.join(d, "services", "queue", "messages.json"))
        r = self.wok("create", "--reason", "manual", "--dir", d)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("no snapshot of the service queue in " + os.path.join(d, "services", "queue", "messages.json"),
                      r.stderr)
        # A link where the snapshot should be is not one.
        d = self.job_dir("linked", with_snapshot=False)
        os.symlink("/etc/passwd", os.path.join(d, "services", "cache", "dump.rdb"))
        r = self.wok("create", "--reason", "manual", "--dir", d)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("no snapshot of the service cache", r.stderr)

    def test_a_backup_whose_snapshot_is_a_link_is_not_restored(self):
        # Written past the Job (restic itself): the manifest names the
        # snapshot, the file is a link to a file of the restoring pod.
        d = self.job_dir("forged", with_snapshot=False)
        os.symlink("/etc/passwd", os.path.join(d, "services", "cache", "dump.rdb"))
        with open(os.path.join(d, "backup.json"), "w") as f:
            json.dump({"apiVersion": "wok.dev/v1alpha1", "kind": "SiteBackup", "project": "team-a",
                       "site": "blog", "siteUid": "uid-blog", "revision": 3, "commit": "", "spec": SPEC,
                       "storage": [], "database": None,
                       "services": [{"name": "cache", "engine": "redis", "snapshot": "dump.rdb"}]}, f)
        self.restic("init")
        out = subprocess.run(["restic", "backup", "--json", "--tag",
                              "wok,site=blog,uid=uid-blog,revision=3,reason=manual,retain=30", "."],
                             cwd=d, env=self.env, capture_output=True, text=True, check=True).stdout
        made = [json.loads(l) for l in out.splitlines() if '"summary"' in l][0]["snapshot_id"][:8]
        target = self.job_dir("restore", with_snapshot=False)
        r = self.wok("restore", "--backup", made, "--dir", target)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("backup " + made + " lists the service cache but holds no dump.rdb of it", r.stderr)
        self.assertFalse(os.path.lexists(os.path.join(target, "services", "cache", "dump.rdb")))


if __name__ == "__main__":
    unittest.main()

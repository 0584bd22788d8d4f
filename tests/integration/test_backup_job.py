"""The Kubernetes backup Job's command (`wok backup-job create`, docs/data.md
"On Kubernetes") against wok up's own repository: what the Job backs up (a
directory holding the site's volumes and its database's dump) is a backup
wok up lists and restores like its own, because both lay out, tag and keep
snapshots with the same code (controllers/snapshot.h). And the Job refuses
what it should: names that are not names, a database without its dump, a
volume not mounted, no repository. Needs root (runc, loop-mounted volumes)."""
import glob
import json
import os
import subprocess
import unittest

from test_backup import SKIP, BackupCase
from wokharness import WOK


@unittest.skipIf(SKIP, SKIP)
class BackupJobTest(BackupCase):
    def job(self, data_dir, project, site, uid, revision, reason="manual", env=None):
        repos = glob.glob(os.path.join(self.wok.data, "backups", "repos", project + ".*"))
        self.assertEqual(len(repos), 1, repos)
        key = os.path.join(self.wok.data, "backups", "keys", os.path.basename(repos[0]))
        e = dict(os.environ, RESTIC_REPOSITORY=repos[0], RESTIC_PASSWORD_FILE=key,
                 WOK_BACKUP_REVISION=json.dumps(revision))
        e.update(env or {})
        return subprocess.run([WOK, "backup-job", "create", "--project", project, "--site", site,
                               "--uid", uid, "--reason", reason, "--dir", data_dir],
                              env=e, capture_output=True, text=True, timeout=300)

    def test_a_jobs_backup_is_one_wok_up_restores(self):
        host = "blog.team-a.localhost"
        self.deploy_blog_with_a_post("job post", "live")
        self.backup("blog")  # wok up's repository of team-a, and its key

        # What the Job's pod holds: the volume (here a copy), the database's
        # dump (the init container's), the revision from the CronJob's env.
        site = self.wok.site_json("blog", "team-a")
        d = os.path.join(self.root, "job")
        os.makedirs(os.path.join(d, "storage", "files"))
        with open(os.path.join(d, "storage", "files", "a.txt"), "w") as f:
            f.write("from the job")
        with open(os.path.join(d, "database.sql"), "w") as f:
            f.write(self.wok.cli("db", "dump", "site", "blog", "-n", "team-a").stdout)
        revision = {"revision": site["status"]["revision"], "commit": site["status"].get("commit", ""),
                    "spec": site["spec"]}
        uid = site["metadata"]["uid"]
        said = os.path.join(self.root, "termination-log")
        r = self.job(d, "team-a", "blog", uid, revision, env={"WOK_TERMINATION_LOG": said})
        self.assertEqual(r.returncode, 0, r.stderr)
        made = json.loads(r.stdout)["backup"]
        # Its id and time, as the pod's termination message: status.backup.last on a cluster.
        with open(said) as f:
            told = json.load(f)
        self.assertEqual(told["id"], made["id"])
        self.assertRegex(told["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual((made["site"], made["reason"], made["revision"]), ("blog", "manual", 1))
        out = self.wok.cli("backup", "list", "site", "blog", "-n", "team-a").stdout
        self.assertIn(made["id"], out)

        self.sql(host, "DROP TABLE posts")
        out = self.wok.cli("backup", "restore", "site", "blog", "--backup", made["id"], "-n", "team-a").stdout
        self.assertIn(f"restored from backup {made['id']} (revision 1; storage files, database)", out)
        self.assertEqual(self.text(host, "/cat?name=a.txt"), "from the job")
        self.assertIn("job post", self.sql(host, "SELECT title FROM posts"))

        # What the Job refuses, naming the problem.
        bad = [
            (("team-a", "../blog", uid, revision, {}), '--site "../blog" is not a DNS label'),
            (("team-a", "blog", "a,b", revision, {}), '--uid "a,b" is not a uid'),
            (("team-a", "blog", uid, {"spec": "x"}, {}), "WOK_BACKUP_REVISION is not"),
            (("team-a", "blog", uid, revision, {"RESTIC_REPOSITORY": ""}), "RESTIC_REPOSITORY is not set"),
        ]
        for (project, name, u, rev, env), why in bad:
            r = self.job(d, project, name, u, rev, env=env)
            self.assertEqual(r.returncode, 1, (name, r.stdout))
            self.assertIn(why, r.stderr)
        os.unlink(os.path.join(d, "database.sql"))
        r = self.job(d, "team-a", "blog", uid, revision)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no dump of the database", r.stderr)
        with open(os.path.join(d, "database.sql"), "w") as f:
            f.write("-- dump\n")
        os.rename(os.path.join(d, "storage", "files"), os.path.join(d, "storage", "other"))
        r = self.job(d, "team-a", "blog", uid, revision)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the volume files is not mounted at", r.stderr)

    def restore_job(self, data_dir, uid, revision, backup="latest", site="blog", extra=(), env=None):
        repos = glob.glob(os.path.join(self.wok.data, "backups", "repos", "team-a.*"))
        key = os.path.join(self.wok.data, "backups", "keys", os.path.basename(repos[0]))
        e = dict(os.environ, RESTIC_REPOSITORY=repos[0], RESTIC_PASSWORD_FILE=key,
                 WOK_BACKUP_REVISION=json.dumps(revision))
        e.update(env or {})
        return subprocess.run([WOK, "backup-job", "restore", "--project", "team-a", "--site", site,
                               "--uid", uid, "--backup", backup, "--dir", data_dir, *extra],
                              env=e, capture_output=True, text=True, timeout=300)

    def test_a_restore_job_puts_back_what_wok_up_backed_up(self):
        # The cluster's restore Job (`wok backup-job restore`): a backup's
        # files into the volumes mounted at DIR/storage/NAME, by descriptor
        # (a link a member left there is replaced, never followed), and its
        # dump at DIR/database.sql for the engine's client.
        host = "blog.team-a.localhost"
        self.deploy_blog_with_a_post("backed up post", "before")
        made = self.backup("blog")
        site = self.wok.site_json("blog", "team-a")
        uid = site["metadata"]["uid"]
        revision = {"revision": site["status"]["revision"], "commit": "", "spec": site["spec"]}

        d = os.path.join(self.root, "restore")
        volume = os.path.join(d, "storage", "files")
        os.makedirs(volume)
        outside = os.path.join(self.root, "outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "a.txt"), "w") as f:
            f.write("not the volume's")
        with open(os.path.join(volume, "b.txt"), "w") as f:
            f.write("made after the backup")
        os.symlink(outside, os.path.join(volume, "escape"))
        said = os.path.join(self.root, "termination-log")
        r = self.restore_job(d, uid, revision, env={"WOK_TERMINATION_LOG": said})
        self.assertEqual(r.returncode, 0, r.stderr)
        done = json.loads(r.stdout)["restored"]
        # The backup's revision, as the pod's termination message: the operator pins it.
        with open(said) as f:
            self.assertEqual(json.load(f), {"revision": site["status"]["revision"],
                                            "commit": site["status"].get("commit", "")})
        self.assertEqual((done["id"], done["storage"], done["database"]), (made, ["files"], True))
        with open(os.path.join(volume, "a.txt")) as f:
            self.assertEqual(f.read(), "before")
        self.assertEqual(sorted(os.listdir(volume)), ["a.txt"])
        with open(os.path.join(outside, "a.txt")) as f:
            self.assertEqual(f.read(), "not the volume's")
        with open(os.path.join(d, "database.sql")) as f:
            self.assertIn("backed up post", f.read())

        # A clone's Job (spec.cloneFrom on a cluster): another site's
        # backup, whatever its uid, into a new site's empty volume.
        c = os.path.join(self.root, "clone")
        os.makedirs(os.path.join(c, "storage", "files"))
        r = self.restore_job(c, "uid-of-copy", revision, site="copy", extra=("--from", "blog"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["restored"]["site"], "blog")
        with open(os.path.join(c, "storage", "files", "a.txt")) as f:
            self.assertEqual(f.read(), "before")
        r = self.restore_job(c, "uid-of-copy", revision, site="copy", extra=("--from", "../x"))
        self.assertIn('--from "../x" is not a DNS label', r.stderr)

        # The list Job's command: the site's backups, as the API lists them.
        repos = glob.glob(os.path.join(self.wok.data, "backups", "repos", "team-a.*"))
        key = os.path.join(self.wok.data, "backups", "keys", os.path.basename(repos[0]))
        r = subprocess.run([WOK, "backup-job", "list", "--project", "team-a", "--site", "blog",
                            "--uid", uid],
                           env=dict(os.environ, RESTIC_REPOSITORY=repos[0], RESTIC_PASSWORD_FILE=key),
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        items = json.loads(r.stdout)["items"]
        self.assertIn(made, [b["id"] for b in items])
        self.assertEqual({b["site"] for b in items}, {"blog"})

        # Refused, naming why: not an id, no backup of that id, and latest
        # of another site of that name (another uid).
        for backup, uid_given, why in [("zz", uid, '--backup "zz" is not a backup id'),
                                       ("abcdef12", uid, 'has no backup "abcdef12"'),
                                       ("latest", "another-uid", "has no backup of its own yet")]:
            r = self.restore_job(d, uid_given, revision, backup)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(why, r.stderr)


if __name__ == "__main__":
    unittest.main()

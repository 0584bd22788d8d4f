"""The sweep of a cluster's project (`wok backup-job sweep`, the CronJob
wok.backup-sweep; docs/data.md "Backups on Kubernetes") against a real restic
repository: the backups of sites that are gone (not among --live, or a
namesake's of another uid) are forgotten once their retention is over; the
live sites' backups and the recent ones of deleted sites stay. The decision
is wok up's (controllers::expired_of_deleted_sites). Snapshots from long ago
are written with restic's --time, with the tags the Job's own backup got."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from wokharness import WOK

SKIP = None if shutil.which("restic") else "missing restic"


@unittest.skipIf(SKIP, SKIP)
class BackupSweepTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wok-sweep-")
        self.key = os.path.join(self.root, "key")
        with open(self.key, "w") as f:
            f.write("a key of the project\n")
        self.env = dict(os.environ, RESTIC_REPOSITORY=os.path.join(self.root, "repo"),
                        RESTIC_PASSWORD_FILE=self.key, RESTIC_CACHE_DIR=os.path.join(self.root, "cache"),
                        TZ="UTC")
        self.data = os.path.join(self.root, "data")
        os.makedirs(self.data)

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def wok(self, *args, env=None):
        return subprocess.run([WOK, "backup-job", *args], env=env or self.env, capture_output=True, text=True,
                              timeout=300)

    def backup(self, site, uid):
        """A backup as the site's Job makes it (a static site: only its revision)."""
        revision = {"revision": 1, "commit": "0" * 40,
                    "spec": {"mode": "static", "hosts": [site + ".team-a.example.org"]}}
        r = self.wok("create", "--project", "team-a", "--site", site, "--uid", uid, "--reason", "manual",
                     "--dir", self.data, env=dict(self.env, WOK_BACKUP_REVISION=json.dumps(revision)))
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["backup"]["id"]

    def snapshots(self):
        out = subprocess.run(["restic", "snapshots", "--json"], env=self.env, capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out)

    def old_copy(self, of_id, uid=None):
        """The snapshot `of_id` again, made in 2020 (its tags, or another uid's)."""
        tags = next(s["tags"] for s in self.snapshots() if s["short_id"] == of_id)
        if uid:
            tags = [t if not t.startswith("uid=") else "uid=" + uid for t in tags]
        r = subprocess.run(["restic", "backup", "--json", "--time", "2020-01-02 03:04:05",
                            "--tag", ",".join(tags), "."], cwd=self.data, env=self.env,
                           capture_output=True, text=True, check=True)
        summary = [json.loads(l) for l in r.stdout.splitlines() if '"summary"' in l][0]
        return summary["snapshot_id"][:8]

    def test_only_the_backups_of_gone_sites_past_their_retention_are_forgotten(self):
        www_new = self.backup("www", "uid-www")
        gone_new = self.backup("gone", "uid-gone")
        www_old = self.old_copy(www_new)                        # a live site's: kept, however old
        gone_old = self.old_copy(gone_new)                      # a deleted site's, past retention: forgotten
        namesake_old = self.old_copy(www_new, uid="uid-was")    # a deleted namesake of www: forgotten
        r = self.wok("sweep", "--project", "team-a", "--live", "www=uid-www", "--live", "blog=uid-blog")
        self.assertEqual(r.returncode, 0, r.stderr)
        swept = json.loads(r.stdout)
        self.assertEqual(sorted(swept["forgotten"]), sorted([gone_old, namesake_old]))
        left = sorted(s["short_id"] for s in self.snapshots())
        self.assertEqual(left, sorted([www_new, gone_new, www_old]))
        # What is left, as a list prints it: a cluster's project list once
        # no site is left to ask through (newest first, every site's).
        self.assertEqual(sorted(b["id"] for b in swept["items"]), left)
        self.assertEqual({(b["site"], b["siteUid"]) for b in swept["items"]},
                         {("www", "uid-www"), ("gone", "uid-gone")})
        self.assertRegex(swept["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # The project's list (no --site) lists the same.
        r = self.wok("list", "--project", "team-a")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["items"], swept["items"])
        # Again: nothing more to forget.
        r = self.wok("sweep", "--project", "team-a", "--live", "www=uid-www")
        self.assertEqual(json.loads(r.stdout)["forgotten"], [])
        self.assertEqual(len(json.loads(r.stdout)["items"]), 3)

    def test_show_gives_a_deleted_sites_backup_with_its_spec(self):
        # `wok backup restore site GONE --to NEW --kubeconfig` makes NEW of it.
        first = self.backup("gone", "uid-gone")
        second = self.backup("gone", "uid-gone")
        for ref, want in (("latest", second), (first, first)):
            r = self.wok("show", "--project", "team-a", "--site", "gone", "--backup", ref)
            self.assertEqual(r.returncode, 0, r.stderr)
            shown = json.loads(r.stdout)["backup"]
            self.assertEqual((shown["id"], shown["site"], shown["siteUid"]), (want, "gone", "uid-gone"))
            self.assertEqual(shown["spec"], {"mode": "static", "hosts": ["gone.team-a.example.org"]})
        for args, why in [
            (("--site", "other"), "no backup"),
            (("--site", "gone", "--backup", "0badc0de"), "0badc0de"),
            (("--site", "gone", "--backup", "../x"), 'is not a backup id'),
            (("--site", "../gone"), 'is not a DNS label'),
        ]:
            r = self.wok("show", "--project", "team-a", *args)
            self.assertEqual(r.returncode, 1, (args, r.stdout))
            self.assertIn(why, r.stderr)

    def test_a_project_without_a_repository_has_nothing_to_sweep(self):
        r = self.wok("sweep", "--project", "team-a")
        self.assertEqual(r.returncode, 0, r.stderr)
        swept = json.loads(r.stdout)
        self.assertEqual((swept["forgotten"], swept["items"]), ([], []))
        r = self.wok("list", "--project", "team-a")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"items": []})

    def test_a_repository_that_cannot_be_read_is_an_error_not_an_empty_one(self):
        # Only a repository that is not there has nothing in it: a wrong key
        # or a store that does not answer is said, by the sweep and the list.
        self.backup("www", "uid-www")
        with open(self.key, "w") as f:
            f.write("another key\n")
        for args in (("sweep", "--project", "team-a"), ("list", "--project", "team-a"),
                     ("list", "--project", "team-a", "--site", "www", "--uid", "uid-www")):
            r = self.wok(*args)
            self.assertEqual(r.returncode, 1, (args, r.stdout))
            self.assertIn("reading the repository " + self.env["RESTIC_REPOSITORY"], r.stderr)
            self.assertIn("wrong password", r.stderr)
        unreachable = dict(self.env, RESTIC_REPOSITORY="rest:http://127.0.0.1:1/team-a")
        r = self.wok("sweep", "--project", "team-a", env=unreachable)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("reading the repository rest:http://127.0.0.1:1/team-a", r.stderr)
        self.assertIn("connection refused", r.stderr)

    def test_hostile_arguments_are_refused_by_name(self):
        for args, why in [
            (("--project", "../team-a"), '--project "../team-a" is not a DNS label'),
            (("--project", "team-a", "--live", "www"), '--live "www" is not NAME=UID'),
            (("--project", "team-a", "--live", "../x=1"), '--live "../x=1" is not NAME=UID'),
            (("--project", "team-a", "--live", "www=a,b"), '--live "www=a,b" is not NAME=UID'),
        ]:
            r = self.wok("sweep", *args)
            self.assertEqual(r.returncode, 1, (args, r.stdout))
            self.assertIn(why, r.stderr)
        for args, why in [
            (("--project", "team-a", "--site", "../www"), '--site "../www" is not a DNS label'),
            (("--project", "team-a", "--uid", "uid-www"), '--site "" is not a DNS label'),
            (("--project", "team-a", "--site", "www", "--uid", "a/b"), '--uid "a/b" is not a uid'),
        ]:
            r = self.wok("list", *args)
            self.assertEqual(r.returncode, 1, (args, r.stdout))
            self.assertIn(why, r.stderr)
        r = self.wok("sweep", "--project", "team-a", env=dict(self.env, RESTIC_REPOSITORY=""))
        self.assertEqual(r.returncode, 1)
        self.assertIn("RESTIC_REPOSITORY is not set", r.stderr)


if __name__ == "__main__":
    unittest.main()

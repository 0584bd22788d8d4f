"""Backups on the embedded platform (docs/data.md): `wok backup create|list|
restore` with Debian's restic, of a site's revision, storage volume and
MariaDB database; a restore in place (503 "being restored" meanwhile), into a
new site (spec.cloneFrom), after the site was deleted; who may do what.
Needs root (runc, loop-mounted volumes); CI runs it as root."""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from test_database import APP as DB_APP, DatabaseCase, db_site
from wokharness import WOK, Wok, restic, wait_for

NEEDS = [b for b in ("runc", "restic", "mariadb") if not shutil.which(b)]
if not os.path.exists("/usr/sbin/mariadbd"):
    NEEDS.append("mariadbd")
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

# test_database's app, and files in its storage volume: /put?name=N&text=T,
# /cat?name=N ("MISSING" when absent), /ls.
APP = DB_APP.replace("""        else:
            body = 'app'""", """        elif url.path == '/put':
            open('files/' + os.path.basename(q['name'][0]), 'w').write(q['text'][0])
            body = 'OK'
        elif url.path == '/cat':
            p = 'files/' + os.path.basename(q['name'][0])
            body = open(p).read() if os.path.exists(p) else 'MISSING'
        elif url.path == '/link':
            os.symlink(q['target'][0], 'files/' + os.path.basename(q['name'][0]))
            body = 'OK'
        elif url.path == '/readlink':
            p = 'files/' + os.path.basename(q['name'][0])
            body = os.readlink(p) if os.path.islink(p) else 'NOT A LINK'
        elif url.path == '/sparse':
            with open('files/' + os.path.basename(q['name'][0]), 'wb') as f:
                f.truncate(int(q['size'][0]))
            body = 'OK'
        elif url.path == '/many':
            for i in range(int(q['n'][0])):
                open('files/many-%05d' % i, 'w').write('x' * 1024)
            body = 'OK'
        elif url.path == '/count':
            body = str(len(os.listdir('files')))
        elif url.path == '/ls':
            body = ' '.join(sorted(os.listdir('files')))
        else:
            body = 'app'""")
assert "/cat" in APP

STORAGE = "  storage: [{name: files, path: files, size: 16Mi}]\n"


class BackupCase(DatabaseCase):
    """A site with storage and a MariaDB database, and a backup of it."""

    def deploy_blog(self, name="blog", project="team-a"):
        repo = self.repo(f"{project}-{name}", {"app.py": APP, "v.txt": "1"})
        self.wok.apply(db_site(name, project, repo.url, "mariadb", extra=STORAGE))
        self.wok.wait_revision(name, project, 1, timeout=120)
        return repo

    def deploy_blog_with_a_post(self, post, text):
        """team-a's blog with a table `posts` holding POST and a file a.txt holding TEXT."""
        host = "blog.team-a.localhost"
        repo = self.deploy_blog()
        self.assertTrue(self.sql(host, "CREATE TABLE posts (title VARCHAR(100))").startswith("OK"))
        self.assertTrue(self.sql(host, f"INSERT INTO posts VALUES ('{post}')").startswith("OK"))
        self.assertEqual(self.text(host, "/put?name=a.txt&text=" + text), "OK")
        return repo

    def text(self, host, path):
        status, _, body = self.wok.get(host, path)
        self.assertEqual(status, 200, body)
        return body.decode()

    def backup(self, site, project="team-a", token=None):
        out = self.wok.cli("backup", "create", "site", site, "-n", project, token=token).stdout
        self.assertRegex(out, r"^backup [0-9a-f]{8} of site.wok.dev/" + site + r" created \(revision \d+\)")
        return out.split()[1]


@unittest.skipIf(SKIP, SKIP)
class BackupTest(BackupCase):
    def test_backup_restore_in_place_clone_and_after_deletion(self):
        host = "blog.team-a.localhost"
        repo = self.deploy_blog_with_a_post("first post", "before")
        # A member's links out of the volume are kept as links, never followed
        # by wok (root) when it backs up or restores.
        self.assertEqual(self.text(host, "/link?name=etc&target=/etc"), "OK")
        self.assertEqual(self.text(host, "/link?name=shadow&target=/etc/shadow"), "OK")

        # Nothing to restore yet, and a backup that does not exist.
        r = self.wok.cli("backup", "restore", "site", "blog", "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('site "blog" of project "team-a" has no backup', r.stderr)
        first = self.backup("blog")
        # Its volume (16Mi) was copied at one instant, frozen: its files as
        # they were, links as links.
        manifest = json.loads(restic(self.wok, "dump", first, "/backup.json"))
        self.assertEqual(manifest["storage"], ["files"])
        self.assertEqual(manifest["frozen"], ["storage/files"])
        self.assertEqual(restic(self.wok, "dump", first, "/storage/files/a.txt"), "before")
        r = self.wok.cli("backup", "restore", "site", "blog", "--backup", "0123abcd", "-n", "team-a",
                         check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('has no backup "0123abcd"', r.stderr)
        out = self.wok.cli("backup", "list", "site", "blog", "-n", "team-a").stdout
        self.assertIn(first, out)
        self.assertIn("manual", out)

        # Who may: a viewer of the project and another project's admin may not.
        for token, why in ((self.vera, 'user "vera" may only read project "team-a"'),
                           (self.bob, 'has no access to project "team-a"')):
            for args in (("create", "site", "blog"), ("list", "site", "blog"), ("list",),
                         ("restore", "site", "blog"),
                         ("restore", "site", "blog", "--to", "x", "--host", "x.team-a.localhost")):
                r = self.wok.cli("backup", *args, "-n", "team-a", token=token, check=False)
                self.assertNotEqual(r.returncode, 0, args)
                self.assertIn(why, r.stderr, args)
        # A developer may.
        self.backup("blog", token=self.alice)

        # Mistakes: the table dropped, another made, the file deleted, one added,
        # and a new revision of the code.
        self.sql(host, "DROP TABLE posts")
        self.sql(host, "CREATE TABLE junk (x INT)")
        os_files = self.text(host, "/put?name=b.txt&text=later")
        self.assertEqual(os_files, "OK")
        repo.write({"v.txt": "2"})
        self.wok.cli("refresh", "site", "blog", "-n", "team-a")
        self.wok.wait_revision("blog", "team-a", 2, timeout=120)

        # In place: the hosts answer 503 "being restored" while it runs.
        seen = []
        done = threading.Event()

        def watch():
            while not done.is_set():
                try:
                    status, headers, body = self.wok.get(host, "/ls")
                    seen.append((status, body))
                except OSError:
                    pass
                time.sleep(0.05)

        t = threading.Thread(target=watch)
        t.start()
        try:
            out = self.wok.cli("backup", "restore", "site", "blog", "--backup", first, "-n", "team-a").stdout
        finally:
            done.set()
            t.join()
        self.assertIn(f"restored from backup {first} (revision 1; storage files, database)", out)
        restoring = [b for s, b in seen if s == 503]
        self.assertTrue(restoring, seen[:5])
        self.assertIn(b"being restored from a backup", restoring[0])
        # Nothing of the site answered with a half-restore in between.
        self.assertFalse([b for s, b in seen if s == 200 and b"b.txt" in b and b"a.txt" not in b])
        self.assertEqual(self.text(host, "/cat?name=a.txt"), "before")
        self.assertEqual(self.text(host, "/cat?name=b.txt"), "MISSING")
        self.assertEqual(self.text(host, "/readlink?name=etc"), "/etc")
        self.assertEqual(self.text(host, "/readlink?name=shadow"), "/etc/shadow")
        self.assertRegex(out, r"what it held before is backup [0-9a-f]{8}")
        self.assertIn("first post", self.sql(host, "SELECT title FROM posts"))
        self.assertIn("ERR", self.sql(host, "SELECT * FROM junk"))
        # The backup's revision: its spec and commit (revision 1's) run again.
        st = self.wok.site_json("blog", "team-a")["status"]
        first_commit = repo.git("rev-list", "--max-parents=0", "HEAD")
        self.assertEqual(st["restoredCommit"], first_commit)
        wait_for(lambda: self.wok.site_json("blog", "team-a")["status"].get("commit", "").startswith(
            first_commit[:7]) or None, 60, what="revision of the backup's commit")

        # Into a new site while the original still holds its hosts: --host is needed.
        r = self.wok.cli("backup", "restore", "site", "blog", "--to", "copy", "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--host", r.stderr)
        out = self.wok.cli("backup", "restore", "site", "blog", "--backup", first, "--to", "copy",
                           "--host", "copy.team-a.localhost", "-n", "team-a").stdout
        self.assertIn("site.wok.dev/copy created from backup " + first, out)
        self.wok.wait_revision("copy", "team-a", 1, timeout=120)
        copy = "copy.team-a.localhost"
        self.assertIn("first post", self.sql(copy, "SELECT title FROM posts"))
        self.assertEqual(self.text(copy, "/cat?name=a.txt"), "before")
        st = self.wok.site_json("copy", "team-a")["status"]
        self.assertEqual(st["clonedFrom"], {"project": "team-a", "site": "blog", "backup": first})
        # Its own database and volume: a change there is not the original's.
        self.sql(copy, "INSERT INTO posts VALUES ('only in the copy')")
        self.assertEqual(self.text(copy, "/put?name=a.txt&text=copy"), "OK")
        self.assertNotIn("only in the copy", self.sql(host, "SELECT title FROM posts"))
        self.assertEqual(self.text(host, "/cat?name=a.txt"), "before")
        self.assertNotEqual(self.env(copy)["DB_PASSWORD"], self.env(host)["DB_PASSWORD"])

        # Another project's admin may not clone team-a's site into team-b.
        clone = db_site("steal", "team-b", repo.url, "mariadb",
                        extra=STORAGE + "  cloneFrom: {project: team-a, site: blog}\n")
        r = self.wok.apply(clone, token=self.bob, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.cloneFrom.project", r.stderr)
        self.assertIn('may not clone from project "team-a"', r.stderr)

        # The site deleted: its backups stay, listed as a deleted site's, and
        # bring it back under its old hosts.
        self.sql(host, "INSERT INTO posts VALUES ('second post')")
        last = self.backup("blog")
        self.wok.cli("delete", "site", "blog", "-n", "team-a")
        wait_for(lambda: self.wok.get(host, "/")[0] == 404 or None, 60, what="blog gone")
        out = self.wok.cli("backup", "list", "-n", "team-a").stdout
        self.assertIn("blog (deleted)", out)
        self.assertIn(last, out)
        self.assertIn(first, out)
        r = self.wok.cli("backup", "restore", "site", "blog", "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--to NEW", r.stderr)
        self.wok.cli("backup", "restore", "site", "blog", "--to", "blog", "-n", "team-a")
        self.wok.wait_revision("blog", "team-a", 1, timeout=120)
        rows = self.sql(host, "SELECT title FROM posts")
        self.assertIn("first post", rows)
        self.assertIn("second post", rows)
        self.assertEqual(self.text(host, "/cat?name=a.txt"), "before")

    def test_a_restore_cut_short_by_kill9_is_finished_at_the_next_start(self):
        host = "blog.team-a.localhost"
        repo = self.repo("team-a-blog", {"app.py": APP, "v.txt": "1"})
        self.wok.apply(db_site("blog", "team-a", repo.url, "mariadb",
                               extra=STORAGE.replace("16Mi", "64Mi")))
        self.wok.wait_revision("blog", "team-a", 1, timeout=120)
        self.sql(host, "CREATE TABLE posts (title VARCHAR(100))")
        self.sql(host, "INSERT INTO posts VALUES ('first post')")
        self.assertEqual(self.text(host, "/put?name=a.txt&text=before"), "OK")
        # Many files: the copy into the volume takes a while.
        self.assertEqual(self.text(host, "/many?n=3000"), "OK")
        first = self.backup("blog")
        # A developer cannot plant the record of a restore to be finished
        # at the next start: status is the platform's.
        planted = db_site("blog", "team-a", repo.url, "mariadb",
                          extra=STORAGE.replace("16Mi", "64Mi")) + (
            f"status:\n  restoring: {{backup: {first}, preRestoreBackup: null}}\n")
        self.wok.apply(planted, token=self.alice)  # accepted: its status dropped
        self.assertNotIn("restoring", self.wok.site_json("blog", "team-a")["status"])
        self.sql(host, "DROP TABLE posts")
        self.assertEqual(self.text(host, "/put?name=a.txt&text=after"), "OK")
        self.assertEqual(self.text(host, "/put?name=b.txt&text=later"), "OK")
        # A member's link named as wok's leftovers: removed, never followed.
        self.assertEqual(self.text(host, "/link?name=.wok-before-restore-evil&target=/etc/ssl"), "OK")
        volume = glob.glob(os.path.join(self.wok.data, "sites", "team-a", "blog", "*", "storage",
                                        "files"))
        self.assertEqual(len(volume), 1, volume)
        restore = subprocess.Popen(
            [WOK, "backup", "restore", "site", "blog", "--backup", first, "-n", "team-a"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.wok.env, text=True)
        # wok is killed while the volume's old files are set aside.
        aside = wait_for(lambda: [p for p in glob.glob(os.path.join(volume[0], ".wok-before-restore-*"))
                                  if not p.endswith("-evil")],
                         120, interval=0.002, what="the restore's copy")
        self.wok.kill9()
        out, err = restore.communicate(30)
        self.assertNotEqual(restore.returncode, 0, out)
        self.wok.close()

        again = Wok(self.root, data=self.wok.data).start()
        self.wok = again
        # Never served half restored: 503 until the restore is finished.
        status, _, body = again.get(host, "/cat?name=a.txt")
        self.assertIn(status, (503, 200), body)
        if status == 503:
            self.assertIn(b"being restored from a backup", body)
        wait_for(lambda: (again.get(host, "/cat?name=a.txt")[0] == 200
                          and not again.site_json("blog", "team-a")["status"].get("restoring")) or None,
                 180, what="the restore finished after the restart")
        self.assertEqual(self.text(host, "/cat?name=a.txt"), "before")
        self.assertEqual(self.text(host, "/cat?name=b.txt"), "MISSING")
        self.assertEqual(self.text(host, "/count"), "3001")  # a.txt and the many
        self.assertIn("first post", self.sql(host, "SELECT title FROM posts"))
        # What was set aside went: the pre-restore backup holds it.
        self.assertEqual(glob.glob(os.path.join(volume[0], ".wok-before-restore-*")), [], aside)
        self.assertTrue(os.path.isdir("/etc/ssl/certs"))
        self.assertTrue(os.listdir("/etc/ssl/certs"))
        listed = again.cli("backup", "list", "site", "blog", "-n", "team-a").stdout
        self.assertIn("pre-restore", listed)
        events = again.cli("get", "events", "-n", "team-a").stdout
        self.assertIn("cut short by wok's end, is finished", events)

    def test_a_clone_cut_short_by_kill9_is_seeded_again(self):
        host = "blog.team-a.localhost"
        repo = self.repo("team-a-blog", {"app.py": APP, "v.txt": "1"})
        big = STORAGE.replace("16Mi", "64Mi")
        self.wok.apply(db_site("blog", "team-a", repo.url, "mariadb", extra=big))
        self.wok.wait_revision("blog", "team-a", 1, timeout=120)
        self.sql(host, "CREATE TABLE posts (title VARCHAR(100))")
        self.sql(host, "INSERT INTO posts VALUES ('first post')")
        self.assertEqual(self.text(host, "/many?n=3000"), "OK")
        self.backup("blog")
        self.wok.apply(db_site("copy", "team-a", repo.url, "mariadb",
                               extra=big + "  cloneFrom: {site: blog}\n").replace(
                                   "blog.team-a.localhost", "copy.team-a.localhost"))
        # wok is killed while the clone's volume is being filled.
        volume = wait_for(lambda: glob.glob(os.path.join(self.wok.data, "sites", "team-a", "copy", "*",
                                                         "storage", "files", ".wok-before-restore-*")),
                          120, interval=0.002, what="the clone's copy")
        self.wok.kill9()
        self.wok.close()
        again = Wok(self.root, data=self.wok.data).start()
        self.wok = again
        again.wait_revision("copy", "team-a", 1, timeout=180, at_least=True)
        copy = "copy.team-a.localhost"
        wait_for(lambda: again.get(copy, "/count")[0] == 200 or None, 120, what="the clone serving")
        self.assertEqual(self.text(copy, "/count"), "3000")
        self.assertIn("first post", self.sql(copy, "SELECT title FROM posts"))
        files = os.path.dirname(volume[0])
        self.assertEqual(glob.glob(os.path.join(files, ".wok-before-restore-*")), [])

    def test_a_backup_deleted_by_a_project_admin_is_gone(self):
        from wokharness import project_yaml
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"],
                                    [("alice", "developer"), ("vera", "viewer"), ("ada", "admin")]))
        ada = self.wok.cli("token", "create", "ada").stdout.strip()
        self.deploy_blog_with_a_post("first post", "personal-data")
        first = self.backup("blog")
        second = self.backup("blog")

        def delete(backup, token=None, check=False, site="blog"):
            return self.wok.cli("backup", "delete", "site", site, "--backup", backup, "-n", "team-a",
                                token=token, check=check)
        # What survives mistakes is not every member's to delete.
        for token, why in ((self.alice, 'user "alice" may not delete backups of project "team-a" '
                                        '(its admins only)'),
                           (self.vera, 'user "vera" may only read project "team-a"'),
                           (self.bob, 'has no access to project "team-a"')):
            r = delete(first, token)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(why, r.stderr)
        for backup, why in (("latest", 'name the backup to delete by its id'),
                            ("0123abcd", 'has no backup "0123abcd"'),
                            ("../" + first, "")):
            r = delete(backup, ada)
            self.assertNotEqual(r.returncode, 0, backup)
            self.assertIn(why, r.stderr)
        self.assertIn(first, self.wok.cli("backup", "list", "site", "blog", "-n", "team-a").stdout)
        # With --kubeconfig it goes to the cluster (none here: its kubeconfig is said missing).
        r = self.wok.cli("backup", "delete", "site", "blog", "--backup", first, "-n", "team-a",
                         "--kubeconfig", os.path.join(self.root, "kubeconfig"), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("kubeconfig", r.stderr)
        self.assertNotIn("deleted", r.stdout)

        # The cluster's deletion Job (`wok backup-job forget`) on the same
        # repository: the id only, then gone from wok up's list too.
        third = self.backup("blog")
        repos = glob.glob(os.path.join(self.wok.data, "backups", "repos", "team-a.*"))
        key = os.path.join(self.wok.data, "backups", "keys", os.path.basename(repos[0]))
        env = dict(os.environ, RESTIC_REPOSITORY=repos[0], RESTIC_PASSWORD_FILE=key)

        def forget(backup, site="blog"):
            return subprocess.run([WOK, "backup-job", "forget", "--project", "team-a", "--site", site,
                                   "--backup", backup], env=env, capture_output=True, text=True, timeout=300)
        for backup, site, why in (("latest", "blog", '--backup "latest" is not a backup id'),
                                  ("0123abcd", "blog", 'has no backup "0123abcd"'),
                                  (third, "../blog", '--site "../blog" is not a DNS label')):
            r = forget(backup, site)
            self.assertEqual(r.returncode, 1, (backup, r.stdout))
            self.assertIn(why, r.stderr)
        r = forget(third)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["deleted"]["id"], third)
        listed = self.wok.cli("backup", "list", "site", "blog", "-n", "team-a").stdout
        self.assertNotIn(third, listed)
        self.assertIn(first, listed)

        out = delete(first, ada, check=True).stdout
        self.assertEqual(out, f"backup {first} of site.wok.dev/blog deleted\n")
        listed = self.wok.cli("backup", "list", "site", "blog", "-n", "team-a").stdout
        self.assertNotIn(first, listed)
        self.assertIn(second, listed)
        r = self.wok.cli("backup", "restore", "site", "blog", "--backup", first, "-n", "team-a",
                         check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f'has no backup "{first}"', r.stderr)
        self.assertIn(first, self.wok.cli("audit", "--user", "ada").stdout)  # who deleted it
        # A deleted site's backup too.
        self.wok.cli("delete", "site", "blog", "-n", "team-a")
        wait_for(lambda: self.wok.get("blog.team-a.localhost", "/")[0] == 404 or None, 60,
                 what="blog gone")
        delete(second, ada, check=True)
        r = self.wok.cli("backup", "list", "-n", "team-a")
        self.assertNotIn(second, r.stdout + r.stderr)

    def test_a_restore_cannot_bring_another_projects_clone_source(self):
        # The platform admin (a member of both, in effect) clones team-b's
        # site into team-a; its backup's spec names team-b.
        repo = self.deploy_blog("secret", "team-b")
        self.sql("secret.team-b.localhost", "CREATE TABLE s (v TEXT)")
        self.sql("secret.team-b.localhost", "INSERT INTO s VALUES ('team-b only')")
        self.backup("secret", "team-b")
        self.wok.apply(db_site("copy", "team-a", repo.url, "mariadb",
                               extra=STORAGE + "  cloneFrom: {project: team-b, site: secret}\n"))
        self.wok.wait_revision("copy", "team-a", 1, timeout=120)
        old = self.backup("copy")
        # A developer of team-a only: the site made again, then that backup
        # restored in place would clone team-b's data anew. Refused by field.
        self.wok.cli("delete", "site", "copy", "-n", "team-a", token=self.alice)
        wait_for(lambda: self.wok.get("copy.team-a.localhost", "/")[0] == 404 or None, 60,
                 what="copy gone")
        self.wok.apply(db_site("copy", "team-a", repo.url, "mariadb", extra=STORAGE), token=self.alice)
        self.wok.wait_revision("copy", "team-a", 1, timeout=120)
        r = self.wok.cli("backup", "restore", "site", "copy", "--backup", old, "-n", "team-a",
                         token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.cloneFrom.project", r.stderr)
        self.assertIn('may not clone from project "team-b"', r.stderr)
        self.assertIn("ERR", self.sql("copy.team-a.localhost", "SELECT * FROM s"))
        # Without --backup, latest is the site's own (it has none): the
        # earlier site's must be named.
        r = self.wok.cli("backup", "restore", "site", "copy", "-n", "team-a", token=self.alice,
                         check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no backup of its own yet", r.stderr)

        # A sparse file of 1 GiB in a 16Mi volume backs up to nothing; it is
        # never unpacked onto the host's disk.
        host = "copy.team-a.localhost"
        self.assertEqual(self.text(host, "/sparse?name=big&size=" + str(1 << 30)), "OK")
        sparse = self.backup("copy", token=self.alice)
        r = self.wok.cli("backup", "restore", "site", "copy", "--backup", sparse, "-n", "team-a",
                         token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("MiB, more than the site's volumes and database hold", r.stderr)
        self.assertEqual(self.wok.get(host, "/ls")[0], 200)  # and it still runs

    def test_bad_specs(self):
        repo = self.repo("bad", {"app.py": APP})
        for extra, field, why in (
                ("  backup: {schedule: '61 * * * *'}\n", "spec.backup.schedule", "out of range"),
                ("  backup: {schedule: '@daily', keep: {daily: -1}}\n", "spec.backup.keep.daily",
                 "from 0 to 1000"),
                ("  backup: {keep: {daily: 1}}\n", "spec.backup.schedule", "required"),
                ("  cloneFrom: {site: ../x}\n", "spec.cloneFrom.site", "not a site name"),
                ("  cloneFrom: {site: blog, backup: zzz}\n", "spec.cloneFrom.backup", "not a backup id"),
        ):
            r = self.wok.apply(db_site("bad", "team-a", repo.url, "mariadb", extra=extra), check=False)
            self.assertNotEqual(r.returncode, 0, extra)
            self.assertIn(field, r.stderr, extra)
            self.assertIn(why, r.stderr, extra)
        # A clone of a backup that does not exist fails its revision, saying so.
        self.wok.apply(db_site("orphan", "team-a", repo.url, "mariadb",
                               extra="  cloneFrom: {site: nosuch}\n"))

        def failed():
            st = self.wok.site_json("orphan", "team-a").get("status", {})
            return st if "cloneFrom" in (st.get("lastError") or "") else None
        st = wait_for(failed, 120, what="the clone's failure")
        self.assertIn('site "nosuch" of project "team-a" has no backup', st["lastError"])


# restic as wok runs it, but a restore waits while HELD/hold exists (each
# waiting one leaves HELD/waiting.PID): a clone's seeding that takes as
# long as the test wants.
HELD = tempfile.mkdtemp(prefix="wok-restic-held-")
with open(os.path.join(HELD, "restic"), "w") as f:
    f.write(f"""#!/bin/sh
if [ "$1" = restore ] && [ -e {HELD}/hold ]; then
  touch {HELD}/waiting.$$
  while [ -e {HELD}/hold ]; do sleep 0.05; done
fi
exec {shutil.which("restic") or "restic"} "$@"
""")
os.chmod(os.path.join(HELD, "restic"), 0o755)


@unittest.skipIf(SKIP, SKIP)
class CloneOffTheWorkersTest(BackupCase):
    """A clone's data goes in off the controller's workers (two on wok up):
    two clones whose backups take as long as the test wants do not stop
    another site from deploying meanwhile."""
    wok_env = {"PATH": HELD + ":" + os.environ.get("PATH", "")}

    def tearDown(self):
        for name in os.listdir(HELD):
            if name != "restic":
                os.remove(os.path.join(HELD, name))
        super().tearDown()

    def test_two_long_clones_hold_no_worker(self):
        repo = self.deploy_blog_with_a_post("first post", "before")
        self.backup("blog")
        open(os.path.join(HELD, "hold"), "w").close()
        for copy in ("copy1", "copy2"):
            self.wok.apply(db_site(copy, "team-a", repo.url, "mariadb",
                                   extra=STORAGE + "  cloneFrom: {site: blog}\n").replace(
                                       "blog.team-a.localhost", copy + ".team-a.localhost"))
        wait_for(lambda: len(glob.glob(os.path.join(HELD, "waiting.*"))) >= 2 or None, 120,
                 what="both clones restoring")
        st = self.wok.site_json("copy1", "team-a")["status"]
        self.assertIn("filling the clone from backup latest of team-a/blog", json.dumps(st))
        # Another site deploys while both clones are being filled.
        other = self.repo("team-a-other", {"app.py": APP, "v.txt": "1"})
        self.wok.apply(db_site("other", "team-a", other.url, "mariadb").replace(
            "blog.team-a.localhost", "other.team-a.localhost"))
        self.wok.wait_revision("other", "team-a", 1, timeout=120)
        self.assertEqual(self.text("other.team-a.localhost", "/"), "app")
        for copy in ("copy1", "copy2"):
            self.assertIsNone(self.wok.site_json(copy, "team-a")["status"].get("revision"))
        os.remove(os.path.join(HELD, "hold"))
        for copy in ("copy1", "copy2"):
            self.wok.wait_revision(copy, "team-a", 1, timeout=180)
            host = copy + ".team-a.localhost"
            self.assertIn("first post", self.sql(host, "SELECT title FROM posts"))
            self.assertEqual(self.text(host, "/cat?name=a.txt"), "before")
            self.assertEqual(self.wok.site_json(copy, "team-a")["status"]["clonedFrom"]["site"], "blog")


if __name__ == "__main__":
    unittest.main()

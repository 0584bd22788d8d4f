"""Backups of a PostgreSQL site with a Redis cache (docs/data.md): its
services' data restored in place with its database, and the schedule and
retention (keep: {last: 1}) at work, minute by minute: the project's
spec.backup, the default of its sites that keep data and have no
spec.backup of their own (api::backup_policy, which a site's own overrides:
api_test). Needs root (runc, loop-mounted volumes); CI runs it as root."""
import json
import os
import shutil
import unittest
import urllib.parse

from test_database import APP as DB_APP, DatabaseCase, db_site
from wokharness import project_yaml, restic, wait_for

NEEDS = [b for b in ("runc", "restic", "psql", "redis-server", "redis-cli") if not shutil.which(b)]
if not os.path.exists("/usr/lib/postgresql/15/bin/postgres"):
    NEEDS.append("postgresql-15")
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

# test_database's app, and its cache: /cache?cmd=SET k v.
APP = DB_APP.replace("""        else:
            body = 'app'""", """        elif url.path == '/cache':
            try:
                r = subprocess.run(['redis-cli', '--no-auth-warning', '-h', os.environ['CACHE_HOST'],
                                    '-p', os.environ['CACHE_PORT']] + q['cmd'][0].split(),
                                   capture_output=True, text=True, timeout=5,
                                   env=dict(os.environ, REDISCLI_AUTH=os.environ['CACHE_PASSWORD']))
                body = r.stdout + r.stderr
            except subprocess.TimeoutExpired:
                body = 'no answer from the cache in 5 s'
        else:
            body = 'app'""")
assert "/cache" in APP

EXTRA = """  services: [{name: cache, engine: redis}]
"""
PROJECT_BACKUP = """  backup: {schedule: "* * * * *", keep: {last: 1}}
"""


@unittest.skipIf(SKIP, SKIP)
class BackupScheduleTest(DatabaseCase):
    def cache(self, host, cmd):
        status, _, body = self.wok.get(host, "/cache?" + urllib.parse.urlencode({"cmd": cmd}))
        self.assertEqual(status, 200, body)
        return body.decode().strip()

    def cache_back(self, host, value):
        """After a restore, while the site and its cache start again: the
        value once the cache answers with it, else None (a 503 while it is
        held, an app or a cache that does not answer yet)."""
        try:
            status, _, body = self.wok.get(host, "/cache?" + urllib.parse.urlencode({"cmd": "GET k"}))
        except OSError:
            return None
        return value if status == 200 and body.decode().strip() == value else None

    def test_services_restored_and_the_schedule_keeps_the_last(self):
        host = "shop.team-a.localhost"
        repo = self.repo("shop", {"app.py": APP})
        self.wok.apply(db_site("shop", "team-a", repo.url, "postgresql", extra=EXTRA))
        self.wok.wait_revision("shop", "team-a", 1, timeout=120)
        self.assertIn("OK", self.sql(host, "CREATE TABLE orders (item TEXT)"))
        self.sql(host, "INSERT INTO orders VALUES ('one')")
        self.assertEqual(self.cache(host, "SET k one"), "OK")
        out = self.wok.cli("backup", "create", "site", "shop", "-n", "team-a").stdout
        manual = out.split()[1]
        # The running cache was backed up as a snapshot (one point in
        # time, redis-cli --rdb), as on a cluster, not as its files.
        manifest = json.loads(restic(self.wok, "dump", manual, "/backup.json"))
        self.assertEqual(manifest["services"], [{"name": "cache", "engine": "redis", "snapshot": "dump.rdb"}])
        listed = [line for line in restic(self.wok, "ls", manual, "/services/cache").splitlines()
                  if line.startswith("/")]
        self.assertEqual(sorted(listed), ["/services/cache", "/services/cache/dump.rdb"], listed)
        self.assertTrue(restic(self.wok, "dump", manual, "/services/cache/dump.rdb", text=False).startswith(b"REDIS"))

        self.sql(host, "INSERT INTO orders VALUES ('two')")
        self.sql(host, "CREATE TABLE later (x INT)")
        self.assertEqual(self.cache(host, "SET k two"), "OK")
        out = self.wok.cli("backup", "restore", "site", "shop", "--backup", manual, "-n", "team-a").stdout
        self.assertIn("service cache, database", out)
        rows = self.sql(host, "SELECT item FROM orders")
        self.assertIn("one", rows)
        self.assertNotIn("two", rows)
        self.assertIn("ERR", self.sql(host, "SELECT * FROM later"))
        # Redis came back with its data as the backup holds it.
        wait_for(lambda: self.cache_back(host, "one"), 60, what="the cache restored")

        # The project's schedule: a backup every minute, only the last
        # scheduled one kept.
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"],
                                    [("alice", "developer"), ("vera", "viewer")]) + PROJECT_BACKUP)
        def last():
            return (self.wok.site_json("shop", "team-a").get("status", {}).get("backup") or {}).get("last")
        first = wait_for(last, 100, what="a scheduled backup")
        second = wait_for(lambda: (last() if last() != first else None), 100,
                          what="a second scheduled backup")
        st = self.wok.site_json("shop", "team-a")["status"]["backup"]
        self.assertIsNone(st.get("lastError"))
        out = self.wok.cli("backup", "list", "site", "shop", "-n", "team-a").stdout
        self.assertIn(second, out)
        self.assertNotIn(first, out)  # forgotten: keep last 1
        self.assertIn(manual, out)    # made by hand: not the schedule's to forget
        self.assertEqual(sum(1 for line in out.splitlines() if "scheduled" in line), 1, out)
        described = self.wok.cli("describe", "site", "shop", "-n", "team-a").stdout
        self.assertIn(second, described)
        self.assertIn('schedule "* * * * *" (the project\'s)', described)


if __name__ == "__main__":
    unittest.main()

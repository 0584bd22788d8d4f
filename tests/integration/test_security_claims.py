"""Issue 12: what a project owns, staged against a real `wok up` (real runc,
real php-fpm): a sandbox uid of its own even when its name hashes like
another's; only the hosts its patterns allow today; its quota at admission. Needs root; CI runs it as root."""
import json
import os
import shutil
import sqlite3
import subprocess
import unittest

from wokharness import WokTestCase, project_yaml, site_yaml, wait_for

NEEDS = [b for b in ("runc", "php-fpm8.2") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)


def old_uid(project):
    """The uid wok derived from a project's name before the store handed them out."""
    h = 1469598103934665603
    for c in project.encode():
        h = ((h ^ c) * 1099511628211) % 2**64
    return 100000 + h % 900000


def colliding_names():
    seen = {}
    i = 0
    while True:
        name = f"team-{i}"
        if old_uid(name) in seen:
            return seen[old_uid(name)], name
        seen[old_uid(name)] = name
        i += 1


def php_site(name, project, url, hosts=None, extra=""):
    hosts = hosts or [f"{name}.{project}.localhost"]
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: php
  hosts: [{", ".join(hosts)}]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  build: {{command: [sh, -c, "id -u > public/build-uid.txt"]}}
  php: {{docroot: public}}
  resources: {{memory: 64Mi, cpu: 250m}}
{extra}"""


@unittest.skipIf(SKIP, SKIP)
class ClaimsTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "20000"
        super().setUp()

    def body(self, host, path="/"):
        status, _, body = self.wok.get(host, path)
        return status, body.decode(errors="replace")

    def wait_body(self, host, path, text, timeout=90):
        return wait_for(lambda: (lambda r: r if text in r[1] else None)(self.body(host, path)), timeout,
                        interval=0.2, what=f"{text!r} at {host}{path}")

    def instance_uid(self, container):
        out = subprocess.run(["runc", "--root", os.path.join(self.wok.data, "runtime", "runc"), "state", container],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(f"/proc/{json.loads(out.stdout)['pid']}/status") as f:
            uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
        self.assertEqual(len(set(uids)), 1, uids)  # real, effective, saved, fs
        return int(uids[0])

    def store_uid(self, project):
        db = sqlite3.connect(f"file:{os.path.join(self.wok.data, 'wok.db')}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT uid FROM project_uids WHERE project = ?", (project,)).fetchone()
        finally:
            db.close()
        return row[0] if row else None

    def test_projects_whose_names_hash_alike_run_as_different_uids(self):
        # Before: both ran as old_uid(a), so each could read and write the
        # other's files (storage, build caches, checkouts) on the host.
        a, b = colliding_names()
        self.assertEqual(old_uid(a), old_uid(b))
        self.wok.apply(project_yaml(a, [f"*.{a}.localhost"]) + "---\n" + project_yaml(b, [f"*.{b}.localhost"]))
        repo = self.repo("www", {"public/index.php": "<?php echo 'php ok';"})
        self.wok.apply(php_site("www", a, repo.url) + "---\n" + php_site("www", b, repo.url))
        uids = {}
        for project in (a, b):
            host = f"www.{project}.localhost"
            self.wait_body(host, "/", "php ok")
            build_uid = int(self.wait_body(host, "/build-uid.txt", "\n")[1])
            run_uid = self.instance_uid(f"{project}.www.php.r1.0")
            self.assertEqual(build_uid, run_uid, project)
            self.assertEqual(run_uid, self.store_uid(project), project)
            self.assertGreaterEqual(run_uid, 100000)
            uids[project] = run_uid
        self.assertNotEqual(uids[a], uids[b])


    def test_shrinking_a_projects_hosts_stops_routing_its_sites_lost_hosts(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost", "*.old.localhost"], [("alice", "developer")]))
        alice = self.wok.cli("token", "create", "alice").stdout.strip()
        repo = self.repo("www", {"index.html": "team-a home"})
        hosts = ["www.team-a.localhost", "www.old.localhost"]
        self.wok.apply(site_yaml("www", "team-a", hosts, repo.url), token=alice)
        self.wok.wait_revision("www", "team-a", 1)
        for host in hosts:
            self.wait_body(host, "/", "team-a home")

        # The admin takes *.old.localhost away (it goes to another team).
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        status, text = wait_for(lambda: (lambda r: r if r[0] == 404 else None)(self.body("www.old.localhost")), 30,
                                interval=0.2, what="www.old.localhost to stop being served")
        self.assertIn("no site", text)
        self.assertEqual(self.body("www.team-a.localhost"), (200, "team-a home"))
        why = "host www.old.localhost is no longer allowed by project team-a's hosts (*.team-a.localhost)"

        def says_why():
            s = self.wok.site_json("www", "team-a").get("status", {})
            return s if any(why in c.get("message", "") for c in s.get("conditions", [])) else None
        status_now = wait_for(says_why, 30, interval=0.2, what="the status to say why")
        self.assertNotIn("http://www.old.localhost", " ".join(status_now.get("urls", [])))
        # The member cannot take it back: a change keeping the host is refused.
        r = self.wok.apply(site_yaml("www", "team-a", hosts, repo.url, ref="other"), token=alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("may claim", r.stderr)
        self.assertEqual(self.body("www.old.localhost")[0], 404)
        # Another project the admin gave it to can claim it: the host was released.
        self.wok.apply(project_yaml("team-b", ["*.old.localhost"]))
        other = self.repo("other", {"index.html": "team-b home"})
        self.wok.apply(site_yaml("www", "team-b", ["www.old.localhost"], other.url))
        self.wait_body("www.old.localhost", "/", "team-b home")
        self.wok.cli("delete", "site", "www", "-n", "team-b")
        wait_for(lambda: self.body("www.old.localhost")[0] == 404, 30, interval=0.2, what="team-b's site gone")

        # Given back: served again, the condition gone.
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost", "*.old.localhost"], [("alice", "developer")]))
        self.wait_body("www.old.localhost", "/", "team-a home", timeout=30)
        wait_for(lambda: not says_why(), 30, interval=0.2, what="the condition to clear")
        self.assertEqual(self.body("www.team-a.localhost"), (200, "team-a home"))

    def test_a_projects_quota_is_enforced_at_admission(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]) +
                       "  quota: {sites: 2, memory: 256Mi, cpu: 500m}\n")
        alice = self.wok.cli("token", "create", "alice").stdout.strip()
        repo = self.repo("www", {"public/index.php": "<?php echo 'php ok';"})
        self.wok.apply(php_site("one", "team-a", repo.url), token=alice)  # 64Mi, 250m
        big = php_site("two", "team-a", repo.url).replace("memory: 64Mi", "memory: 256Mi")
        r = self.wok.apply(big, token=alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("project team-a's quota of memory is 256Mi; its sites would use 320Mi", r.stderr)
        r = self.wok.apply(php_site("two", "team-a", repo.url).replace("cpu: 250m", "cpu: 1000m"), token=alice, check=False)
        self.assertIn("project team-a's quota of cpu is 500m; its sites would use 1250m", r.stderr)
        # Growing a site in place is refused the same way; nothing changed.
        r = self.wok.apply(php_site("one", "team-a", repo.url).replace("memory: 64Mi", "memory: 512Mi"), token=alice,
                           check=False)
        self.assertIn("quota of memory is 256Mi; its sites would use 512Mi", r.stderr)
        self.assertEqual(self.wok.site_json("one", "team-a")["spec"]["resources"]["memory"], "64Mi")
        self.wok.apply(php_site("two", "team-a", repo.url), token=alice)
        r = self.wok.apply(site_yaml("three", "team-a", ["three.team-a.localhost"], repo.url), token=alice, check=False)
        self.assertIn("project team-a's quota of sites is 2; it would have 3", r.stderr)
        names = [s["metadata"]["name"] for s in json.loads(self.wok.cli("get", "sites", "-n", "team-a", "-o", "json").stdout)["items"]]
        self.assertEqual(sorted(names), ["one", "two"])

if __name__ == "__main__":
    unittest.main(verbosity=2)

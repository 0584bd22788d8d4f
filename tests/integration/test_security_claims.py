"""Issue 12: what a project owns, staged against a real `wok up` (real runc,
real php-fpm): a sandbox uid of its own even when its name hashes like
another's. Needs root; CI runs it as root."""
import json
import os
import shutil
import sqlite3
import subprocess
import unittest

from wokharness import WokTestCase, project_yaml, wait_for

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


if __name__ == "__main__":
    unittest.main(verbosity=2)

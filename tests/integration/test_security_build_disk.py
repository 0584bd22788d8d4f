"""Issue 12: a build cannot fill the host's disk. The attack, staged with a
member's token against a real `wok up --max-build-disk 32Mi` (real runc): a
static site's build.command writes 200 MiB into its checkout (/src), then
into its cache ($HOME, /cache). A site's builds write on their own ext4 image
of the admin's size, loop-mounted only while a build runs: the write stops
with ENOSPC, the build fails saying so, the host's disk holds at most the
bound, nothing stays mounted, and the site's next build publishes. Needs root
(loop devices, mounts); CI runs it as root."""
import json
import os
import shutil
import subprocess
import unittest

from wokharness import WOK, Wok, WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "mkfs.ext4", "resize2fs", "dd")
         if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)
MiB = 1 << 20
BOUND = 32 * MiB


def site(url, command, output=None, name="fill", project="team-a"):
    out = f", output: {output}" if output else ""
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: static
  hosts: [{name}.{project}.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  build: {{command: [sh, -c, {json.dumps(command)}]{out}, timeout: 2m}}
"""


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == path or p.startswith(path + "/")]


def disk_bytes(path):
    """Bytes the host's disk really holds under `path` (sparse files count what is written)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


@unittest.skipIf(SKIP, SKIP)
class BuildDiskTest(WokTestCase):
    wok_args = ("--max-build-disk", "32Mi")

    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], members=[("alice", "developer")]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.repo_ = self.repo("fill", {"README": "a site\n"})
        self.sites = os.path.join(self.wok.data, "sites")

    def status(self):
        return self.wok.site_json("fill", "team-a").get("status", {})

    def fail_with(self, command, revision):
        self.wok.apply(site(self.repo_.url, command), token=self.alice)

        def failed():
            s = self.status()
            return s if f"revision {revision} failed" in (s.get("lastError") or "") else None
        s = wait_for(failed, 120, interval=0.3, what=f"revision {revision} to fail")
        self.assertIn("the build wrote more than its 32Mi of disk", s["lastError"])
        # The build's disk is unmounted once it is over, its checkout gone.
        wait_for(lambda: not mounts_under(self.sites), 10, interval=0.2, what="the build disk to be unmounted")
        self.assertLessEqual(disk_bytes(self.wok.data), BOUND + 4 * MiB,
                             "the host's disk holds more than the build's bound")
        leftovers = [d for _, dirs, _ in os.walk(self.sites) for d in dirs if d.startswith("work-")]
        self.assertEqual(leftovers, [])

    def test_a_build_that_writes_past_its_disk_fails_and_the_next_one_publishes(self):
        # Into its checkout, then into its cache: ENOSPC, dd fails, the build too.
        self.fail_with("dd if=/dev/zero of=/src/big bs=1M count=200", 1)
        self.fail_with('dd if=/dev/zero of="$HOME/big" bs=1M count=200 && test "$HOME" = /cache', 2)
        # Another team's build has its own disk, untouched by team-a's.
        self.wok.apply(site(self.repo_.url, "mkdir -p out && echo other > out/index.html", output="out",
                            name="other", project="team-b"))
        self.wok.wait_revision("other", "team-b", 1, timeout=120)
        self.assertEqual(self.wok.get("other.team-b.localhost")[2].strip(), b"other")
        # A normal build of the same site publishes: the full cache was emptied.
        self.wok.apply(site(self.repo_.url, "mkdir -p out && echo built > out/index.html && "
                            "echo cached > $HOME/kept", output="out"), token=self.alice)
        self.wok.wait_revision("fill", "team-a", 3, timeout=120)
        status, _, body = self.wok.get("fill.team-a.localhost")
        self.assertEqual((status, body.strip()), (200, b"built"))
        self.assertEqual(mounts_under(self.sites), [])
        # The cache is kept for the next build.
        self.wok.apply(site(self.repo_.url, "mkdir -p out && cat $HOME/kept > out/index.html", output="out"),
                       token=self.alice)
        self.wok.wait_revision("fill", "team-a", 4, timeout=120)
        self.assertEqual(self.wok.get("fill.team-a.localhost")[2].strip(), b"cached")

    def test_an_output_that_copies_larger_than_the_disk_is_refused(self):
        # Sparse files and hard links take little in the build's disk but
        # would be written out in full on the host's.
        self.wok.apply(site(self.repo_.url, "mkdir -p out && truncate -s 1G out/sparse && echo x > out/index.html",
                            output="out"), token=self.alice)

        def failed():
            s = self.status()
            return s if "revision 1 failed" in (s.get("lastError") or "") else None
        s = wait_for(failed, 120, interval=0.3, what="revision 1 to fail")
        self.assertIn("takes more than its 32Mi of disk once copied out", s["lastError"])
        self.assertEqual(mounts_under(self.sites), [])
        self.assertLessEqual(disk_bytes(self.wok.data), BOUND + 4 * MiB)

    def test_a_build_cut_short_by_a_stop_or_a_kill_leaves_no_disk_behind(self):
        self.wok.apply(site(self.repo_.url, "echo x > /src/f && sleep 600"), token=self.alice)
        wait_for(lambda: "building" in str(self.status()) and mounts_under(self.sites), 60, interval=0.2,
                 what="the build to run on its disk")
        self.assertEqual(self.wok.stop(), 0)
        self.assertEqual(mounts_under(self.sites), [], "a stopped wok left a build disk mounted")
        self.wok.close()
        # Killed during the retried build: the next wok up closes what is left.
        self.wok = Wok(self.root, data=self.wok.data, args=self.wok_args).start()
        wait_for(lambda: "building" in str(self.status()) and mounts_under(self.sites), 60, interval=0.2,
                 what="the interrupted build to be retried")
        self.wok.kill9()
        self.wok.close()
        self.wok = Wok(self.root, data=self.wok.data, args=self.wok_args).start()
        self.wok.apply(site(self.repo_.url, "mkdir -p out && echo after > out/index.html", output="out"),
                       token=self.alice)
        self.wok.wait_revision("fill", "team-a", 3, timeout=120, at_least=True)
        self.assertEqual(self.wok.get("fill.team-a.localhost")[2].strip(), b"after")
        wait_for(lambda: not mounts_under(self.sites), 10, interval=0.2, what="the build disk to be unmounted")
        leftovers = [d for _, dirs, _ in os.walk(self.sites) for d in dirs if d.startswith("work-")]
        self.assertEqual(leftovers, [])

    def test_a_build_disk_bound_that_is_not_a_quantity_of_16Mi_stops_wok_up(self):
        for bad in ("lots", "1Mi"):
            r = subprocess.run([WOK, "up", "--data", os.path.join(self.root, "other"), "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
                                "--api", "127.0.0.1:0", "--max-build-disk", bad], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn(f'--max-build-disk "{bad}" is not a quantity of at least 16Mi', r.stderr)


if __name__ == "__main__":
    unittest.main()

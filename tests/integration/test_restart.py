"""kill -9 at any moment, then `wok up` again: nothing lost, serving resumes."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WOK, Wok, WokTestCase, project_yaml, site_yaml, wait_for  # noqa: E402


class RestartTest(WokTestCase):
    def test_kill9_during_a_build_and_restart(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        repo = self.repo("www", {"index.html": "v1"})
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url))
        self.wok.wait_revision("www", "team-a", 1)
        # A slow build is in flight when the process is killed. It runs in
        # its sandbox (it cannot touch a file of the host to say so): its
        # container shows it has started.
        runc_root = os.path.join(self.wok.data, "runtime", "runc")

        def builds():
            out = subprocess.run(["runc", "--root", runc_root, "list", "-q"], capture_output=True, text=True)
            return [c for c in out.stdout.split() if c.startswith("build.")]
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url,
                                 build='{command: ["sh", "-c", "sleep 3; mkdir -p o; echo v2 > o/index.html"], output: o}'))
        wait_for(builds, 30, what="build start")
        self.wok.kill9()
        self.wok.close()

        again = Wok(self.root, data=self.wok.data).start()
        self.wok = again
        # The killed build's sandbox does not outlive the restart.
        wait_for(lambda: "build.team-a.www.r2" not in builds(), 60, what="the killed build's container to be deleted")
        # The old revision serves at once, before any fetch or build.
        self.assertEqual(again.get("www.team-a.localhost")[2], b"v1")
        # The interrupted rollout is retried and completes.
        status = wait_for(lambda: (again.site_json("www", "team-a")["status"].get("revision") or 0) >= 3
                          and again.site_json("www", "team-a")["status"], 60, what="rollout after restart")
        self.assertEqual(again.get("www.team-a.localhost")[2].strip(), b"v2")
        history = again.cli("rollout", "history", "site", "www", "-n", "team-a").stdout
        self.assertIn("interrupted", history)
        self.assertEqual(status["observedGeneration"], 2)

    def test_kill9_during_applies_loses_nothing_committed(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        repo = self.repo("www", {"index.html": "x"})
        docs = "---\n".join(site_yaml(f"s{i}", "team-a", [f"s{i}.team-a.localhost"], repo.url) for i in range(30))
        import subprocess
        env = dict(self.wok.env)
        p = subprocess.Popen([WOK, "apply", "-f", "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        p.stdin.write(docs)
        p.stdin.close()
        time.sleep(0.3)
        self.wok.kill9()
        out = p.stdout.read()
        p.wait(30)
        p.stdout.close()
        p.stderr.close()
        self.wok.close()
        created = {line.split()[0].split("/")[1] for line in out.splitlines() if line.endswith("created")}
        again = Wok(self.root, data=self.wok.data).start()
        self.wok = again
        import json
        names = {s["metadata"]["name"] for s in json.loads(again.cli("get", "sites", "-n", "team-a", "-o", "json").stdout)["items"]}
        self.assertTrue(created <= names, f"acknowledged {created - names} lost")
        # Every stored object is whole and gets served (an interrupted rollout is
        # redone). Status may still be the killed process's: wait on the router.
        for n in names:
            again.wait_revision(n, "team-a", 1, at_least=True)
            wait_for(lambda: again.get(f"{n}.team-a.localhost")[2] == b"x", 60, what=f"{n} served")

    def test_a_mirror_damaged_by_a_crash_is_fetched_anew(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        repo = self.repo("www", {"index.html": "v1"})
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url))
        self.wok.wait_revision("www", "team-a", 1)
        uid = self.wok.site_json("www", "team-a")["metadata"]["uid"]
        self.wok.kill9()
        self.wok.close()
        # What a kill -9 in the middle of a fetch leaves: lock files.
        mirror = os.path.join(self.wok.data, "sites", "team-a", "www", uid, "mirror.git")
        for lock in ("refs/remotes/origin/main.lock", "packed-refs.lock", "config.lock"):
            open(os.path.join(mirror, lock), "w").close()
        repo.write({"index.html": "v2"})
        again = Wok(self.root, data=self.wok.data).start()
        self.wok = again
        again.wait_revision("www", "team-a", 2)
        self.assertEqual(again.get("www.team-a.localhost")[2], b"v2")

    def test_sigterm_exits_zero(self):
        self.assertEqual(self.wok.stop(), 0)


class DemoTest(WokTestCase):
    demo = True

    def test_demo_site_serves(self):
        self.wok.wait_revision("www", "demo", 1)
        code, _, body = self.wok.get("www.demo.localhost")
        self.assertEqual(code, 200)
        self.assertIn(b"Hello from wok", body)
        self.assertIn(b"built from commit", self.wok.get("www.demo.localhost", "/build.txt")[2])
        # The client config written by `wok up` works with no flags.
        self.assertIn("www", self.wok.cli("get", "sites").stdout)
        # The demo app (two sandboxed instances) answers, and stops on the
        # SIGTERM of `wok up`'s stop, not on the SIGKILL 10 s later: in its
        # sandbox it is process 1, which ignores signals it has no handler for.
        wait_for(lambda: self.wok.get("app.demo.localhost")[0] == 200, 120, what="the demo app answering")
        self.assertIn(b"Hello from the demo app", self.wok.get("app.demo.localhost")[2])
        self.assertEqual(self.wok.stop(), 0)
        self.assertNotIn("sending SIGKILL", self.wok.logs())


if __name__ == "__main__":
    unittest.main(verbosity=2)

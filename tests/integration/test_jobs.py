"""Cron jobs of app sites (spec.app.jobs) on the embedded platform: real `wok
up`, real runc. Runs are started with `wok job run` (a schedule of minutes is
too slow for a test; the schedule loop has unit tests with a fake clock).
Hostile jobs: one that never ends (with a setsid child) is killed at its
timeout, every process; one of team-a cannot read team-b's files; a flood of
output is kept bounded. Needs root (runc, cgroups)."""
import os
import shutil
import subprocess
import unittest

from test_image_app import build_image
from wokharness import Wok, WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "python3", "umoci") if not shutil.which(b)] + \
    ([] if os.path.exists("/bin/busybox") else ["busybox-static"])
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

APP = """import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'web'
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""


def site(name, project, url, jobs):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: {project}}}
spec:
  mode: app
  hosts: [{name}.{project}.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, env: {{GREETING: hi}}}}
      - {{name: tasks, command: [sh, -c, "exit 1"], replicas: 0, env: {{ROLE: tasks}}}}
    jobs:
{jobs}
  resources: {{memory: 128Mi}}
"""


@unittest.skipIf(SKIP, SKIP)
class JobsTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("vic", "viewer")]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"], [("bob", "admin")]))

    def job(self, site, project, name):
        for j in self.wok.site_json(site, project)["status"].get("jobs", []):
            if j["name"] == name:
                return j
        return None

    def run_job(self, site, project, name, timeout=60):
        """`wok job run`, then waits until that run is over; its status entry."""
        before = (self.job(site, project, name) or {}).get("lastRun", 0)
        r = self.wok.cli("job", "run", site, name, "-n", project)
        self.assertIn(f"job {name} of site.wok.dev/{site} requested", r.stdout)

        def done():
            j = self.job(site, project, name)
            runs = [x for x in (j or {}).get("runs", []) if x["run"] > before]
            return runs[-1] if runs and runs[-1]["result"] != "Running" else None
        return wait_for(done, timeout, interval=0.2, what=f"a run of job {name}")

    def test_a_job_runs_in_its_components_sandbox_with_the_live_revision(self):
        repo = self.repo("app", {"app.py": APP, "version.txt": "v1\n"})
        jobs = """      - {name: hello, schedule: "@yearly", command: [sh, -c, "echo hello $WOK_SITE $GREETING; cat version.txt; id -u; echo err >&2"]}
      - {name: failing, schedule: "0 3 * * *", command: [sh, -c, "echo bad; exit 7"], failedJobsHistoryLimit: 2}
      - {name: task, schedule: "@weekly", component: tasks, command: [sh, -c, "echo role=$ROLE"]}"""
        self.wok.apply(site("app", "team-a", repo.url, jobs))
        self.wok.wait_revision("app", "team-a", 1)
        run = self.run_job("app", "team-a", "hello")
        self.assertEqual((run["result"], run["exitCode"], run["reason"]), ("Succeeded", 0, "Manual"))
        r = self.wok.cli("logs", "site", "app", "--job", "hello", "-n", "team-a")
        lines = r.stdout.splitlines()
        self.assertIn("hello app hi", lines)
        self.assertIn("v1", lines)
        self.assertIn("err", lines)
        uid = [line for line in lines if line.isdigit()]
        self.assertTrue(uid and uid[0] != "0", f"the job ran as root: {lines}")
        self.assertIn("Succeeded, exit code 0", r.stderr)
        # A component kept at 0 replicas is a job's template: its env, no instance.
        run = self.run_job("app", "team-a", "task")
        self.assertEqual(run["result"], "Succeeded")
        self.assertIn("role=tasks", self.wok.cli("logs", "site", "app", "--job", "task", "-n", "team-a").stdout)
        # Status and describe: the schedule, the next time, the last run.
        j = self.job("app", "team-a", "failing")
        self.assertEqual(j["schedule"], "0 3 * * *")
        self.assertTrue(j["nextScheduleTime"].endswith("T03:00:00Z"), j)
        for _ in range(3):
            run = self.run_job("app", "team-a", "failing")
            self.assertEqual((run["result"], run["exitCode"]), ("Failed", 7))
        self.assertEqual([x["run"] for x in self.job("app", "team-a", "failing")["runs"]], [2, 3])
        d = self.wok.cli("describe", "site", "app", "-n", "team-a").stdout
        self.assertIn("Jobs:", d)
        self.assertIn("#3 Failed (exit 7)", d)
        self.assertIn("@yearly", d)
        # A new revision: the job runs its files.
        repo.write({"version.txt": "v2\n"})
        self.wok.cli("refresh", "site", "app", "-n", "team-a")
        self.wok.wait_revision("app", "team-a", 2)
        self.run_job("app", "team-a", "hello")
        r = self.wok.cli("logs", "site", "app", "--job", "hello", "-n", "team-a")
        self.assertEqual(r.stdout.splitlines().count("v2"), 1)
        # A viewer reads runs but cannot start one; another project's admin neither.
        vic = self.wok.cli("token", "create", "vic").stdout.strip()
        bob = self.wok.cli("token", "create", "bob").stdout.strip()
        handled = self.job("app", "team-a", "hello")["requestsHandled"]
        r = self.wok.cli("job", "run", "app", "hello", "-n", "team-a", token=vic, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("may only read", r.stderr)
        self.assertIn("v1", self.wok.cli("logs", "site", "app", "--job", "hello", "-n", "team-a", token=vic).stdout)
        for args in (("job", "run", "app", "hello"), ("logs", "site", "app", "--job", "hello")):
            r = self.wok.cli(*args, "-n", "team-a", token=bob, check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("no access", r.stderr)
        site_status = self.wok.site_json("app", "team-a")["status"]
        self.assertEqual(site_status["jobRequests"]["hello"], handled)
        # Unknown jobs and sites: clear errors, nothing changed.
        r = self.wok.cli("job", "run", "app", "nope", "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('has no job "nope"', r.stderr)
        r = self.wok.cli("logs", "site", "app", "--job", "../x", "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_a_job_of_an_image_component_runs_in_its_image(self):
        image = build_image(os.path.join(self.root, "image"))
        self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: img, namespace: team-a}}
spec:
  mode: app
  hosts: [img.team-a.localhost]
  app:
    components:
      - {{name: web, image: "{image}", port: 8080, env: {{GREETING: hello, DELAY: "0"}}}}
    jobs:
      - {{name: hello, schedule: "@daily", command: [/bin/sh, -c, "echo image job $GREETING; ls /bin"]}}
  resources: {{memory: 64Mi}}
""")
        self.wok.wait_revision("img", "team-a", 1)
        run = self.run_job("img", "team-a", "hello")
        self.assertEqual((run["result"], run["exitCode"]), ("Succeeded", 0))
        out = self.wok.cli("logs", "site", "img", "--job", "hello", "-n", "team-a").stdout.splitlines()
        self.assertIn("image job hello", out)
        self.assertEqual(sorted(out[1:]), ["busybox", "sh"])  # the image's root, not the host's

    def test_a_run_cut_by_kill9_is_ended_and_recorded_as_interrupted(self):
        repo = self.repo("app", {"app.py": APP})
        self.wok.apply(site("app", "team-a", repo.url,
                            '      - {name: long, schedule: "@yearly", command: [sh, -c, "setsid sleep 4245 & sleep 4244"]}'))
        self.wok.wait_revision("app", "team-a", 1)
        self.wok.cli("job", "run", "app", "long", "-n", "team-a")
        wait_for(lambda: "sleep 4244" in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout,
                 30, interval=0.2, what="the run to start")
        self.wok.kill9()
        self.wok.close()
        self.wok = Wok(self.root, data=self.wok.data).start()

        def interrupted():
            j = self.job("app", "team-a", "long")
            return j and j["runs"] and j["runs"][0]["result"] == "Failed" and j["runs"][0]
        run = wait_for(interrupted, 60, interval=0.2, what="the run recorded as interrupted")
        self.assertEqual(run["message"], "interrupted: wok stopped during the run")
        # Its sandbox did not outlive the restart, the setsid child neither.
        wait_for(lambda: "sleep 424" not in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                                           text=True).stdout, 30, what="the run's processes to end")
        self.assertEqual(self.job("app", "team-a", "long")["active"], 0)

    def test_hostile_jobs_are_killed_confined_and_bounded(self):
        secret = "TEAM-B-" + "SECRET-42"
        b = self.repo("b", {"app.py": APP, "secret.txt": secret})
        self.wok.apply(site("b", "team-b", b.url,
                            '      - {name: noop, schedule: "@yearly", command: ["true"]}'))
        self.wok.wait_revision("b", "team-b", 1)
        data = self.wok.data
        a = self.repo("a", {"app.py": APP})
        jobs = f"""      - {{name: forever, schedule: "@yearly", timeout: 2s, command: [sh, -c, "setsid sleep 4243 & sleep 4242 & echo started; wait"]}}
      - {{name: snoop, schedule: "@yearly", command: [sh, -c, "cat $(find {data} / -name secret.txt 2>/dev/null) 2>&1; ls {data}/sites/team-b 2>&1; echo done"]}}
      - {{name: flood, schedule: "@yearly", command: [sh, -c, "yes flood-flood-flood | head -c 50000000; echo end"]}}"""
        self.wok.apply(site("a", "team-a", a.url, jobs))
        self.wok.wait_revision("a", "team-a", 1)
        # Never ends: killed at its timeout, with its setsid child.
        run = self.run_job("a", "team-a", "forever")
        self.assertEqual(run["result"], "Failed")
        self.assertEqual(run["message"], "killed at its timeout of 2s")
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        self.assertNotIn("sleep 4242", ps)
        self.assertNotIn("sleep 4243", ps)
        # team-b's files are not in team-a's sandbox.
        run = self.run_job("a", "team-a", "snoop")
        out = self.wok.cli("logs", "site", "a", "--job", "snoop", "-n", "team-a").stdout
        self.assertIn("done", out)
        self.assertNotIn(secret, out)
        # A flood of output: kept bounded, the run still succeeds.
        run = self.run_job("a", "team-a", "flood")
        self.assertEqual(run["result"], "Succeeded")
        uid = self.wok.site_json("a", "team-a")["metadata"]["uid"]
        log = os.path.join(data, "sites", "team-a", "a", uid, "jobs", "flood", f"{run['run']}.log")
        self.assertLessEqual(os.path.getsize(log), (256 << 10) + 64)


if __name__ == "__main__":
    unittest.main()

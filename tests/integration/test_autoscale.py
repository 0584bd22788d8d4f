"""spec.app.autoscale on a real `wok up` (issue 14): a component's replicas
follow its CPU (cgroup usage against its limit) and its requests (the
router's count), up at once and down after the window, and the site's status
says why. Needs root (runc sandboxes); CI runs it as root."""
import json
import os
import shutil
import threading
import time
import unittest

from wokharness import WokTestCase, project_yaml, wait_for

SKIP = "needs root" if os.geteuid() != 0 else ("missing runc" if not shutil.which("runc") else None)


def app_site(name, url, autoscale, command, cpu="100m"):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: team-a}}
spec:
  mode: app
  hosts: [{name}.team-a.localhost]
  source: {{git: {{url: "{url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: {json.dumps(["sh", "-c", command])}, port: 8080}}
    autoscale: {autoscale}
  resources: {{cpu: {cpu}, memory: 64Mi}}
"""


@unittest.skipIf(SKIP, SKIP)
class AutoscaleTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "30000"
        # Replicas go 3 s after the load, not Kubernetes' 5 minutes.
        os.environ["WOK_AUTOSCALE_DOWN_WINDOW_MS"] = "3000"
        self.addCleanup(os.environ.pop, "WOK_AUTOSCALE_DOWN_WINDOW_MS", None)
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))

    def autoscale_status(self, name):
        return self.wok.site_json(name, "team-a").get("status", {}).get("autoscale") or {}

    def ready_instances(self, name):
        status = self.wok.site_json(name, "team-a").get("status", {})
        return [i for i in status.get("instances") or [] if i.get("phase") == "Ready"]

    def wait_replicas(self, name, n, timeout=90):
        def reached():
            a = self.autoscale_status(name)
            return a if a.get("replicas") == n and len(self.ready_instances(name)) == n else None
        return wait_for(reached, timeout, interval=0.5, what=f"{name} autoscaled to {n} ready replicas")

    def test_cpu_load_adds_replicas_and_idle_removes_them(self):
        # Each replica burns a whole CPU for 20 s from its start, against a
        # 100m limit: 100% of it, for a 50% target.
        burn = "(timeout 20 sh -c 'while :; do :; done' &) ; mkdir -p /tmp/w && echo up > /tmp/w/index.html && exec busybox httpd -f -p $PORT -h /tmp/w"
        repo = self.repo("busy", {"README": "x"})
        self.wok.apply(app_site("busy", repo.url, "{minReplicas: 1, maxReplicas: 3, targetCPUUtilization: 50}", burn))
        self.wok.wait_revision("busy", "team-a", 1)
        up = self.wait_replicas("busy", 3)
        self.assertIn("CPU", up.get("lastScaleReason", ""))
        self.assertEqual(up["maxReplicas"], 3)
        # Each decision is an event of the site (issue 17).
        events = self.wok.cli("get", "events", "-n", "team-a").stdout
        self.assertRegex(events, r"Normal\s+Scaled\s+site/busy\s+scaled 1 → [23]: ")
        # The load ends: after the window, back to the minimum, no new revision.
        down = self.wait_replicas("busy", 1, timeout=120)
        self.assertIn("scaled", down.get("lastScaleReason", ""))
        self.assertEqual(self.wok.site_json("busy", "team-a")["status"].get("revision"), 1)
        status, _, body = self.wok.get("busy.team-a.localhost", "/")
        self.assertEqual((status, body.strip()), (200, b"up"))

    def test_requests_per_second_add_replicas_of_the_routed_component(self):
        serve = "mkdir -p /tmp/w && echo hi > /tmp/w/index.html && exec busybox httpd -f -p $PORT -h /tmp/w"
        repo = self.repo("popular", {"README": "x"})
        self.wok.apply(app_site("popular", repo.url, "{minReplicas: 1, maxReplicas: 3, targetRequestsPerSecond: 5}",
                                serve, cpu="500m"))
        self.wok.wait_revision("popular", "team-a", 1)
        self.wait_replicas("popular", 1)
        stop = threading.Event()

        def load():  # about 40 requests a second
            while not stop.is_set():
                self.wok.get("popular.team-a.localhost", "/")
                time.sleep(0.025)
        t = threading.Thread(target=load, daemon=True)
        t.start()
        try:
            up = self.wait_replicas("popular", 3)
            self.assertIn("requests/s", up.get("lastScaleReason", ""))
        finally:
            stop.set()
            t.join()
        self.wait_replicas("popular", 1, timeout=120)


if __name__ == "__main__":
    unittest.main()

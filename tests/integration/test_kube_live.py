"""`wok operator` against a real cluster: runs only when WOK_TEST_KUBECONFIG is set.

Applies the CRDs (`wok crds`) and the examples with kubectl, runs the operator
from this build with that kubeconfig, waits for the example Site to be Ready
and fetches it through the cluster's ingress.

  WOK_TEST_KUBECONFIG   kubeconfig of a disposable cluster (kind, k3s, OKD...)
  WOK_TEST_INGRESS_URL  where the ingress controller listens (default http://127.0.0.1)
  WOK_TEST_INGRESS_CLASS  IngressClass (default nginx); WOK_TEST_OPENSHIFT=1 for Routes
  WOK_TEST_SITE_GIT     a git URL the cluster can fetch, replacing the example's
"""
import json
import os
import re
import shutil
import subprocess
import time
import unittest
import urllib.error
import urllib.request

KUBECONFIG = os.environ.get("WOK_TEST_KUBECONFIG", "")
WOK = os.environ.get("WOK_BIN", "wok")
SOURCE = os.environ.get("WOK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def kubectl(*args, stdin=None):
    return subprocess.run(["kubectl", "--kubeconfig", KUBECONFIG, *args], input=stdin,
                          capture_output=True, text=True, check=True, timeout=120).stdout


def wait_for(predicate, what, deadline=600):
    until = time.time() + deadline
    while time.time() < until:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError("timed out waiting for " + what)


@unittest.skipUnless(KUBECONFIG, "optional: WOK_TEST_KUBECONFIG is not set: no live cluster to test against")
@unittest.skipUnless(shutil.which("kubectl"), "optional: kubectl is not installed")
class KubeLiveTest(unittest.TestCase):
    def setUp(self):
        crds = subprocess.run([WOK, "crds"], capture_output=True, text=True, check=True).stdout
        kubectl("apply", "--server-side", "-f", "-", stdin=crds)
        kubectl("wait", "--for=condition=Established", "crd/sites.wok.dev", "crd/projects.wok.dev")
        with open(os.path.join(SOURCE, "examples", "team-a.yaml")) as f:
            example = f.read()
        if os.environ.get("WOK_TEST_SITE_GIT"):
            example = re.sub(r'url: "[^"]*"', 'url: "%s"' % os.environ["WOK_TEST_SITE_GIT"], example)
        kubectl("apply", "-f", "-", stdin=example)
        self.addCleanup(lambda: subprocess.run(
            ["kubectl", "--kubeconfig", KUBECONFIG, "delete", "-f", "-", "--wait=false"],
            input=example, capture_output=True, text=True))
        args = [WOK, "operator", "--kubeconfig", KUBECONFIG, "--metrics", "127.0.0.1:0",
                "--namespace", "default",
                "--ingress-class", os.environ.get("WOK_TEST_INGRESS_CLASS", "nginx")]
        if os.environ.get("WOK_TEST_OPENSHIFT") == "1":
            args.append("--openshift")
        self.operator = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.stop_operator)
        line = self.operator.stdout.readline()
        self.metrics = "http://" + line.split("metrics on ", 1)[1].strip()

    def stop_operator(self):
        self.operator.terminate()
        self.assertEqual(self.operator.wait(timeout=30), 0)

    def get(self, url, host=None):
        req = urllib.request.Request(url)
        if host:
            req.add_header("Host", host)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as e:
            return getattr(e, "code", 0), str(e)

    def site_ready(self):
        site = json.loads(kubectl("get", "site", "www", "-n", "team-a", "-o", "json"))
        for c in site.get("status", {}).get("conditions", []):
            if c["type"] == "Ready":
                return c["status"] == "True"
        return False

    def test_example_site_becomes_ready_and_serves(self):
        wait_for(lambda: self.get(self.metrics + "/readyz")[0] == 200, "the operator to be ready", 120)
        wait_for(self.site_ready, "site team-a/www to be Ready")
        status, body = self.get(os.environ.get("WOK_TEST_INGRESS_URL", "http://127.0.0.1") + "/",
                                host="www.team-a.localhost")
        self.assertEqual(status, 200, body)
        _, metrics = self.get(self.metrics + "/metrics")
        self.assertIn("wok_operator_synced 1", metrics)

    def site(self):
        return json.loads(kubectl("get", "site", "www", "-n", "team-a", "-o", "json"))

    def ready_reason(self):
        for c in self.site().get("status", {}).get("conditions", []):
            if c["type"] == "Ready":
                return "Ready" if c["status"] == "True" else c.get("reason", "")
        return ""

    def test_revisions_undo_refresh_and_a_forged_revision(self):
        wait_for(lambda: self.get(self.metrics + "/readyz")[0] == 200, "the operator to be ready", 120)
        wait_for(lambda: self.site().get("status", {}).get("revision", 0) >= 1, "site team-a/www's first revision")
        revisions = json.loads(kubectl("get", "controllerrevisions", "-n", "team-a", "-l", "wok.dev/site=www",
                                       "-o", "json"))["items"]
        self.assertTrue(revisions, "no ControllerRevision for site www")
        live = self.site()["status"]["revision"]
        newest = max(revisions, key=lambda r: r["revision"])
        self.assertEqual(newest["revision"], live)
        self.assertEqual(newest["data"]["spec"], self.site()["spec"])
        self.assertEqual(newest["metadata"]["ownerReferences"][0]["uid"], self.site()["metadata"]["uid"])
        deployment = json.loads(kubectl("get", "deployment", "www", "-n", "team-a", "-o", "json"))
        self.assertEqual(deployment["spec"]["template"]["metadata"]["annotations"]["wok.dev/revision"], str(live))

        # wok rollout undo: pin the live revision (its spec and commit), status says so.
        generation = str(self.site()["metadata"]["generation"])
        kubectl("annotate", "site", "www", "-n", "team-a", "--overwrite",
                "wok.dev/rollback-to=%d" % live, "wok.dev/rollback-generation=" + generation)
        wait_for(lambda: self.site().get("status", {}).get("pinnedRevision") == live, "the pin in status", 120)

        # A ControllerRevision the operator did not write (created here with the admin's kubeconfig).
        forged = dict(newest)
        forged["metadata"] = {"name": "www-forged", "namespace": "team-a", "labels": newest["metadata"]["labels"],
                              "ownerReferences": newest["metadata"]["ownerReferences"],
                              "annotations": {"wok.dev/revision-hash": "0"}}
        forged["revision"] = 999
        kubectl("apply", "-f", "-", stdin=json.dumps(forged))
        self.addCleanup(lambda: subprocess.run(["kubectl", "--kubeconfig", KUBECONFIG, "delete",
                                                "controllerrevision", "www-forged", "-n", "team-a"],
                                               capture_output=True))
        kubectl("annotate", "site", "www", "-n", "team-a", "--overwrite", "wok.dev/rollback-to=999")
        wait_for(lambda: self.ready_reason() == "RevisionNotFound", "the forged revision refused", 120)
        self.assertIn("www-forged", self.site()["status"]["lastError"])

        # wok refresh: ends the pin, the ref is followed again.
        kubectl("annotate", "site", "www", "-n", "team-a", "--overwrite",
                "wok.dev/refresh=%d" % time.time(), "wok.dev/rollback-to-", "wok.dev/rollback-generation-")
        wait_for(lambda: "pinnedRevision" not in self.site().get("status", {}) and
                 self.ready_reason() != "RevisionNotFound", "the pin to end", 120)


if __name__ == "__main__":
    unittest.main(verbosity=2)

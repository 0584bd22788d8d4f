"""The REST API directly: Status objects, optimistic concurrency, health and metrics."""
import json
import os
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WokTestCase, project_yaml  # noqa: E402

BASE = "/apis/wok.dev/v1alpha1"


class ApiTest(WokTestCase):
    def call(self, method, path, body=None, token=None):
        req = urllib.request.Request(self.wok.api_url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", "Bearer " + (token or self.wok.admin_token))
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def site(self, name, host):
        return {"apiVersion": "wok.dev/v1alpha1", "kind": "Site",
                "metadata": {"name": name, "namespace": "team-a"},
                "spec": {"mode": "static", "hosts": [host],
                         "source": {"git": {"url": "file:///nonexistent", "interval": "0s"}}}}

    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))

    def test_health_version_metrics(self):
        with urllib.request.urlopen(self.wok.api_url + "/healthz") as r:
            self.assertEqual(r.read(), b"ok\n")
        with urllib.request.urlopen(self.wok.api_url + "/version") as r:
            self.assertIn("version", json.load(r))
        code, text = self.call("GET", "/metrics")  # the admin's token
        self.assertEqual(code, 200, text)
        self.assertIn('wok_objects{kind="Project"} 1', text)
        self.assertIn("wok_site_reconciles_total", text)

    def test_stale_resource_version_is_409(self):
        code, body = self.call("POST", BASE + "/namespaces/team-a/sites", self.site("www", "www.team-a.localhost"))
        self.assertEqual(code, 201, body)
        current = json.loads(body)
        # The controller writes the site's status meanwhile (a new
        # resourceVersion too): a and b start from the same fresh read.
        for _ in range(20):
            a = dict(current, spec=dict(current["spec"], hosts=["a.team-a.localhost"]))
            b = dict(current, spec=dict(current["spec"], hosts=["b.team-a.localhost"]))
            code, _ = self.call("PUT", BASE + "/namespaces/team-a/sites/www", a)
            if code != 409:
                break
            current = json.loads(self.call("GET", BASE + "/namespaces/team-a/sites/www")[1])
        self.assertEqual(code, 200)
        code, body = self.call("PUT", BASE + "/namespaces/team-a/sites/www", b)
        self.assertEqual(code, 409)
        status = json.loads(body)
        self.assertEqual((status["kind"], status["reason"]), ("Status", "Conflict"))
        code, body = self.call("GET", BASE + "/namespaces/team-a/sites/www")
        self.assertEqual(json.loads(body)["spec"]["hosts"], ["a.team-a.localhost"])
        self.assertEqual(json.loads(body)["metadata"]["generation"], 2)

    def test_validation_status_names_fields(self):
        bad = self.site("www", "www..team-a.localhost")
        bad["spec"]["extra"] = True
        code, body = self.call("POST", BASE + "/namespaces/team-a/sites", bad)
        self.assertEqual(code, 422)
        status = json.loads(body)
        fields = {c["field"] for c in status["details"]["causes"]}
        self.assertIn("spec.extra", fields)
        code, _ = self.call("GET", BASE + "/namespaces/team-a/sites/www")
        self.assertEqual(code, 404)

    def test_bad_requests(self):
        self.assertEqual(self.call("POST", BASE + "/namespaces/team-a/sites", None)[0], 400)
        req = urllib.request.Request(self.wok.api_url + BASE + "/namespaces/team-a/sites", data=b"{not json",
                                     method="POST", headers={"Authorization": "Bearer " + self.wok.admin_token})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 400)
        self.assertEqual(self.call("GET", BASE + "/projects", token="wrong")[0], 401)
        self.assertEqual(self.call("GET", BASE + "/namespaces/..%2f/sites")[0], 404)
        self.assertEqual(self.call("PATCH", BASE + "/namespaces/team-a/sites/www", {})[0], 405)
        # the path and the body must agree
        code, body = self.call("PUT", BASE + "/projects/other", json.loads(json.dumps(
            {"apiVersion": "wok.dev/v1alpha1", "kind": "Project", "metadata": {"name": "team-a"},
             "spec": {"hosts": ["*.x.localhost"]}})))
        self.assertEqual(code, 422, body)

    def test_project_with_sites_cannot_be_deleted(self):
        self.assertEqual(self.call("POST", BASE + "/namespaces/team-a/sites", self.site("www", "www.team-a.localhost"))[0], 201)
        code, body = self.call("DELETE", BASE + "/projects/team-a")
        self.assertEqual(code, 409)
        self.assertIn("delete them first", body)


if __name__ == "__main__":
    unittest.main(verbosity=2)

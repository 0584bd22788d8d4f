"""`wok operator --admission-*` end to end: the real binary, a certificate
made here with the openssl CLI, AdmissionReviews POSTed over real TLS with
Python's ssl as the API server would. No Kubernetes API is reachable (the
kubeconfig points at a closed port): what needs no cache is judged (the
validator, the --max-site-* bounds), the rest is refused until the caches
have listed, and the flags are checked at start."""
import http.client
import json
import os
import socket
import ssl
import subprocess
import tempfile
import unittest

from wokharness import WOK, wait_for


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def site(name, replicas=1, docroot=None):
    spec = {"mode": "app", "hosts": ["www.team-a.test"],
            "source": {"git": {"url": "https://git.example.org/x.git"}},
            "app": {"components": [{"name": "web", "command": ["node", "web.js"], "port": 8080,
                                    "replicas": replicas}]}}
    if docroot:
        spec = {"mode": "php", "hosts": ["www.team-a.test"],
                "source": {"git": {"url": "https://git.example.org/x.git"}}, "php": {"docroot": docroot}}
    return {"apiVersion": "wok.dev/v1alpha1", "kind": "Site",
            "metadata": {"name": name, "namespace": "team-a", "creationTimestamp": "2026-12-02T10:00:00Z"},
            "spec": spec}


def review(obj):
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "0c1a-77", "operation": "CREATE", "namespace": "team-a",
                        "kind": {"group": "wok.dev", "version": "v1alpha1", "kind": "Site"},
                        "resource": {"group": "wok.dev", "version": "v1alpha1", "resource": "sites"},
                        "userInfo": {"username": "alice"}, "object": obj}}


class OperatorAdmissionTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="wok-admission-")
        self.addCleanup(self.tmp.cleanup)
        d = self.tmp.name
        self.cert, self.key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "1", "-subj", "/CN=wok-admission", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        self.kubeconfig = os.path.join(d, "kubeconfig")
        with open(self.kubeconfig, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "x",
                       "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:%d" % closed_port(),
                                                              "insecure-skip-tls-verify": True}}],
                       "users": [{"name": "u", "user": {"token": "t"}}],
                       "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}, f)

    def operator(self, *extra, stderr=subprocess.PIPE):
        return subprocess.Popen([WOK, "operator", "--kubeconfig", self.kubeconfig, "--metrics", "127.0.0.1:0",
                                 *extra], stdout=subprocess.PIPE, stderr=stderr, text=True)

    def start(self):
        # Its log goes to a file: the informers retry the closed port and log
        # each time, which would fill a pipe nobody reads and block it.
        log = open(os.path.join(self.tmp.name, "operator.log"), "w+")
        proc = self.operator("--admission-listen", "127.0.0.1:0", "--admission-cert", self.cert,
                             "--admission-key", self.key, "--max-site-replicas", "3", stderr=log)

        def stop():
            proc.terminate()
            proc.wait(timeout=30)
            proc.stdout.close()
            log.close()
        self.addCleanup(stop)
        port = None
        while port is None:
            line = proc.stdout.readline()
            if not line:
                log.seek(0)
            self.assertTrue(line, "wok operator ended: " + (log.read() if not line else ""))
            if line.startswith("admission webhook on "):
                port = int(line.rsplit(":", 1)[1])
        return port

    def post(self, port, body, content_type="application/json"):
        ctx = ssl.create_default_context(cafile=self.cert)
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        try:
            conn.request("POST", "/validate/sites", body=body, headers={"Content-Type": content_type})
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    # Hostile inputs first.
    def test_plain_http_and_malformed_reviews_are_refused(self):
        port = self.start()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"POST /validate/sites HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 400 "))
        for body in [b"", b"{", b"[" * 100000, json.dumps({"kind": "AdmissionReview"}).encode(),
                     json.dumps(review(site("x")))[:-1].encode()]:
            status, text = self.post(port, body)
            self.assertEqual(status, 400, text)
        status, _ = self.post(port, json.dumps(review(site("x"))), "text/plain")
        self.assertEqual(status, 415)
        status, text = self.post(port, b"x" * (2 << 20))
        self.assertEqual(status, 413, text)

    def test_a_site_is_judged_by_the_validator_and_the_flags_bounds(self):
        port = self.start()
        status, text = self.post(port, json.dumps(review(site("big", replicas=9))))
        self.assertEqual(status, 200, text)
        response = json.loads(text)["response"]
        self.assertEqual(response["uid"], "0c1a-77")
        self.assertFalse(response["allowed"])
        self.assertEqual(response["status"]["message"],
                         'Site "big" is invalid: spec.app.components[0].replicas: 9 is over the platform\'s '
                         "limit of 3 per component (wok operator --max-site-replicas)")
        response = json.loads(self.post(port, json.dumps(review(site("blog", docroot="../.."))))[1])["response"]
        self.assertFalse(response["allowed"])
        self.assertIn("spec.php.docroot", response["status"]["message"])
        # A valid site needs its Project from the caches, which cannot list here.
        response = json.loads(self.post(port, json.dumps(review(site("www"))))[1])["response"]
        self.assertFalse(response["allowed"])
        self.assertEqual(response["status"]["code"], 503)

    def test_the_flags_are_checked_at_start(self):
        proc = self.operator("--admission-listen", "127.0.0.1:0", "--admission-cert", self.cert)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--admission-listen needs --admission-cert and --admission-key", err)
        with open(os.path.join(self.tmp.name, "bad.key"), "w") as f:
            f.write("not a key\n")
        proc = self.operator("--admission-listen", "127.0.0.1:0", "--admission-cert", self.cert,
                             "--admission-key", os.path.join(self.tmp.name, "bad.key"))
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("bad.key", err)


if __name__ == "__main__":
    unittest.main()

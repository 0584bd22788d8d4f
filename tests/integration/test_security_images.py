"""Images a member's app names (issue 12), with a real `wok up`:

- a docker:// image whose registry is on loopback (an address, or a name
  resolving to one) is refused before anything connects, and the site's
  status names the registry; `--allow-private-sources` lifts the refusal;
- a live revision from a local OCI layout stops being run and routed once the
  admin restarts wok without that directory allowed (its status says why,
  naming the directory), and comes back when it is allowed again; a site the
  platform admin wrote is not affected;
- a live revision pulled from a loopback registry (HTTPS, served here) while
  the admin allowed private sources is neither pulled again nor served once
  wok restarts without `--allow-private-sources`, and comes back with it.

The live-revision tests need root (runc, cgroups), umoci and openssl."""
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest

from wokharness import Wok, project_yaml, wait_for
from test_image_app import NEEDS, build_image, image_site

SKIP_LIVE = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)


class Listener:
    """A TCP listener on loopback that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopped = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stopped = True
        self.thread.join(5)
        self.sock.close()


def app_yaml(name, image):
    return f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: {name}, namespace: team-a}}
spec:
  mode: app
  hosts: [{name}.team-a.localhost]
  app:
    components:
      - {{name: web, image: "{image}", port: 8080}}
"""


def ready_condition(status):
    for c in status.get("conditions", []):
        if c.get("type") == "Ready":
            return c
    return {}


class RegistryAddressTest(unittest.TestCase):
    """A member's image on a loopback registry: refused before skopeo runs."""

    def start(self, *args):
        self.root = tempfile.mkdtemp(prefix="wok-it-")
        self.listener = Listener()
        self.wok = Wok(self.root, args=list(args), allow_root=False).start()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()

    def tearDown(self):
        if self.wok.proc and self.wok.proc.poll() is None:
            self.wok.stop()
        self.wok.close()
        self.listener.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def refusal(self, name):
        def refused():
            s = self.wok.site_json(name, "team-a").get("status", {})
            return s if ready_condition(s).get("reason") == "SourceNotAllowed" else None
        return wait_for(refused, 30, what=f"{name}'s refusal in its status")

    def test_loopback_registry_is_refused_naming_it_and_never_connected(self):
        self.start()
        for name, registry, why in (
                ("byaddress", f"127.0.0.1:{self.listener.port}", "address 127.0.0.1 is a loopback address"),
                ("byname", f"localhost:{self.listener.port}", "host localhost resolves to ")):
            image = f"docker://{registry}/x:1"
            self.wok.apply(app_yaml(name, image), token=self.alice)
            status = self.refusal(name)
            condition = ready_condition(status)
            self.assertEqual(condition["status"], "False", status)
            prefix = f"spec.app.components[0].image: {image}: registry {registry} is refused: "
            self.assertTrue(condition["message"].startswith(prefix + why), condition["message"])
            self.assertIn("refused unless the platform admin allows them", condition["message"])
            self.assertTrue(status["lastError"].startswith(prefix), status)
            self.assertIsNone(status.get("revision"), status)
            self.assertEqual(self.wok.get(f"{name}.team-a.localhost")[0], 404)
        # apply --wait says so at once (exit 1), instead of waiting for a pull.
        image = f"docker://127.0.0.1:{self.listener.port}/y:1"
        r = self.wok.cli("apply", "--wait", "--timeout", "60s", "-f", "-", token=self.alice,
                         stdin=app_yaml("waited", image), check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"registry 127.0.0.1:{self.listener.port} is refused", r.stdout + r.stderr)
        # Later passes (retried with backoff) do not pull either.
        time.sleep(3)
        self.assertEqual(self.listener.connections, 0, "a pull reached the loopback registry")

    def test_the_admin_may_allow_private_registries(self):
        self.start("--allow-private-sources")
        image = f"docker://127.0.0.1:{self.listener.port}/x:1"
        self.wok.apply(app_yaml("byaddress", image), token=self.alice)
        # Nothing refuses the address: the pull itself connects (and fails:
        # the listener is no registry).
        wait_for(lambda: self.listener.connections > 0, 60, what="a connection to the registry")
        s = self.wok.site_json("byaddress", "team-a").get("status", {})
        self.assertNotEqual(ready_condition(s).get("reason"), "SourceNotAllowed", s)


@unittest.skipIf(SKIP_LIVE, SKIP_LIVE)
class LiveRevisionAllowListTest(unittest.TestCase):
    """ROOT/allowed (D) holds a member's OCI layout; ROOT/admin one the admin deploys."""

    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        self.root = tempfile.mkdtemp(prefix="wok-it-")
        self.allowed = os.path.join(self.root, "allowed")
        self.image = build_image(os.path.join(self.allowed, "image"))
        self.admin_image = build_image(os.path.join(self.root, "admin", "image"))
        self.data = os.path.join(self.root, "data")
        self.wok = None

    def tearDown(self):
        if self.wok:
            if self.wok.proc and self.wok.proc.poll() is None:
                self.wok.stop()
            self.wok.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def up(self, *args):
        if self.wok:
            self.assertEqual(self.wok.stop(), 0)
            self.wok.close()
        self.wok = Wok(self.root, data=self.data, allow_root=False, args=list(args)).start()

    def body(self, host):
        status, _, body = self.wok.get(host, "/index.html")
        return status, body.decode(errors="replace")

    def wait_served(self, host, greeting):
        return wait_for(lambda: (lambda r: r if r == (200, f"greeting={greeting}\n") else None)(self.body(host)),
                        60, interval=0.2, what=f"greeting={greeting} at {host}")

    def test_a_live_revision_outside_the_allow_list_stops_and_comes_back(self):
        self.up("--allow-local-source", self.allowed)
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.wok.apply(image_site("api", "team-a", self.image, "member"), token=alice)
        self.wok.apply(image_site("boss", "team-a", self.admin_image, "admin"))  # the admin: any directory
        self.wok.wait_revision("api", "team-a", 1)
        self.wok.wait_revision("boss", "team-a", 1)
        self.wait_served("api.team-a.localhost", "member")
        self.wait_served("boss.team-a.localhost", "admin")

        # The admin narrows the allow-list: the member's live revision is no
        # longer run nor routed, and its status names the directory.
        self.up()

        def refused():
            s = self.wok.site_json("api", "team-a").get("status", {})
            return s if ready_condition(s).get("reason") == "SourceNotAllowed" else None
        status = wait_for(refused, 60, what="the live revision's refusal")
        condition = ready_condition(status)
        self.assertEqual(condition["status"], "False", status)
        self.assertTrue(condition["message"].startswith(
            f"revision 1 is not served: spec.app.components[0].image: {self.image} is a local path; "), condition)
        self.assertIn("members may not use local sources here", condition["message"])
        self.assertIsNone(status.get("revision"), status)
        wait_for(lambda: self.body("api.team-a.localhost")[0] == 404, 30, what="api's route to go")
        r = self.wok.cli("rollout", "status", "site", "api", "-n", "team-a", "--timeout", "30s", check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("revision 1 is not served", r.stdout + r.stderr)
        # The admin's site is the admin's choice: still served.
        self.wait_served("boss.team-a.localhost", "admin")
        self.assertEqual(ready_condition(self.wok.site_json("boss", "team-a")["status"])["status"], "True")
        # No instance of the refused revision runs.
        runs = self.wok.site_json("api", "team-a")["status"].get("instances") or []
        self.assertEqual(runs, [], runs)

        # Allowed again: the same revision serves again.
        self.up("--allow-local-source", self.allowed)
        self.wait_served("api.team-a.localhost", "member")
        status = self.wok.wait_revision("api", "team-a", 1)
        self.assertEqual(ready_condition(status)["reason"], "Deployed", status)


class LayoutRegistry:
    """A read-only registry over HTTPS (a certificate for 127.0.0.1 made
    here, trusted through SSL_CERT_FILE) serving the OCI layout `layout`
    as NAME:TAG; counts the requests it answers."""

    def __init__(self, root, layout):
        import http.server
        import json
        import ssl
        import subprocess
        self.cert = os.path.join(root, "registry.pem")
        key = os.path.join(root, "registry.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", self.cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        with open(os.path.join(layout, "index.json")) as f:
            index = json.load(f)
        registry = self

        def blob(digest):
            path = os.path.join(layout, "blobs", *digest.split(":", 1))
            if "/" in digest or not os.path.isfile(path):
                return None
            with open(path, "rb") as f:
                return f.read()

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, body_too):
                registry.requests += 1
                parts = self.path.split("/")
                body, media = b"{}", "application/json"
                if self.path.startswith("/v2/") and len(parts) >= 5 and parts[-2] == "manifests":
                    refs = [m for m in index["manifests"]
                            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == parts[-1]
                            or m["digest"] == parts[-1]]
                    body, media = (blob(refs[0]["digest"]), refs[0]["mediaType"]) if refs else (None, "")
                elif self.path.startswith("/v2/") and len(parts) >= 5 and parts[-2] == "blobs":
                    body, media = blob(parts[-1]), "application/octet-stream"
                elif self.path != "/v2/":
                    body = None
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                if parts[-2:-1] in (["manifests"], ["blobs"]):
                    import hashlib
                    self.send_header("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())
                self.end_headers()
                if body_too:
                    self.wfile.write(body)

            def do_GET(self):
                self.answer(True)

            def do_HEAD(self):
                self.answer(False)

            def log_message(self, *args):
                pass

        self.requests = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@unittest.skipIf(SKIP_LIVE or not shutil.which("openssl"), SKIP_LIVE or "missing openssl")
class LiveRevisionPrivateRegistryTest(unittest.TestCase):
    """A member's app pulled from a registry on loopback while the admin
    allowed private sources; wok restarted without: it is not started again."""

    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        self.root = tempfile.mkdtemp(prefix="wok-it-")
        layout_ref = build_image(os.path.join(self.root, "image"))  # oci:DIR:1.0
        self.registry = LayoutRegistry(self.root, layout_ref[len("oci:"):].rsplit(":", 1)[0])
        self.image = f"docker://127.0.0.1:{self.registry.port}/team-a/app:1.0"
        self.data = os.path.join(self.root, "data")
        self.wok = None

    def tearDown(self):
        if self.wok:
            if self.wok.proc and self.wok.proc.poll() is None:
                self.wok.stop()
            self.wok.close()
        self.registry.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def up(self, *args):
        if self.wok:
            self.assertEqual(self.wok.stop(), 0)
            self.wok.close()
        self.wok = Wok(self.root, data=self.data, allow_root=False, args=list(args))
        self.wok.env["SSL_CERT_FILE"] = self.registry.cert  # skopeo trusts the test's registry
        self.wok.start()

    def served(self):
        status, _, body = self.wok.get("api.team-a.localhost", "/index.html")
        return (status, body) if (status, body) == (200, b"greeting=member\n") else None

    def test_a_live_revision_from_a_private_registry_stops_without_the_admins_flag(self):
        self.up("--allow-private-sources")
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.wok.apply(image_site("api", "team-a", self.image, "member"), token=alice)
        self.wok.wait_revision("api", "team-a", 1)
        wait_for(self.served, 60, interval=0.2, what="the app pulled from the registry")
        self.assertGreater(self.registry.requests, 0)

        self.up()
        self.registry.requests = 0

        def refused():
            s = self.wok.site_json("api", "team-a").get("status", {})
            return s if ready_condition(s).get("reason") == "SourceNotAllowed" else None
        status = wait_for(refused, 60, what="the live revision's refusal")
        message = ready_condition(status)["message"]
        self.assertTrue(message.startswith(
            f"revision 1 is not served: spec.app.components[0].image: {self.image}: registry "
            f"127.0.0.1:{self.registry.port} is refused: address 127.0.0.1 is a loopback address"), message)
        self.assertEqual(self.wok.get("api.team-a.localhost", "/index.html")[0], 404)
        time.sleep(3)
        self.assertEqual(self.registry.requests, 0, "the refused revision was pulled again")

        self.up("--allow-private-sources")
        wait_for(self.served, 60, interval=0.2, what="the app served again")


if __name__ == "__main__":
    unittest.main()

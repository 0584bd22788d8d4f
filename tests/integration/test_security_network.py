"""Issue 12, networking: each site has a network of its own. Its components
reach each other by name (as Services on a cluster), reach the internet when
their project allows egress, and nothing else: not wok's API or router on the
host's loopback, not the cloud metadata address, not the host's addresses,
not another project. Staged with a member's token against a real `wok up`
(real runc, slirp4netns, nftables). Needs root; CI runs it as root."""
import http.server
import json
import os
import shutil
import subprocess
import threading
import unittest

from wokharness import WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "slirp4netns", "nft", "ip") if not shutil.which(b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)


def host_address():
    """A global IPv4 address of this host: where an internal mirror would be."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        return line.split()[3].split("/")[0]
    raise AssertionError("this host has no global IPv4 address: " + out)


class Mirror:
    """An HTTP server on every host address that counts who reached it."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                body = b"mirror-says-hi"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def project_with_egress(name, egress):
    text = project_yaml(name, [f"*.{name}.localhost"], members=[("alice", "developer")])
    return text + f"  network: {{egress: {'true' if egress else 'false'}}}\n"


@unittest.skipIf(SKIP, SKIP)
class SiteNetworkTest(WokTestCase):
    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "30000"
        self.addr = host_address()
        self.mirror = Mirror()
        self.addCleanup(self.mirror.close)
        # The admin lets sites reach one internal address, as for a package
        # mirror; everything else private stays out of reach.
        self.wok_args = ("--egress-allow", self.addr + "/32")
        super().setUp()
        self.wok.apply(project_with_egress("team-a", True) + "---\n" + project_with_egress("team-b", False))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()

    def body(self, host, path):
        status, _, body = self.wok.get(host, path)
        return body.decode(errors="replace").strip() if status == 200 else None

    def wait_body(self, host, path, text, timeout=60):
        return wait_for(lambda: (lambda b: b if b is not None and text in b else None)(self.body(host, path)),
                        timeout, interval=0.3, what=f"{text!r} at {host}{path}")

    def test_components_reach_each_other_by_name_and_egress_only_where_allowed(self):
        mirror = f"http://{self.addr}:{self.mirror.port}/"
        probes = {
            "api": "http://api:8080/",                 # the component's name and port
            "alias": "http://shop-api/",               # the Kubernetes Service name, port 80
            "mirror": mirror,                          # allowed by the admin
            "gateway": f"http://10.0.2.2:{self.wok.api_port}/",   # the host's loopback: wok's API
            "loopback": f"http://127.0.0.1:{self.wok.api_port}/",  # the sandbox's own loopback
            "metadata": "http://169.254.169.254/",    # cloud metadata
        }
        loop = "; ".join(f"(wget -q -T 3 -O- {url} || echo refused) > /tmp/www/{name}.txt 2>/dev/null"
                         for name, url in probes.items())
        web = f"mkdir -p /tmp/www; while true; do {loop}; sleep 1; done & exec busybox httpd -f -p $PORT -h /tmp/www"
        repo = self.repo("shop", {"api/index.html": "from-api"})
        self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: shop, namespace: team-a}}
spec:
  mode: app
  hosts: [shop.team-a.localhost]
  source: {{git: {{url: "{repo.url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [sh, -c, {json.dumps(web)}], port: 8080}}
      - {{name: api, command: [busybox, httpd, -f, -p, "8080", -h, /srv/app/api], port: 8080, replicas: 2}}
""", token=self.alice)
        self.wok.wait_revision("shop", "team-a", 1)
        host = "shop.team-a.localhost"
        self.wait_body(host, "/api.txt", "from-api")
        self.wait_body(host, "/alias.txt", "from-api")
        self.wait_body(host, "/mirror.txt", "mirror-says-hi")
        for name in ("gateway", "loopback", "metadata"):
            self.assertEqual(self.wait_body(host, f"/{name}.txt", "refused"), "refused", name)

        # A build reaches the internet like its site (team-a), or not (team-b).
        build = (f"mkdir -p out; (wget -q -T 3 -O- {mirror}build-{{p}} || echo no-egress) > out/index.html")
        for project in ("team-a", "team-b"):
            self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: docs, namespace: {project}}}
spec:
  mode: static
  hosts: [docs.{project}.localhost]
  source: {{git: {{url: "{repo.url}", interval: 1h}}}}
  build: {{command: [sh, -c, {json.dumps(build.format(p=project))}], output: out}}
""", token=self.alice)
        self.wok.wait_revision("docs", "team-a", 1)
        self.wok.wait_revision("docs", "team-b", 1)
        self.assertEqual(self.body("docs.team-a.localhost", "/"), "mirror-says-hi")
        self.assertEqual(self.body("docs.team-b.localhost", "/"), "no-egress")
        self.assertNotIn("/build-team-b", self.mirror.hits)

        # The admin turns team-a's egress off: the running site loses it, and
        # keeps reaching its own components.
        self.wok.apply(project_with_egress("team-a", False))
        self.wait_body(host, "/mirror.txt", "refused")
        hits = len(self.mirror.hits)
        self.wait_body(host, "/api.txt", "from-api")
        self.assertEqual(len(self.mirror.hits), hits)

    def test_a_member_cannot_give_their_project_egress(self):
        r = self.wok.cli("apply", "-f", "-", token=self.alice, check=False,
                         stdin=project_with_egress("team-b", True))
        self.assertNotEqual(r.returncode, 0, r.stdout)
        project = json.loads(self.wok.cli("get", "project", "team-b", "-o", "json").stdout)
        self.assertEqual(project["spec"]["network"], {"egress": False})

    def test_an_egress_exception_that_is_not_a_cidr_stops_wok_up(self):
        from wokharness import WOK
        for bad in ("10.0.0.0/8; flush ruleset", "10.1.2.3/24", "example.org"):
            r = subprocess.run([WOK, "up", "--data", os.path.join(self.root, "other"), "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
                                "--api", "127.0.0.1:0", "--egress-allow", bad],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertIn("--egress-allow", r.stderr)
            self.assertIn(bad, r.stderr)


if __name__ == "__main__":
    unittest.main()

"""HTTPS on `wok up` (docs/tls.md): every site on the TLS listener with a
certificate from the local CA (mode auto, the default) or the project's
secret (mode secret), picked by SNI; redirect and HSTS per site; status.tls
says hosts, issuer and expiry, or what is wrong; a member's certificate
never answers for another project's host. Clients: Python's ssl, curl."""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WokTestCase, project_yaml, site_yaml, wait_for  # noqa: E402

SOURCE = os.environ.get("WOK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
NEEDS = [b for b in ("runc", "chromium", "node") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
BROWSER_SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

# A WebSocket echo app in the standard library alone: a page at any path,
# the upgrade at /echo, whose first message lists the request's header names
# as they arrived, then echoes text frames.
WS_APP = r"""import base64, hashlib, os, socketserver, struct
PAGE = b'<!doctype html><title>ws</title><p>echo</p>'
class H(socketserver.StreamRequestHandler):
    def handle(self):
        head = b''
        while not head.endswith(b'\r\n\r\n'):
            c = self.rfile.read(1)
            if not c:
                return
            head += c
        lines = head.decode('latin-1').split('\r\n')
        names, fields = [], {}
        for line in lines[1:]:
            if ':' in line:
                k, v = line.split(':', 1)
                names.append(k)
                fields[k.lower()] = v.strip()
        if lines[0].split()[1] != '/echo' or fields.get('upgrade', '').lower() != 'websocket':
            self.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n'
                             b'Content-Length: %d\r\n\r\n' % len(PAGE) + PAGE)
            return
        accept = base64.b64encode(hashlib.sha1(fields['sec-websocket-key'].encode() +
                                               b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())
        self.wfile.write(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                         b'Sec-WebSocket-Accept: ' + accept + b'\r\n\r\n')
        self.text('headers ' + ' '.join(names))
        while True:
            h = self.rfile.read(2)
            if len(h) < 2:
                return
            n = h[1] & 0x7f
            if n == 126:
                n = struct.unpack('>H', self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack('>Q', self.rfile.read(8))[0]
            mask = self.rfile.read(4) if h[1] & 0x80 else bytes(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if h[0] & 0x0f == 8:
                self.wfile.write(b'\x88\x00')
                return
            if h[0] & 0x0f == 1:
                self.text('echo ' + data.decode())
    def text(self, s):
        b = s.encode()
        self.wfile.write((bytes([0x81, len(b)]) if len(b) < 126 else bytes([0x81, 126]) + struct.pack('>H', len(b))) + b)
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""


def tls_request(port, host, path="/", cafile=None, method="GET"):
    """(status, headers dict lowercased, body, peer certificate dict) over TLS
    with SNI `host`, verified against cafile."""
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=host) as s:
            cert = s.getpeercert()
            s.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body, cert


def issuer_cn(cert):
    for rdn in cert.get("issuer", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return ""


def with_tls(yaml_text, tls):
    return yaml_text + f"  tls: {tls}\n" if tls else yaml_text


class TlsTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"], [("bob", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.bob = self.wok.cli("token", "create", "bob").stdout.strip()
        self.repo_a = self.repo("www", {"index.html": "home of a", "x/page.html": "page"})
        self.ca = os.path.join(self.root, "wok-ca.pem")
        with open(self.ca, "w") as f:
            f.write(self.wok.cli("ca").stdout)
        self.assertIsNotNone(self.wok.tls_port)

    def site(self, tls=None, name="www", project="team-a", hosts=None):
        hosts = hosts or [f"{name}.{project}.localhost"]
        return with_tls(site_yaml(name, project, hosts, self.repo_a.url), tls)

    def https(self, host, path="/", cafile=None):
        return tls_request(self.wok.tls_port, host, path, cafile or self.ca)

    def tls_status(self, name="www", project="team-a"):
        return self.wok.site_json(name, project).get("status", {}).get("tls")

    def test_a_site_is_on_https_from_the_local_ca_by_default(self):
        self.wok.apply(self.site(), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        status, headers, body, cert = self.https("www.team-a.localhost")
        self.assertEqual((status, body), (200, b"home of a"))
        self.assertIn("wok local CA", issuer_cn(cert))
        self.assertNotIn("strict-transport-security", headers)
        tls = self.tls_status()
        self.assertEqual(tls["mode"], "auto")
        self.assertEqual(tls["hosts"], ["www.team-a.localhost"])
        self.assertIn("wok local CA", tls["issuer"])
        self.assertTrue(tls["notAfter"].endswith("Z"))
        urls = self.wok.site_json("www", "team-a")["status"]["urls"]
        self.assertEqual(urls, [f"https://www.team-a.localhost:{self.wok.tls_port}/"])
        # Plain HTTP still answers (no redirect unless asked).
        self.assertEqual(self.wok.get("www.team-a.localhost")[0], 200)
        # curl, as the README shows it.
        if shutil.which("curl"):
            r = subprocess.run(["curl", "-s", "--cacert", self.ca, "--resolve",
                                f"www.team-a.localhost:{self.wok.tls_port}:127.0.0.1",
                                f"https://www.team-a.localhost:{self.wok.tls_port}/x/page.html"],
                               capture_output=True, timeout=20)
            self.assertEqual(r.stdout, b"page", r.stderr)
        # A name no site has: the handshake is refused, nothing is served.
        with self.assertRaises(ssl.SSLError):
            self.https("nothing.team-a.localhost")

    def test_http2_by_alpn_with_curl_and_h2load(self):
        self.wok.apply(self.site('{hsts: {maxAge: 1h}}'), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        resolve = f"www.team-a.localhost:{self.wok.tls_port}:127.0.0.1"
        url = f"https://www.team-a.localhost:{self.wok.tls_port}/x/page.html"
        r = subprocess.run(["curl", "-s", "--http2", "--cacert", self.ca, "--resolve", resolve, "-D", "-",
                            "-w", "\nversion=%{http_version}", url], capture_output=True, text=True, timeout=20)
        self.assertIn("version=2", r.stdout, r.stderr)
        self.assertIn("HTTP/2 200", r.stdout)
        self.assertIn("strict-transport-security: max-age=3600", r.stdout)
        self.assertIn("\npage\nversion=2", r.stdout.replace("\r", ""))
        # Many streams on few connections: every request answered.
        r = subprocess.run(["h2load", "-n", "200", "-c", "2", "-m", "10", f"--connect-to=127.0.0.1:{self.wok.tls_port}",
                            url], capture_output=True, text=True, timeout=60)
        self.assertIn("200 succeeded", r.stdout, r.stdout + r.stderr)
        self.assertIn("status codes: 200 2xx", r.stdout)
        # HTTP/1.1 clients still get HTTP/1.1 on the same port.
        r = subprocess.run(["curl", "-s", "--http1.1", "--cacert", self.ca, "--resolve", resolve, "-o", "/dev/null",
                            "-w", "%{http_version}", url], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.stdout, "1.1")

    def test_large_files_arrive_whole_over_http2_and_https(self):
        # Over TLS the router answers files the cache holds (up to 256 KiB)
        # from memory and larger ones from the file: both, over HTTP/2 and
        # HTTP/1.1, with a range, every byte compared.
        files = {"index.html": "home",
                 "mid.txt": "".join(f"{i:07d}\n" for i in range(8200)),      # 65,600 bytes
                 "large.txt": "".join(f"{i:07d}\n" for i in range(40000))}   # 320,000 bytes
        repo = self.repo("big", files)
        self.wok.apply(site_yaml("big", "team-a", ["big.team-a.localhost"], repo.url), token=self.alice)
        self.wok.wait_revision("big", "team-a", 1)
        resolve = f"big.team-a.localhost:{self.wok.tls_port}:127.0.0.1"
        for name in ("mid.txt", "large.txt"):
            url = f"https://big.team-a.localhost:{self.wok.tls_port}/{name}"
            for version in ("--http2", "--http1.1"):
                for attempt in range(2):  # the first fills the cache, the second is served from it
                    r = subprocess.run(["curl", "-sS", version, "--cacert", self.ca, "--resolve", resolve, url, url],
                                       capture_output=True, text=True, timeout=30)
                    self.assertEqual(r.stdout, files[name] * 2, f"{name} {version}: {r.stderr}")
                r = subprocess.run(["curl", "-sS", version, "--cacert", self.ca, "--resolve", resolve,
                                    "-r", "65530-65599", url], capture_output=True, text=True, timeout=30)
                self.assertEqual(r.stdout, files[name][65530:65600], f"{name} {version}: {r.stderr}")
        # Many streams at once on one connection, each answer counted whole.
        r = subprocess.run(["h2load", "-n", "100", "-c", "1", "-m", "20", f"--connect-to=127.0.0.1:{self.wok.tls_port}",
                            f"https://big.team-a.localhost:{self.wok.tls_port}/mid.txt"],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("status codes: 100 2xx", r.stdout, r.stdout + r.stderr)
        data = re.search(r"\((\d+)\) data", r.stdout)  # "traffic: ... 6.26MB (6560000) data"
        self.assertIsNotNone(data, r.stdout)
        self.assertEqual(int(data.group(1)), 100 * 65600)

    def test_redirect_and_hsts_follow_the_spec(self):
        self.wok.apply(self.site('{redirect: true, hsts: {maxAge: 8760h, includeSubDomains: true}}'),
                       token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        status, headers, _ = wait_for(
            lambda: (lambda r: r if r[0] == 308 else None)(self.wok.get("www.team-a.localhost", "/x/page.html?a=1")),
            30, interval=0.1, what="a redirect to https")
        self.assertEqual(headers.get("location"),
                         f"https://www.team-a.localhost:{self.wok.tls_port}/x/page.html?a=1")
        # ACME's HTTP-01 challenges stay on http://.
        self.assertNotEqual(self.wok.get("www.team-a.localhost", "/.well-known/acme-challenge/x")[0], 308)
        status, headers, body, _ = self.https("www.team-a.localhost", "/x/page.html")
        self.assertEqual((status, body), (200, b"page"))
        self.assertEqual(headers["strict-transport-security"], "max-age=31536000; includeSubDomains")
        # Back to no redirect: the next apply changes it, no restart.
        self.wok.apply(self.site("{redirect: false}"), token=self.alice)
        wait_for(lambda: self.wok.get("www.team-a.localhost")[0] == 200, 30, interval=0.1,
                 what="the redirect gone")

    def test_mode_off_serves_http_only(self):
        self.wok.apply(self.site("{mode: 'off'}"), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        self.assertEqual(self.wok.get("www.team-a.localhost")[0], 200)
        with self.assertRaises(ssl.SSLError):
            self.https("www.team-a.localhost")
        self.assertIsNone(self.tls_status())
        urls = self.wok.site_json("www", "team-a")["status"]["urls"]
        self.assertEqual(urls, [f"http://www.team-a.localhost:{self.wok.port}/"])
        # Validation by field: redirect without HTTPS.
        r = self.wok.apply(self.site("{mode: 'off', redirect: true}"), token=self.alice, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.tls.redirect: needs HTTPS: mode is off", r.stderr)

    def make_certificate(self, name, hosts, days=30):
        crt, key = os.path.join(self.root, name + ".crt"), os.path.join(self.root, name + ".key")
        san = ",".join("DNS:" + h for h in hosts)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", crt, "-days", str(days), "-subj", f"/CN={name}",
                        "-addext", f"subjectAltName={san}"], check=True, capture_output=True)
        return crt, key

    def test_mode_secret_uses_the_projects_certificate(self):
        crt, key = self.make_certificate("team-a-own", ["www.team-a.localhost"])
        self.wok.cli("secret", "set", "www-cert", "--from-file", f"tls.crt={crt}", "--from-file",
                     f"tls.key={key}", "-n", "team-a", token=self.alice)
        self.wok.apply(self.site("{mode: secret, secretName: www-cert}"), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        status, _, body, cert = self.https("www.team-a.localhost", cafile=crt)
        self.assertEqual((status, body), (200, b"home of a"))
        self.assertEqual(issuer_cn(cert), "team-a-own")
        tls = self.tls_status()
        self.assertEqual((tls["mode"], tls["secretName"], tls["issuer"]), ("secret", "www-cert", "team-a-own"))
        self.assertNotIn("message", tls)

    def test_a_missing_or_wrong_secret_is_said_in_status(self):
        self.wok.apply(self.site("{mode: secret, secretName: nowhere}"), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        tls = wait_for(lambda: (lambda t: t if t and "message" in t else None)(self.tls_status()), 30,
                       what="status.tls.message")
        self.assertIn("secret nowhere", tls["message"])
        conditions = self.wok.site_json("www", "team-a")["status"]["conditions"]
        cert = [c for c in conditions if c["type"] == "CertificateReady"]
        self.assertEqual(cert[0]["status"], "False", conditions)
        with self.assertRaises(ssl.SSLError):
            self.https("www.team-a.localhost")
        # The site itself still serves over HTTP.
        self.assertEqual(self.wok.get("www.team-a.localhost")[0], 200)
        # A certificate for other names: served, and status says what it misses.
        crt, key = self.make_certificate("elsewhere", ["elsewhere.example"])
        self.wok.cli("secret", "set", "nowhere", "--from-file", f"tls.crt={crt}", "--from-file",
                     f"tls.key={key}", "-n", "team-a", token=self.alice)
        self.wok.cli("refresh", "site", "www", "-n", "team-a", token=self.alice)
        tls = wait_for(lambda: (lambda t: t if t and "does not cover" in t.get("message", "") else None)(
            self.tls_status()), 60, what="status.tls saying what the certificate misses")
        self.assertIn("the certificate does not cover www.team-a.localhost", tls["message"])
        # A key that is not the certificate's.
        _, other_key = self.make_certificate("other", ["www.team-a.localhost"])
        self.wok.cli("secret", "set", "nowhere", "--from-file", f"tls.crt={crt}", "--from-file",
                     f"tls.key={other_key}", "-n", "team-a", token=self.alice)
        self.wok.cli("refresh", "site", "www", "-n", "team-a", token=self.alice)
        tls = wait_for(lambda: (lambda t: t if "does not match" in t.get("message", "") else None)(
            self.tls_status()), 60, what="status.tls saying the key does not match")
        self.assertIn("the private key does not match the certificate", tls["message"])

    def test_a_members_certificate_never_answers_for_another_projects_host(self):
        # team-a's site on its own host, from the local CA.
        self.wok.apply(self.site(), token=self.alice)
        self.wok.wait_revision("www", "team-a", 1)
        # bob's certificate names alice's host too; his site can only route his own.
        crt, key = self.make_certificate("bobs", ["shop.team-b.localhost", "www.team-a.localhost"])
        self.wok.cli("secret", "set", "shop-cert", "--from-file", f"tls.crt={crt}", "--from-file",
                     f"tls.key={key}", "-n", "team-b", token=self.bob)
        self.wok.apply(self.site("{mode: secret, secretName: shop-cert}", name="shop", project="team-b"),
                       token=self.bob)
        self.wok.wait_revision("shop", "team-b", 1)
        self.assertEqual(issuer_cn(self.https("shop.team-b.localhost", cafile=crt)[3]), "bobs")
        _, _, body, cert = self.https("www.team-a.localhost")
        self.assertIn("wok local CA", issuer_cn(cert))
        self.assertEqual(body, b"home of a")
        # bob cannot name team-a's secret from his project either.
        r = self.wok.apply(self.site("{mode: secret, secretName: shop-cert}", name="shop2", project="team-b",
                                     hosts=["www.team-a.localhost"]), token=self.bob, check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_the_ca_endpoint_is_public_and_pem(self):
        with open(self.ca) as f:
            pem = f.read()
        self.assertTrue(pem.startswith("-----BEGIN CERTIFICATE-----"))
        with open(os.path.join(self.wok.data, "ca", "ca.crt")) as f:
            self.assertEqual(f.read(), pem)
        self.assertEqual(os.stat(os.path.join(self.wok.data, "ca", "ca.key")).st_mode & 0o777, 0o600)


@unittest.skipIf(BROWSER_SKIP, BROWSER_SKIP)
class WebSocketOverHttp2Test(WokTestCase):
    def test_a_browser_opens_a_websocket_as_a_stream_of_its_http2_connection(self):
        subprocess.run([os.path.join(SOURCE, "scripts", "npm-install.sh"), os.path.join(SOURCE, "tests", "console")],
                       check=True)
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        repo = self.repo("ws", {"app.py": WS_APP})
        self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: ws, namespace: team-a}}
spec:
  mode: app
  hosts: [ws.team-a.localhost]
  source: {{git: {{url: "{repo.url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, replicas: 1, health: {{path: /}}}}
""")
        self.wok.cli("wait", "site", "ws", "-n", "team-a", "--for=condition=Ready", "--timeout=2m")
        env = dict(os.environ, CHROMIUM=shutil.which("chromium"),
                   SITE_URL=f"https://ws.team-a.localhost:{self.wok.tls_port}/")
        r = subprocess.run(["node", os.path.join(SOURCE, "tests", "console", "websocket_h2.mjs")], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + "\n" + self.wok.logs()[-3000:])
        seen = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(seen["status"], 200)
        self.assertEqual(seen["protocol"], "h2")
        headers, echo = seen["messages"]
        self.assertEqual(echo, "echo hello over h2")
        # The upgrade the app saw came from an HTTP/2 stream: the browser's
        # header names in HTTP/2's lowercase, the key the router made.
        names = headers.split()[1:]
        self.assertIn("sec-websocket-version", names, headers)
        self.assertNotIn("Sec-WebSocket-Version", names, headers)
        self.assertIn("Sec-WebSocket-Key", names, headers)
        self.assertIn("Upgrade", names, headers)


if __name__ == "__main__":
    unittest.main()

"""spec.tls mode auto with an ACME CA (docs/tls.md), end to end against a
real one: Debian's pebble, with pebble-challtestsrv as its DNS. wok up
orders one certificate per site, answers the HTTP-01 challenges on its own
plain port, serves the certificate by SNI without a restart, keeps it across
restarts (no new order), renews it, and says in status why a challenge
failed."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import Wok, project_yaml, site_yaml, unmount_under, wait_for  # noqa: E402
from test_tls import issuer_cn, tls_request  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pebble:
    """pebble and its mock DNS on free loopback ports; every name resolves to
    127.0.0.1 unless told otherwise, and HTTP-01 is checked on `http_port`."""

    def __init__(self, root):
        self.root = root
        self.cert = os.path.join(root, "pebble.crt")
        key = os.path.join(root, "pebble.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", self.cert, "-days", "2", "-subj", "/CN=pebble",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
        self.key = key
        self.port, self.mgmt_port = free_port(), free_port()
        self.dns_port, self.dns_mgmt_port = free_port(), free_port()
        self.directory = f"https://127.0.0.1:{self.port}/dir"
        self.procs = []

    def start(self, http_port):
        config = os.path.join(self.root, "pebble.json")
        with open(config, "w") as f:
            json.dump({"pebble": {"listenAddress": f"127.0.0.1:{self.port}",
                                  "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
                                  "certificate": self.cert, "privateKey": self.key,
                                  "httpPort": http_port, "tlsPort": free_port(),
                                  "ocspResponderURL": "", "externalAccountBindingRequired": False}}, f)
        log = open(os.path.join(self.root, "challtestsrv.log"), "w")
        self.files = [log]
        self.procs.append(subprocess.Popen(
            ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{self.dns_port}",
             "-management", f"127.0.0.1:{self.dns_mgmt_port}", "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
            stdout=log, stderr=subprocess.STDOUT))
        self.log_path = os.path.join(self.root, "pebble.log")
        log = open(self.log_path, "w")
        self.files.append(log)
        # No random sleeps before validating; bad nonces stay (5%): wok retries them.
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1")
        self.procs.append(subprocess.Popen(
            ["pebble", "-config", config, "-dnsserver", f"127.0.0.1:{self.dns_port}"],
            stdout=log, stderr=subprocess.STDOUT, env=env))
        ctx = ssl.create_default_context(cafile=self.cert)

        def up():
            try:
                urllib.request.urlopen(self.directory, context=ctx, timeout=2).read()
                return True
            except OSError:
                return False
        wait_for(up, 20, interval=0.1, what="pebble's directory")
        wait_for(lambda: self.dns_up(), 20, interval=0.1, what="challtestsrv")

    def dns_up(self):
        try:
            with socket.create_connection(("127.0.0.1", self.dns_mgmt_port), timeout=1):
                return True
        except OSError:
            return False

    def resolve(self, host, address):
        body = json.dumps({"host": host, "addresses": [address]}).encode()
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{self.dns_mgmt_port}/add-a", data=body),
                               timeout=5).read()

    def roots(self):
        """pebble's root and intermediate (new at every start), for verifying what it issued."""
        ctx = ssl.create_default_context(cafile=self.cert)
        pem = ""
        for path in ("roots/0", "intermediates/0"):
            pem += urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt_port}/{path}", context=ctx,
                                          timeout=5).read().decode()
        out = os.path.join(self.root, "pebble-roots.pem")
        with open(out, "w") as f:
            f.write(pem)
        return out

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in getattr(self, "files", []):
            f.close()

    def logs(self):
        with open(self.log_path) as f:
            return f.read()


class AcmeBase(unittest.TestCase):
    renew_after = None

    def setUp(self):
        if not shutil.which("pebble") or not shutil.which("pebble-challtestsrv"):
            self.skipTest("pebble is not installed (make deps installs it)")
        self.root = tempfile.mkdtemp(prefix="wok-acme-")
        self.pebble = Pebble(self.root)
        self.wok = self.start_wok()
        self.pebble.start(self.wok.port)
        self.wok.apply(project_yaml("team-a", ["*.team-a.example", "team-a.example"], [("alice", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        repo_dir = os.path.join(self.root, "repos", "www")
        os.makedirs(repo_dir)
        with open(os.path.join(repo_dir, "index.html"), "w") as f:
            f.write("public home")
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"],
                    ["-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-q", "-m", "x"]):
            subprocess.run(["git", "-C", repo_dir, *cmd], check=True, capture_output=True)
        self.repo_url = "file://" + repo_dir

    def start_wok(self, data=None):
        wok = Wok(self.root, data=data, args=["--acme-directory", self.pebble.directory, "--acme-ca-file",
                                              self.pebble.cert, "--acme-email", "ops@example.org"])
        if self.renew_after:
            wok.env["WOK_CERT_RENEW_AFTER_S"] = str(self.renew_after)
        return wok.start()

    def tearDown(self):
        try:
            if self.wok.proc and self.wok.proc.poll() is None:
                self.wok.stop()
            self.wok.close()
            self.pebble.stop()
        finally:
            unmount_under(self.root)
            shutil.rmtree(self.root, ignore_errors=True)

    def apply_site(self, name, hosts):
        self.wok.apply(site_yaml(name, "team-a", hosts, self.repo_url), token=self.alice)

    def tls_status(self, name):
        return self.wok.site_json(name, "team-a").get("status", {}).get("tls")

    def wait_issued(self, name, timeout=90):
        return wait_for(lambda: (lambda t: t if t and t.get("issuer") and "message" not in t else None)(
            self.tls_status(name)), timeout, interval=0.2, what=f"{name}'s certificate from pebble")


class AcmeTest(AcmeBase):
    def test_issuance_restart_and_a_failed_challenge(self):
        self.apply_site("www", ["www.team-a.example", "team-a.example"])
        # Before the CA answers, status says what it waits for.
        tls = self.wait_issued("www")
        self.assertIn("Pebble", tls["issuer"])
        self.assertEqual(sorted(tls["hosts"]), ["team-a.example", "www.team-a.example"])
        roots = self.pebble.roots()
        status, _, body, cert = tls_request(self.wok.tls_port, "www.team-a.example", "/", roots)
        self.assertEqual((status, body), (200, b"public home"))
        self.assertIn("Pebble", issuer_cn(cert))
        serial = cert["serialNumber"]
        self.assertEqual(tls_request(self.wok.tls_port, "team-a.example", "/", roots)[3]["serialNumber"], serial)
        urls = self.wok.site_json("www", "team-a")["status"]["urls"]
        self.assertIn(f"https://www.team-a.example:{self.wok.tls_port}/", urls)
        # The account key and the certificate's are root's alone.
        data = self.wok.data
        self.assertEqual(os.stat(os.path.join(data, "acme", "account.key")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(data, "acme", "certs", "team-a.www.key")).st_mode & 0o777, 0o600)

        # A host the CA cannot reach (its name resolves where nothing answers):
        # the order fails, status says why, and the site still serves HTTP.
        self.pebble.resolve("bad.team-a.example", "127.0.0.2")
        self.apply_site("bad", ["bad.team-a.example"])
        tls = wait_for(lambda: (lambda t: t if t and "validate" in t.get("message", "") else None)(
            self.tls_status("bad")), 90, interval=0.2, what="the failed challenge in status")
        self.assertIn("the CA could not validate bad.team-a.example over HTTP-01", tls["message"])
        self.assertIn("retryAt", tls)
        conditions = self.wok.site_json("bad", "team-a")["status"]["conditions"]
        self.assertIn(("CertificateReady", "False", "CertificateFailed"),
                      [(c["type"], c["status"], c.get("reason")) for c in conditions])
        # A failure is a Warning event (an order under way, CertificatePending, is Normal).
        events = wait_for(lambda: (e := self.wok.cli("get", "events", "-n", "team-a").stdout)
                          and "CertificateFailed" in e and e, 30, interval=0.5, what="the failure as an event")
        self.assertRegex(events, r"Warning\s+CertificateFailed\s+site/bad\s+the CA could not validate")
        with self.assertRaises(ssl.SSLError):
            tls_request(self.wok.tls_port, "bad.team-a.example", "/", roots)
        self.assertEqual(self.wok.get("bad.team-a.example")[0], 200)

        # A restart serves the kept certificate at once, without a new order.
        self.wok.stop()
        self.wok.close()
        self.wok = self.start_wok(data=self.wok.data)
        wait_for(lambda: self.tls_status("www") and self.tls_status("www").get("issuer"), 30,
                 what="the kept certificate")
        cert = wait_for(lambda: self.try_cert("www.team-a.example", roots), 30, what="HTTPS after restart")
        self.assertEqual(cert["serialNumber"], serial)
        time.sleep(1)
        # Counted in wok's own log: pebble's shows a POST again for each bad
        # nonce it hands out (5%), which wok retries.
        orders = [line for line in self.wok.logs().splitlines() if "ordering a certificate" in line]
        self.assertFalse([line for line in orders if "team-a/www:" in line],
                         "only the failing site may order again: " + repr(orders))

    def try_cert(self, host, roots):
        try:
            return tls_request(self.wok.tls_port, host, "/", roots)[3]
        except (OSError, ssl.SSLError):
            return None


class AcmeRenewalTest(AcmeBase):
    renew_after = 3  # every certificate is due 3 s after it begins

    def test_a_certificate_is_renewed_and_served_without_a_restart(self):
        self.apply_site("www", ["www.team-a.example"])
        self.wait_issued("www")
        roots = self.pebble.roots()
        first = tls_request(self.wok.tls_port, "www.team-a.example", "/", roots)[3]["serialNumber"]

        def renewed():
            status, _, body, cert = tls_request(self.wok.tls_port, "www.team-a.example", "/", roots)
            self.assertEqual((status, body), (200, b"public home"))  # served all along
            return cert["serialNumber"] != first
        wait_for(renewed, 60, interval=0.5, what="a renewed certificate")
        # Both are events of the site (issue 17).
        events = wait_for(lambda: (e := self.wok.cli("get", "events", "-n", "team-a").stdout)
                          and "CertificateRenewed" in e and e, 30, interval=0.5, what="the renewal as an event")
        for reason in ("CertificateIssued", "CertificateRenewed"):
            self.assertRegex(events, reason + r"\s+site/www\s+certificate for www\.team-a\.example from \S")


if __name__ == "__main__":
    unittest.main()

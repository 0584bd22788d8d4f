"""Static site features (_headers, _redirects, precompressed siblings) and
the router's observability: access log, /metrics, `wok stats site`."""
import gzip
import os
import re
import socket
import struct
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WokTestCase, project_yaml, site_yaml, wait_for  # noqa: E402


class StaticObservabilityTest(WokTestCase):
    def test_site_rules_logs_metrics_and_stats(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        repo = self.repo("www", {
            "index.html": "<h1>home</h1>",
            "app.js": "console.log('plain')",
            "_headers": "/*\n  X-From-Headers: yes\n",
            "_redirects": "/old /index.html 301\n/app/* /index.html 200\n",
        })
        with open(os.path.join(repo.path, "app.js.gz"), "wb") as f:
            f.write(gzip.compress(b"console.log('plain')"))
        with open(os.path.join(repo.path, "big.bin"), "wb") as f:
            f.write(b"x" * (16 << 20))
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", "gz")
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], repo.url))
        self.wok.wait_revision("www", "team-a", 1)
        host = "www.team-a.localhost"

        code, headers, body = self.wok.get(host, "/app.js", {"Accept-Encoding": "gzip"})
        self.assertEqual(code, 200)
        self.assertEqual(headers.get("content-encoding"), "gzip")
        self.assertEqual(headers.get("vary"), "Accept-Encoding")
        self.assertEqual(gzip.decompress(body), b"console.log('plain')")
        self.assertEqual(headers.get("x-from-headers"), "yes")
        code, headers, _ = self.wok.get(host, "/old?x=1")
        self.assertEqual((code, headers.get("location")), (301, "/index.html?x=1"))
        self.assertEqual(self.wok.get(host, "/app/deep/link")[2], b"<h1>home</h1>")
        self.assertEqual(self.wok.get(host, "/_headers")[0], 404)
        self.assertEqual(self.wok.get(host, "/_redirects")[0], 404)

        # A client that resets the connection in the middle of a large file
        # costs that connection, not the server (no death by SIGPIPE).
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", self.wok.port), timeout=10)
            s.sendall(f"GET /big.bin HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            self.assertTrue(s.recv(1000).startswith(b"HTTP/1.1 200"))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        self.assertIsNone(self.wok.proc.poll(), "wok up died:\n" + self.wok.logs())

        # 8 requests above (the 3 cut short count as 200), then 3 more: 11
        # in all, 2xx: 8, 3xx: 1, 4xx: 2.
        for _ in range(3):
            self.assertEqual(self.wok.get(host, "/")[0], 200)

        log = os.path.join(self.wok.data, "logs", "team-a", "www", "access.log")
        def logged():
            if not os.path.exists(log):
                return None
            with open(log) as f:
                lines = f.read().splitlines()
            return lines if len(lines) >= 11 else None
        lines = wait_for(logged, 10, what="11 access log lines")
        line_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z www\.team-a\.localhost GET (\S+) "
                             r"(\d{3}) (\d+) \d+\.\d{3} -$")
        parsed = [line_re.match(line) for line in lines]
        self.assertTrue(all(parsed), lines)
        self.assertIn(("/old", "301"), [(m.group(1), m.group(2)) for m in parsed])

        scrape = urllib.request.Request(self.wok.api_url + "/metrics",
                                        headers={"Authorization": "Bearer " + self.wok.admin_token})
        metrics = urllib.request.urlopen(scrape, timeout=10).read().decode()
        self.assertRegex(metrics, r'wok_site_requests_total\{project="team-a",site="www",code="2xx"\} 8\n')
        self.assertRegex(metrics, r'wok_site_requests_total\{project="team-a",site="www",code="4xx"\} 2\n')
        self.assertIn('wok_site_request_duration_seconds_count{project="team-a",site="www"} 11\n', metrics)
        self.assertIn("wok_access_log_lines_dropped_total 0\n", metrics)
        # wok up's controllers run on the one reconcile loop, each family once.
        self.assertRegex(metrics, r'wok_reconcile_total\{controller="site"\} [1-9]')
        self.assertRegex(metrics, r'wok_reconcile_total\{controller="cron"\} [1-9]')
        self.assertEqual(metrics.count("# TYPE wok_reconcile_total "), 1)

        out = self.wok.cli("stats", "site", "www", "-n", "team-a", "--minutes", "5").stdout
        self.assertRegex(out, r"requests\s+11\n")
        self.assertRegex(out, r"3xx\s+1\n")
        # The bytes of the body sent, as the access log counted them.
        sent = sum(int(m.group(3)) for m in parsed)
        value, unit = float(sent), 0
        while value >= 1024 and unit < 4:
            value, unit = value / 1024, unit + 1
        human = f"{value:.0f} B" if unit == 0 else f"{value:.1f} {['B', 'KiB', 'MiB', 'GiB', 'TiB'][unit]}"
        self.assertRegex(out, r"bytes\s+" + re.escape(human) + r"\n")
        self.assertRegex(out, r"latency\s+p50 \S+ ms\s+p90 \S+ ms\s+p99 \S+ ms")

        # Same authorization as reading the site.
        token = self.wok.cli("token", "create", "outsider").stdout.strip().split()[-1]
        r = self.wok.cli("stats", "site", "www", "-n", "team-a", token=token, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no access", r.stderr)
        r = self.wok.cli("stats", "site", "nope", "-n", "team-a", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not found", r.stderr)


if __name__ == "__main__":
    unittest.main()

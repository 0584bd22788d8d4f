"""spec.services on the embedded platform: real RabbitMQ and Redis servers
from Debian's packages, run by `wok up` in the site's sandbox and network
(docs/data.md). Needs root (runc, loop-mounted volumes); CI runs it as root."""
import json
import os
import shutil
import unittest
import urllib.parse

from test_database import SKIP, DatabaseCase
from test_modes import app_site
from wokharness import restic, wait_for

# An app that uses its queue (pika, AMQP 0-9-1) and its cache (redis-cli),
# connected as the platform says (QUEUE_URL, CACHE_*).
SERVICES_APP = r"""import http.server, os, subprocess, urllib.parse
import pika
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        try:
            if url.path == '/env':
                body = '\n'.join(f'{k}={v}' for k, v in sorted(os.environ.items())
                                 if k.startswith(('QUEUE_', 'CACHE_')))
            elif url.path == '/cache':
                args = ['redis-cli', '--no-auth-warning', '-h', q.get('host', [os.environ['CACHE_HOST']])[0],
                        '-p', os.environ['CACHE_PORT']] + q['cmd'][0].split()
                env = dict(os.environ, REDISCLI_AUTH=q.get('pw', [os.environ['CACHE_PASSWORD']])[0])
                r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=10)
                body = r.stdout + r.stderr
            elif url.path == '/queue':
                params = pika.URLParameters(q.get('url', [os.environ['QUEUE_URL']])[0])
                params.socket_timeout = 5
                params.connection_attempts = 1
                conn = pika.BlockingConnection(params)
                ch = conn.channel()
                ch.queue_declare(queue='jobs', durable=True)
                if 'put' in q:
                    ch.basic_publish('', 'jobs', q['put'][0].encode(),
                                     pika.BasicProperties(delivery_mode=2))
                    body = 'put'
                else:
                    method, _, msg = ch.basic_get('jobs', auto_ack=True)
                    body = 'got ' + (msg.decode() if msg else '<empty>')
                conn.close()
            else:
                body = 'app'
        except Exception as e:
            body = 'ERR ' + type(e).__name__ + ' ' + str(e)
        data = body.encode()
        self.send_response(200); self.send_header('Content-Length', str(len(data))); self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""

SERVICES_SKIP = SKIP or next((f"missing {b}" for b in ("redis-server", "redis-cli")
                              if not shutil.which(b)), None) or (
    None if os.path.exists("/usr/lib/rabbitmq/bin/rabbitmq-server") else "missing rabbitmq-server")


@unittest.skipIf(SERVICES_SKIP, SERVICES_SKIP)
class ServicesTest(DatabaseCase):
    def test_a_queue_and_a_cache_of_the_sites_own(self):
        repo = self.repo("shop", {"app.py": SERVICES_APP})
        site = app_site("shop", "team-a", repo.url, replicas=1) + (
            "  services: [{name: queue, engine: rabbitmq}, {name: cache, engine: redis, size: 128Mi}]\n")
        self.wok.apply(site, token=self.alice)
        self.wok.wait_revision("shop", "team-a", 1, timeout=180)
        host = "shop.team-a.localhost"
        get = lambda path: self.wok.get(host, path)[2].decode()
        env = dict(line.split("=", 1) for line in get("/env").splitlines())
        self.assertEqual((env["QUEUE_HOST"], env["QUEUE_PORT"], env["QUEUE_USER"]), ("shop-queue", "5672", "shop"))
        self.assertEqual(env["QUEUE_URL"], f"amqp://shop:{env['QUEUE_PASSWORD']}@shop-queue:5672/%2F")
        self.assertEqual(env["CACHE_URL"], f"redis://:{env['CACHE_PASSWORD']}@shop-cache:6379/0")
        self.assertEqual(get("/cache?" + urllib.parse.urlencode({"cmd": "SET greeting hello"})).strip(), "OK")
        self.assertEqual(get("/cache?" + urllib.parse.urlencode({"cmd": "GET greeting"})).strip(), "hello")
        self.assertEqual(get("/queue?put=job-1"), "put")
        # A wrong password gets nothing from either.
        self.assertIn("WRONGPASS", get("/cache?" + urllib.parse.urlencode({"cmd": "GET greeting", "pw": "nope"})))
        bad = env["QUEUE_URL"].replace(env["QUEUE_PASSWORD"], "nope-nope-nope")
        self.assertTrue(get("/queue?" + urllib.parse.urlencode({"url": bad})).startswith("ERR"))
        # Both keep their data across a restart of wok (the queue durable,
        # the cache's append-only file on its volume).
        self.wok.stop()
        self.wok.close()
        self.wok.start()
        wait_for(lambda: get("/cache?" + urllib.parse.urlencode({"cmd": "GET greeting"})).strip() == "hello",
                 120, interval=0.5, what="the cache after a restart")
        wait_for(lambda: get("/queue") == "got job-1", 120, interval=1, what="the queue after a restart")
        # A password changed in the secret applies at the next start of
        # RabbitMQ (its definitions imported at each start), not only the first.
        self.wok.cli("secret", "set", "shop-queue", "password=a-new-queue-password", "-n", "team-a",
                     token=self.alice)
        self.wok.cli("rollout", "restart", "site", "shop", "-n", "team-a", token=self.alice)
        self.wok.wait_revision("shop", "team-a", 2, timeout=180)
        self.assertEqual(dict(line.split("=", 1) for line in get("/env").splitlines())["QUEUE_PASSWORD"],
                         "a-new-queue-password")
        wait_for(lambda: get("/queue?put=job-2") == "put" or None, 60, interval=1,
                 what="the queue with the new password")
        self.assertEqual(get("/queue"), "got job-2")
        self.assertTrue(get("/queue?" + urllib.parse.urlencode({"url": env["QUEUE_URL"]})).startswith("ERR"))
        # Each server is an instance of its own, its volume in the status.
        st = self.wok.site_json("shop", "team-a")["status"]
        self.assertEqual(sorted(i["component"] for i in st["instances"]), ["cache", "queue", "web"])
        self.assertEqual(sorted(v["name"] for v in st.get("storage", [])), ["service:cache", "service:queue"])
        # Another project's site reaches neither, even with the password.
        repo_b = self.repo("spy2", {"app.py": SERVICES_APP})
        self.wok.apply(site.replace("shop", "spy2").replace("team-a", "team-b").replace(
            "  services: [{name: queue, engine: rabbitmq}, {name: cache, engine: redis, size: 128Mi}]\n",
            "  services: [{name: cache, engine: redis}]\n").replace(repo.url, repo_b.url))
        self.wok.wait_revision("spy2", "team-b", 1, timeout=120)
        out = self.wok.get("spy2.team-b.localhost", "/cache?" + urllib.parse.urlencode(
            {"cmd": "GET greeting", "host": "shop-cache", "pw": env["CACHE_PASSWORD"]}))[2].decode()
        self.assertNotIn("hello", out)

    @unittest.skipIf(not shutil.which("restic"), "missing restic")
    def test_a_backup_holds_the_queue_and_the_cache_at_one_point_in_time(self):
        """The cache as Redis's snapshot, the queue as a snapshot of its
        volume (frozen while copied): a restore brings back the messages
        and the value of the backup's moment, not what came after."""
        repo = self.repo("shop", {"app.py": SERVICES_APP})
        self.wok.apply(app_site("shop", "team-a", repo.url, replicas=1) + (
            "  services: [{name: queue, engine: rabbitmq}, {name: cache, engine: redis, size: 128Mi}]\n"),
            token=self.alice)
        self.wok.wait_revision("shop", "team-a", 1, timeout=180)
        host = "shop.team-a.localhost"
        get = lambda path: self.wok.get(host, path)[2].decode()
        cache = lambda cmd: get("/cache?" + urllib.parse.urlencode({"cmd": cmd})).strip()
        self.assertEqual(get("/queue?put=job-1"), "put")
        self.assertEqual(get("/queue?put=job-2"), "put")
        self.assertEqual(cache("SET k one"), "OK")
        backup = self.wok.cli("backup", "create", "site", "shop", "-n", "team-a", token=self.alice).stdout.split()[1]
        manifest = json.loads(restic(self.wok, "dump", backup, "/backup.json"))
        self.assertEqual(manifest["services"], [{"name": "queue", "engine": "rabbitmq"},
                                                {"name": "cache", "engine": "redis", "snapshot": "dump.rdb"}])
        self.assertEqual(manifest["frozen"], ["services/queue"])
        self.assertEqual(get("/queue"), "got job-1")
        self.assertEqual(get("/queue?put=job-3"), "put")
        self.assertEqual(cache("SET k two"), "OK")
        out = self.wok.cli("backup", "restore", "site", "shop", "--backup", backup, "-n", "team-a",
                           token=self.alice).stdout
        self.assertIn("service queue, service cache", out)
        wait_for(lambda: cache("GET k") == "one" or None, 120, interval=0.5, what="the cache restored")
        wait_for(lambda: get("/queue") == "got job-1" or None, 120, interval=1, what="the queue restored")
        self.assertEqual(get("/queue"), "got job-2")
        self.assertEqual(get("/queue"), "got <empty>")  # job-3 came after the backup


if __name__ == "__main__":
    unittest.main()

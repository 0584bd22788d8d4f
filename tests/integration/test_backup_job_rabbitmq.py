"""A RabbitMQ service's data in a cluster's backup (docs/data.md, "Backups on
Kubernetes"): the commands of the backup's init container and the restore's
import container (`wok backup-job rabbitmq-export|rabbitmq-import`, as the
render writes them) against a real RabbitMQ (Debian's rabbitmq-server, its
management plugin enabled as the render enables it: RABBITMQ_ENABLED_PLUGINS),
started here on loopback ports of its own and stopped.

The export holds the definitions and every queue's ready messages, read
without taking them; the import makes the server hold exactly that (queues
made since gone, queues emptied since refilled in their order, with their
properties) and leaves the server's own user and password as they are (a
clone's are its own)."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

from wokharness import WOK, wait_for

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
SKIP = None if os.path.exists(SERVER) else "missing rabbitmq-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RabbitMq:
    """rabbitmq-server on 127.0.0.1 with its management API, user "blog"."""

    def __init__(self, root, password):
        self.dir = os.path.join(root, "rabbitmq")
        os.makedirs(self.dir)
        self.port, self.management, dist, self.epmd = free_port(), free_port(), free_port(), free_port()
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write(f"listeners.tcp.1 = 127.0.0.1:{self.port}\ndefault_user = blog\ndefault_pass = {password}\n"
                    f"loopback_users = none\nmanagement.tcp.ip = 127.0.0.1\n"
                    f"management.tcp.port = {self.management}\ndisk_free_limit.absolute = 16MB\n")
        self.env = dict(os.environ, HOME=self.dir, RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
                        RABBITMQ_LOG_BASE=self.dir, RABBITMQ_LOGS="-", RABBITMQ_NODENAME=f"wok-test-{os.getpid()}@localhost",
                        RABBITMQ_CONFIG_FILE=os.path.join(self.dir, "rabbitmq.conf"),
                        RABBITMQ_ENABLED_PLUGINS="rabbitmq_management",
                        RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir, "enabled_plugins"),
                        RABBITMQ_DIST_PORT=str(dist), ERL_EPMD_PORT=str(self.epmd),
                        RABBITMQ_PID_FILE=os.path.join(self.dir, "pid"))
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen([SERVER], env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.url = f"http://127.0.0.1:{self.management}"

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        # Its own epmd (ERL_EPMD_PORT), started by the server, outlives it.
        subprocess.run(["epmd", "-port", str(self.epmd), "-kill"], capture_output=True)
        self.log.close()

    def said(self):
        with open(os.path.join(self.dir, "log")) as f:
            return f.read()[-3000:]


@unittest.skipIf(SKIP, SKIP)
class RabbitMqBackupJobTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wok-rabbitmq-job-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.password = "the-sites-password-1"
        self.rabbit = RabbitMq(self.root, self.password)
        self.addCleanup(self.rabbit.close)
        wait_for(lambda: self.api("GET", "/api/overview", check=False)[0] == 200 or
                 (self.rabbit.proc.poll() is not None and self.fail(self.rabbit.said())) or None,
                 120, interval=0.5, what="rabbitmq's management API")

    def api(self, method, path, body=None, password=None, check=True):
        request = urllib.request.Request(self.rabbit.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"content-type": "application/json"})
        auth = base64.b64encode(f"blog:{password or self.password}".encode()).decode()
        request.add_header("Authorization", "Basic " + auth)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                text = r.read().decode()
                return r.status, json.loads(text) if text else None
        except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError) as e:
            if check:
                raise
            return getattr(e, "code", 0), None

    def publish(self, queue, text, headers):
        _, routed = self.api("POST", "/api/exchanges/%2F/amq.default/publish",
                             {"properties": {"delivery_mode": 2, "headers": headers, "content_type": "text/plain"},
                              "routing_key": queue, "payload": text, "payload_encoding": "string"})
        self.assertTrue(routed["routed"], queue)

    def messages(self, queue, count=100):
        """The queue's ready messages, taken (ack): what a consumer would get."""
        _, got = self.api("POST", f"/api/queues/%2F/{urllib.parse.quote(queue, safe='')}/get",
                          {"count": count, "ackmode": "ack_requeue_false", "encoding": "auto"})
        return [(m["payload"], m["properties"].get("headers")) for m in got]

    def queues(self):
        return sorted(q["name"] for q in self.api("GET", "/api/queues?columns=name")[1])

    def job(self, action, dir, password=None):
        # The render's arguments (render/backup.cc rabbitmq_container), this
        # server's address in place of the Service's.
        return subprocess.run([WOK, "backup-job", action, "--url", self.rabbit.url, "--user", "blog",
                               "--dir", dir],
                              env=dict(os.environ, WOK_RABBITMQ_PASSWORD=password or self.password),
                              capture_output=True, text=True, timeout=600)

    def test_an_export_brought_back_into_the_server(self):
        self.api("PUT", "/api/queues/%2F/jobs", {"durable": True, "arguments": {"x-max-length": 1000}})
        self.api("PUT", "/api/queues/%2F/mail%20out", {"durable": True})
        self.api("PUT", "/api/exchanges/%2F/events", {"type": "fanout", "durable": True})
        self.api("POST", "/api/bindings/%2F/e/events/q/jobs", {"routing_key": ""})
        for i in range(3):
            self.publish("jobs", f"job {i}", {"n": i})
        self.publish("mail out", "a mail", {"to": "x@example.org"})

        d = os.path.join(self.root, "backup", "services", "queue")
        r = self.job("rabbitmq-export", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(d, "definitions.json")) as f:
            saved = json.load(f)
        self.assertEqual(saved["user"], "blog")
        self.assertIn({"name": "events", "vhost": "/", "type": "fanout", "durable": True, "auto_delete": False,
                       "internal": False, "arguments": {}}, saved["broker"]["exchanges"])
        # Read, not taken: the messages are still there, in their order.
        self.assertEqual(self.messages("jobs", 1), [("job 0", {"n": 0})])

        # Mistakes: a message taken, the mail queue deleted, a queue made,
        # the exchange gone; and the server's password changed (a clone's is
        # its own): the import keeps it.
        self.api("DELETE", "/api/queues/%2F/mail%20out")
        self.api("PUT", "/api/queues/%2F/later", {"durable": True})
        self.publish("later", "made after the backup", {})
        self.api("DELETE", "/api/exchanges/%2F/events")
        self.api("PUT", "/api/users/blog", {"password": "the-clones-password-2", "tags": "administrator"})
        self.password = "the-clones-password-2"

        r = self.job("rabbitmq-import", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.queues(), ["jobs", "mail out"])
        self.assertEqual(self.messages("jobs"), [("job 0", {"n": 0}), ("job 1", {"n": 1}), ("job 2", {"n": 2})])
        self.assertEqual(self.messages("mail out"), [("a mail", {"to": "x@example.org"})])
        _, queue = self.api("GET", "/api/queues/%2F/jobs")
        self.assertEqual(queue["arguments"], {"x-max-length": 1000})
        _, bindings = self.api("GET", "/api/exchanges/%2F/events/bindings/source")
        self.assertEqual([b["destination"] for b in bindings], ["jobs"])
        # The server's user still answers with its own password, not the backup's.
        self.assertEqual(self.api("GET", "/api/whoami")[0], 200)
        self.assertEqual(self.api("GET", "/api/whoami", password="the-sites-password-1", check=False)[0], 401)

        # A directory without an export: nothing to do (a backup made
        # before the service was).
        empty = os.path.join(self.root, "empty")
        os.makedirs(empty)
        r = self.job("rabbitmq-import", empty)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.queues(), ["jobs", "mail out"])

    def test_bad_credentials_and_a_server_that_does_not_answer_are_errors(self):
        d = os.path.join(self.root, "backup")
        r = self.job("rabbitmq-export", d, password="not-the-password")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(f"error: RabbitMQ export from {self.rabbit.url}: GET {self.rabbit.url}/api/definitions: "
                      "HTTP 401", r.stderr)
        self.assertNotIn("not-the-password", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "definitions.json")))
        r = subprocess.run([WOK, "backup-job", "rabbitmq-export", "--url", "ftp://x", "--user", "blog", "--dir", d],
                           env=dict(os.environ, WOK_RABBITMQ_PASSWORD="p"), capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn('--url "ftp://x" is not an http:// or https:// URL', r.stderr)
        r = subprocess.run([WOK, "backup-job", "rabbitmq-export", "--url", self.rabbit.url, "--user", "blog",
                            "--dir", d], env={k: v for k, v in os.environ.items() if k != "WOK_RABBITMQ_PASSWORD"},
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("WOK_RABBITMQ_PASSWORD is not set", r.stderr)
        # An import whose files are not an export: said, nothing deleted.
        self.api("PUT", "/api/queues/%2F/kept", {"durable": True})
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "definitions.json"), "w") as f:
            f.write("not json")
        with open(os.path.join(d, "messages.json"), "w") as f:
            f.write("[]")
        r = self.job("rabbitmq-import", d)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(os.path.join(d, "definitions.json") + " is not JSON", r.stderr)
        self.assertEqual(self.queues(), ["kept"])


if __name__ == "__main__":
    unittest.main()

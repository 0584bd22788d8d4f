"""The router's limits set with `wok up` flags: each answered with its status
and a log line, and bad flag values refused with the flag's name."""
import os
import re
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from wokharness import WOK, WokTestCase, wait_for  # noqa: E402

FLAGS = ["--max-request-line", "256", "--max-header-bytes", "2Ki", "--max-body", "1Ki",
         "--header-timeout", "500ms", "--max-connections", "3"]


class RouterLimitsTest(WokTestCase):
    wok_args = FLAGS

    def status_of(self, data):
        reply = self.wok.raw(data)
        return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else reply

    def test_sizes_and_their_log_lines(self):
        long_target = b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: x.test\r\n\r\n"
        self.assertEqual(self.status_of(long_target), 414)
        # Under the request-line limit, over the header block's.
        big_header = b"GET / HTTP/1.1\r\nHost: x.test\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n"
        self.assertEqual(self.status_of(big_header), 431)
        big_body = b"POST / HTTP/1.1\r\nHost: x.test\r\nContent-Length: 2048\r\n\r\n" + b"c" * 2048
        self.assertEqual(self.status_of(big_body), 413)
        # The defaults would let all three through.
        self.assertEqual(self.status_of(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x.test\r\n\r\n"), 404)
        wait_for(lambda: all(f"status {s}" in self.wok.logs() for s in (413, 414, 431)), 10,
                 what="a log line per limit")

    def test_header_timeout(self):
        # With the default (15s) the 10s socket timeout would fire first.
        s = socket.create_connection(("127.0.0.1", self.wok.port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x")  # and nothing more
        reply = s.recv(4096)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 408"), reply)
        wait_for(lambda: "http limit header_timeout: status 408" in self.wok.logs(), 10, what="the 408 log line")

    def test_trickled_header_gets_408(self):
        # A slowloris client sends a byte now and then, never finishing the
        # head: the header timeout runs from the first byte, not the last.
        s = socket.create_connection(("127.0.0.1", self.wok.port), timeout=10)
        head = b"GET / HTTP/1.1\r\nHost: x.test\r\nX-Slow: " + b"a" * 100
        reply = b""
        for i in range(len(head)):
            s.sendall(head[i:i + 1])
            if select.select([s], [], [], 0.1)[0]:
                reply = s.recv(4096)
                break
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 408"), (i, reply))
        self.assertLess(i, len(head) - 1, "the whole head was trickled without a 408")

    def test_max_connections(self):
        held = [socket.create_connection(("127.0.0.1", self.wok.port), timeout=10) for _ in range(3)]
        for s in held:  # answered, so accepted (and kept alive) before the fourth comes
            s.sendall(b"GET / HTTP/1.1\r\nHost: x.test\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 404"))
        extra = socket.create_connection(("127.0.0.1", self.wok.port), timeout=10)
        try:
            extra.sendall(b"GET / HTTP/1.1\r\nHost: x.test\r\n\r\n")
            self.assertEqual(extra.recv(4096), b"", "a fourth connection was served")
        except ConnectionResetError:
            pass
        extra.close()
        wait_for(lambda: "http limit max_connections" in self.wok.logs(), 10, what="the refusal's log line")
        held.pop().close()
        # A slot is free again: served (the count drops when the router sees the close).
        def served():
            try:
                reply = self.wok.raw(b"GET / HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n")
            except ConnectionResetError:  # still refused: the close is not seen yet
                return False
            return reply.startswith(b"HTTP/1.1 404")
        wait_for(served, 10, what="a connection once one was closed")
        for s in held:
            s.close()


class DescriptorExhaustionTest(unittest.TestCase):
    """`wok serve` with a limit of 64 open files, and 200 clients: the ones it
    has no descriptor for are closed, the process lives, the connections it
    holds are served, and new ones are once descriptors are free again."""

    def test_out_of_descriptors_sheds_connections_and_keeps_serving(self):
        root = tempfile.mkdtemp(prefix="wok-fd-")
        self.addCleanup(shutil.rmtree, root, True)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("hello")
        limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        proc = subprocess.Popen([WOK, "serve", "--root", root, "--listen", "127.0.0.1:0", "--threads", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=limit)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        port = int(re.search(r"127\.0\.0\.1:(\d+)", proc.stdout.readline()).group(1))
        get = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
        first = socket.create_connection(("127.0.0.1", port), timeout=10)
        first.sendall(get)
        self.assertIn(b"hello", first.recv(4096))
        clients, shed = [], 0
        for _ in range(200):
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            c.sendall(get)
            try:
                reply = c.recv(4096)
            except ConnectionResetError:
                reply = b""
            if reply:
                self.assertIn(b"hello", reply)
                clients.append(c)
            else:
                shed += 1
                c.close()
        self.assertGreater(shed, 0, "64 descriptors held 200 connections?")
        self.assertIsNone(proc.poll(), "wok serve died")
        first.sendall(get)  # a connection it holds is still served
        self.assertIn(b"hello", first.recv(4096))
        for c in clients:
            c.close()

        def served():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                    c.sendall(get)
                    return b"hello" in c.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                return False
        wait_for(served, 10, what="a new connection served once descriptors are free")
        first.close()


class BadFlagsTest(unittest.TestCase):
    def test_bad_values_are_refused_with_the_flag_name(self):
        for flag, value, message in [("--idle-timeout", "10", 'error: --idle-timeout "10": is not a duration'),
                                     ("--max-body", "lots", 'error: --max-body "lots": is not a size'),
                                     ("--max-connections", "0", 'error: --max-connections "0": must be a whole number')]:
            r = subprocess.run([WOK, "up", "--data", "/nonexistent/never-created", flag, value],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(message, r.stderr)
            self.assertFalse(os.path.exists("/nonexistent/never-created"))


if __name__ == "__main__":
    unittest.main()

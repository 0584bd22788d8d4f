"""The demo app site: a tiny HTTP server on $PORT (wok sets it)."""
import http.server
import os
import signal
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"Hello from the demo app ({os.environ.get('WOK_COMPONENT', '?')}), path {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# In its sandbox the app is process 1, which the kernel does not kill with a
# signal it has no handler for: stop on SIGTERM (wok's stop, a rollout).
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()

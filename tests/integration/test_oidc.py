"""spec.access.oidc on `wok up` (docs/access.md): an OpenID Connect login in
front of a site, through a small OpenID provider this test starts (HTTPS on
loopback, RS256 ID tokens signed with the openssl CLI, PKCE S256 and the
client secret checked at its token endpoint). The browser is played by
hand: every redirect and cookie is looked at on the way."""
import base64
import hashlib
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from test_access import with_access  # noqa: E402
from test_modes import app_site  # noqa: E402
from wokharness import WokTestCase, project_yaml, wait_for  # noqa: E402

SKIP = "needs root (runc)" if os.geteuid() != 0 else None

ECHO_APP = """import http.server, json, os
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        body = json.dumps({k.lower(): v for k, v in self.headers.items()} | {'path': self.path}).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body)))
        self.send_header('Content-Type', 'application/json'); self.end_headers(); self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
"""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    """An OpenID provider on https://127.0.0.1:PORT: discovery, JWKS,
    authorize (signs in as `self.user` at once), token (checks the client's
    secret, the redirect URI and PKCE), end_session. `tamper` spoils the next
    ID tokens ("nonce", "aud", "sig", "none") as a broken or hostile provider
    would."""

    def __init__(self, workdir, client_id, client_secret):
        self.dir = workdir
        self.client_id, self.client_secret = client_id, client_secret
        self.cert = os.path.join(workdir, "op.pem")
        self.key = os.path.join(workdir, "op-key.pem")
        self.signing_key = os.path.join(workdir, "signing.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True)
        subprocess.run(["openssl", "genrsa", "-out", self.signing_key, "2048"], check=True, capture_output=True)
        modulus = subprocess.run(["openssl", "rsa", "-in", self.signing_key, "-noout", "-modulus"],
                                 check=True, capture_output=True, text=True).stdout.strip().split("=", 1)[1]
        self.jwk = {"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                    "n": b64url(bytes.fromhex(modulus)), "e": b64url((65537).to_bytes(3, "big"))}
        self.user = {"sub": "u-alice", "email": "alice@example.org", "email_verified": True, "groups": ["staff"]}
        self.tamper = None
        self.codes = {}
        self.authorize_requests = []
        self.token_requests = []
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def send(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def send_json(self, obj, status=200):
                self.send(status, json.dumps(obj).encode(), [("Content-Type", "application/json")])

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self.send_json({"issuer": provider.issuer,
                                    "authorization_endpoint": provider.issuer + "/authorize",
                                    "token_endpoint": provider.issuer + "/token",
                                    "jwks_uri": provider.issuer + "/jwks",
                                    "end_session_endpoint": provider.issuer + "/logout",
                                    "token_endpoint_auth_methods_supported": ["client_secret_basic"]})
                elif url.path == "/jwks":
                    self.send_json({"keys": [provider.jwk]})
                elif url.path == "/authorize":
                    provider.authorize_requests.append(q)
                    code = b64url(os.urandom(16))
                    provider.codes[code] = dict(q, user=dict(provider.user))
                    back = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
                    self.send(302, b"", [("Location", back)])
                elif url.path == "/logout":
                    self.send(200, b"signed out at the provider")
                else:
                    self.send(404)

            def do_POST(self):
                if self.path != "/token":
                    return self.send(404)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                provider.token_requests.append(form)
                auth = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(
                    f"{provider.client_id}:{urllib.parse.quote(provider.client_secret, safe='')}".encode()).decode()
                if auth != expected:
                    return self.send_json({"error": "invalid_client"}, 401)
                grant = provider.codes.pop(form.get("code"), None)
                if (not grant or form.get("grant_type") != "authorization_code"
                        or form.get("redirect_uri") != grant["redirect_uri"]):
                    return self.send_json({"error": "invalid_grant"}, 400)
                challenge = b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
                if grant.get("code_challenge_method") != "S256" or challenge != grant.get("code_challenge"):
                    return self.send_json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
                self.send_json({"access_token": "at", "token_type": "Bearer",
                                "id_token": provider.id_token(grant)})

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.issuer = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def id_token(self, grant):
        now = int(time.time())
        claims = dict(grant["user"], iss=self.issuer, aud=self.client_id, iat=now, exp=now + 300,
                      nonce=grant.get("nonce"))
        header = {"alg": "RS256", "kid": "k1", "typ": "JWT"}
        if self.tamper == "nonce":
            claims["nonce"] = "not-this-login"
        if self.tamper == "aud":
            claims["aud"] = "another-client"
        if self.tamper == "none":
            header = {"alg": "none", "typ": "JWT"}
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        if self.tamper == "none":
            return signing_input.decode() + "."
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.signing_key], input=signing_input,
                                   check=True, capture_output=True).stdout
        if self.tamper == "sig":
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        return signing_input.decode() + "." + b64url(signature)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SniConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with another name as SNI and Host (the site's)."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Browser:
    """Cookies by host (and path prefix), redirects followed by hand across
    wok (plain HTTP, any host to its port) and the provider (HTTPS)."""

    def __init__(self, wok, provider, wok_ca=None):
        self.wok, self.provider, self.wok_ca = wok, provider, wok_ca
        self.cookies = {}  # (host, name) -> (value, path)

    def cookie_header(self, host, path):
        pairs = [f"{n}={v}" for (h, n), (v, p) in self.cookies.items() if h == host and path.startswith(p)]
        return "; ".join(pairs)

    def remember(self, host, headers):
        for k, v in headers:
            if k.lower() != "set-cookie":
                continue
            name, _, rest = v.partition("=")
            value, _, attrs = rest.partition(";")
            path = "/"
            for a in attrs.split(";"):
                a = a.strip()
                if a.lower().startswith("path="):
                    path = a[5:]
            if "max-age=0" in attrs.lower():
                self.cookies.pop((host, name), None)
            else:
                self.cookies[(host, name)] = (value, path)

    def request(self, url, method="GET", headers=None, body=None):
        """One request; (status, headers list, body)."""
        u = urllib.parse.urlsplit(url)
        target = u.path + ("?" + u.query if u.query else "")
        h = dict(headers or {})
        to_wok = u.hostname != "127.0.0.1"
        if u.scheme == "https" and to_wok:
            # wok's TLS port, the site's name as SNI, its local CA trusted.
            ctx = ssl.create_default_context(cafile=self.wok_ca)
            conn = SniConnection(u.hostname, self.wok.tls_port, context=ctx, timeout=20)
            if c := self.cookie_header(u.hostname, u.path):
                h["Cookie"] = c
        elif u.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.provider.cert)
            conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.wok.port, timeout=20)
            h["Host"] = u.hostname
            if c := self.cookie_header(u.hostname, u.path):
                h["Cookie"] = c
        conn.request(method, target, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        if to_wok:
            self.remember(u.hostname, r.getheaders())
        return r.status, r.getheaders(), data

    def visit(self, url, **kw):
        """Follows redirects; the final (status, headers, body) and the URLs passed."""
        seen = []
        for _ in range(8):
            status, headers, body = self.request(url, **kw)
            seen.append((status, url))
            location = dict((k.lower(), v) for k, v in headers).get("location")
            if status not in (301, 302, 303, 307, 308) or not location:
                return status, headers, body, seen
            url = urllib.parse.urljoin(url, location)
            kw = {}
        raise AssertionError(f"too many redirects: {seen}")


def header(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


class ProviderTestCase(WokTestCase):
    """`wok up` started after a Provider of its own (whose CA it trusts);
    both stopped after the test."""
    client_secret_value = "s3cret"
    allow_private = True

    def setUp(self):
        self.op_dir = tempfile.mkdtemp(prefix="wok-op-")
        self.provider = Provider(self.op_dir, "wok-app", self.client_secret_value)
        # The provider is on 127.0.0.1, a private address: allowed here unless the test says not.
        self.wok_args = ("--oidc-ca-file", self.provider.cert) + (
            ("--allow-private-sources",) if self.allow_private else ())
        super().setUp()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.provider.close()
            shutil.rmtree(self.op_dir, ignore_errors=True)


@unittest.skipIf(SKIP, SKIP)
class OidcTest(ProviderTestCase):
    client_secret_value = "s3cret/+&="

    def setUp(self):
        os.environ["WOK_READY_TIMEOUT_MS"] = "15000"
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]) + "---\n" +
                       project_yaml("team-b", ["*.team-b.localhost"], [("bob", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.bob = self.wok.cli("token", "create", "bob").stdout.strip()
        self.app_repo = self.repo("app", {"app.py": ECHO_APP})
        ca = os.path.join(self.root, "wok-ca.pem")
        with open(ca, "w") as f:
            f.write(self.wok.cli("ca").stdout)
        self.browser = Browser(self.wok, self.provider, ca)

    def client_secret(self, project, token, name="app-oidc", value=None):
        path = os.path.join(self.root, f"client-secret-{project}")
        with open(path, "w") as f:
            f.write(value if value is not None else self.provider.client_secret)
        self.wok.cli("secret", "set", name, "--from-file", f"client-secret={path}", "-n", project, token=token)

    def site(self, name, project, oidc, exempt=None):
        access = f"{{oidc: {oidc}" + (f", exempt: {json.dumps(exempt)}" if exempt else "") + "}"
        return with_access(app_site(name, project, self.app_repo.url, replicas=1), access)

    def oidc(self, extra=""):
        return (f'{{issuer: "{self.provider.issuer}", clientID: wok-app, secretName: app-oidc'
                + (", " + extra if extra else "") + "}")

    def deploy(self, name="app", project="team-a", token=None, extra="", exempt=("/healthz",)):
        token = token or self.alice
        self.wok.apply(self.site(name, project, self.oidc(extra), list(exempt)), token=token)
        self.wok.wait_revision(name, project, 1)
        host = f"{name}.{project}.localhost"
        # Up once the exempt /healthz answers from the app.
        wait_for(lambda: self.browser.request(f"http://{host}/healthz")[0] == 200, 60, interval=0.3,
                 what=f"{host} up")
        return host

    def sign_in(self, host, path="/"):
        status, headers, body, seen = self.browser.visit(f"http://{host}{path}")
        return status, headers, body, seen

    def test_a_sign_in_before_the_site_tells_it_who_and_signs_out(self):
        self.client_secret("team-a", self.alice)
        host = self.deploy(extra='allowedGroups: [staff], allowedUsers: ["carol@example.org"]')
        # Not signed in: to the provider, with PKCE, state and nonce, and a login cookie kept for the callback only.
        status, headers, _ = self.browser.request(f"http://{host}/docs?x=1")
        self.assertEqual(status, 302)
        location = header(headers, "location")[0]
        self.assertTrue(location.startswith(self.provider.issuer + "/authorize?"), location)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        self.assertEqual(q["response_type"], "code")
        self.assertEqual(q["client_id"], "wok-app")
        self.assertEqual(q["redirect_uri"], f"http://{host}/oauth2/callback")
        self.assertEqual(q["scope"], "openid email profile")
        self.assertEqual(q["code_challenge_method"], "S256")
        self.assertTrue(q["state"] and q["nonce"] and q["code_challenge"])
        login_cookie = header(headers, "set-cookie")[0]
        self.assertIn("_wok_oidc_login=", login_cookie)
        for attr in ("Path=/", "HttpOnly", "SameSite=Lax"):
            self.assertIn(attr, login_cookie)
        # The exempt path needs nobody; a form posted without a session gets 401, not a redirect.
        self.assertEqual(self.browser.request(f"http://{host}/healthz")[0], 200)
        self.assertEqual(self.browser.request(f"http://{host}/", method="POST", body=b"x")[0], 401)

        # alice (group staff) signs in and lands where she was going.
        self.browser.cookies.clear()
        status, headers, body, seen = self.sign_in(host, "/docs?x=1")
        self.assertEqual(status, 200, (body, seen))
        self.assertEqual(seen[-1][1], f"http://{host}/docs?x=1")
        seen_by_app = json.loads(body)
        self.assertEqual(seen_by_app["x-forwarded-user"], "alice@example.org")
        self.assertEqual(seen_by_app["x-forwarded-email"], "alice@example.org")
        self.assertEqual(seen_by_app["x-forwarded-groups"], "staff")
        self.assertNotIn("_wok_oidc", seen_by_app.get("cookie", ""))
        # The provider was asked with the client's secret and the PKCE verifier (it checked both).
        self.assertEqual(len(self.provider.token_requests), 1)
        self.assertIn("code_verifier", self.provider.token_requests[0])
        self.assertIn((host, "_wok_oidc"), self.browser.cookies)
        # A client's own claim of who it is never reaches the site.
        _, _, body = self.browser.request(f"http://{host}/", headers={"X-Forwarded-User": "root",
                                                                      "X-Forwarded-Groups": "admins"})
        self.assertEqual(json.loads(body)["x-forwarded-user"], "alice@example.org")
        self.assertEqual(json.loads(body)["x-forwarded-groups"], "staff")
        _, _, body = self.browser.request(f"http://{host}/healthz", headers={"X-Forwarded-User": "root",
                                                                             "X-Forwarded-Preferred-Username": "root"})
        self.assertNotIn("x-forwarded-user", json.loads(body))
        self.assertNotIn("x-forwarded-preferred-username", json.loads(body))

        # The session outlives a restart of wok (its key is in the data directory).
        self.wok.stop()
        self.wok.start()
        wait_for(lambda: self.browser.request(f"http://{host}/")[0] == 200, 60, interval=0.3, what="back")

        # Signing out ends the session and sends the browser to the provider's end_session.
        status, headers, _ = self.browser.request(f"http://{host}/oauth2/sign_out")
        self.assertEqual(status, 302)
        self.assertTrue(header(headers, "location")[0].startswith(self.provider.issuer + "/logout?client_id=wok-app"))
        self.assertIn("Max-Age=0", header(headers, "set-cookie")[0])
        self.assertEqual(self.browser.request(f"http://{host}/")[0], 302)

        # dave is in no allowed group: the provider signs him in, the site does not let him in.
        self.provider.user = {"sub": "u-dave", "email": "dave@example.org", "groups": ["visitors"]}
        status, _, body, _ = self.sign_in(host)
        self.assertEqual(status, 403)
        self.assertIn(b"dave@example.org is not among the users or groups allowed", body)
        # An unverified email is no user name.
        self.provider.user = {"sub": "u-carol", "email": "carol@example.org", "email_verified": False}
        status, _, body, _ = self.sign_in(host)
        self.assertEqual(status, 403)
        self.assertIn(b"not verified", body)
        self.provider.user = {"sub": "u-carol", "email": "carol@example.org"}
        self.assertEqual(self.sign_in(host)[0], 200)
        # carol is taken off the list: her session stops working at once.
        self.wok.apply(self.site("app", "team-a", self.oidc("allowedGroups: [staff]"), ["/healthz"]),
                       token=self.alice)
        wait_for(lambda: self.browser.request(f"http://{host}/")[0] == 403, 30, interval=0.2, what="carol out")

    def test_what_a_hostile_member_or_provider_tries(self):
        self.client_secret("team-a", self.alice)
        self.client_secret("team-b", self.bob)
        host_a = self.deploy()
        host_b = self.deploy("app", "team-b", token=self.bob)
        self.assertEqual(self.sign_in(host_a)[0], 200)
        session_a = self.browser.cookies[(host_a, "_wok_oidc")][0]
        # team-b's site, same provider and client: team-a's session cookie opens nothing there.
        self.browser.cookies[(host_b, "_wok_oidc")] = (session_a, "/")
        self.assertEqual(self.browser.request(f"http://{host_b}/")[0], 302)
        # An altered cookie is no session.
        flipped = session_a[:10] + ("A" if session_a[10] != "A" else "B") + session_a[11:]
        self.browser.cookies[(host_a, "_wok_oidc")] = (flipped, "/")
        self.assertEqual(self.browser.request(f"http://{host_a}/")[0], 302)
        # Login CSRF: a callback link with someone else's code and state, without this browser's own login cookie.
        self.browser.cookies.clear()
        status, _, body = self.browser.request(f"http://{host_a}/oauth2/callback?code=stolen&state=theirs")
        self.assertEqual(status, 400)
        self.assertIn(b"not started in this browser", body)
        # A callback link used twice (replayed from history or a log) is refused, and the provider not asked again.
        self.browser.cookies.clear()
        status, headers, _ = self.browser.request(f"http://{host_a}/")
        authorize = urllib.parse.urljoin(f"http://{host_a}/", header(headers, "location")[0])
        _, headers, _ = self.browser.request(authorize)
        callback = header(headers, "location")[0]
        pending = dict(self.browser.cookies)
        self.assertEqual(self.browser.request(callback)[0], 302)
        asked = len(self.provider.token_requests)
        self.browser.cookies.update(pending)
        status, _, body = self.browser.request(callback)
        self.assertEqual((status, len(self.provider.token_requests)), (400, asked))
        self.assertIn(b"already used", body)
        # Exempt paths do not open what an application could resolve out of them.
        self.browser.cookies.clear()
        for bypass in ("/healthz/../admin", "/healthz/%2e%2e/admin", "/healthz/..;/admin"):
            self.assertEqual(self.browser.request(f"http://{host_a}{bypass}")[0], 302, bypass)
        self.assertEqual(self.browser.request(f"http://{host_a}/healthz")[0], 200)
        # An open redirect through rd: only a path on the same host.
        for rd in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            self.browser.cookies.clear()
            _, _, _, seen = self.browser.visit(f"http://{host_a}/oauth2/start?rd=" + urllib.parse.quote(rd))
            self.assertEqual(seen[-1][1], f"http://{host_a}/", rd)
        # The provider's tokens, spoiled: each refused with what is wrong.
        for tamper, words in (("nonce", b"nonce"), ("aud", b"not meant for client wok-app"),
                              ("sig", b"signature does not verify"), ("none", b"RS256 and ES256")):
            self.provider.tamper = tamper
            self.browser.cookies.clear()
            status, _, body, _ = self.sign_in(host_a)
            self.assertEqual(status, 502, (tamper, body))
            self.assertIn(words, body, tamper)
            self.assertNotIn(("app.team-a.localhost", "_wok_oidc"), self.browser.cookies)
        self.provider.tamper = None
        # A wrong client secret: the provider refuses the code, and the site says so.
        self.client_secret("team-a", self.alice, value="wrong")
        self.wok.cli("refresh", "site", "app", "-n", "team-a", token=self.alice)
        def refused():
            self.browser.cookies.clear()
            status, _, body, _ = self.sign_in(host_a)
            return body if status == 502 else None
        self.assertIn(b"invalid_client", wait_for(refused, 30, interval=0.3, what="the wrong secret used"))
        # No secret at all: the site is closed (never open), and its status says why.
        self.wok.apply(self.site("app", "team-a", self.oidc().replace("app-oidc", "nowhere"), ["/healthz"]),
                       token=self.alice)
        wait_for(lambda: self.browser.request(f"http://{host_a}/")[0] == 503, 30, interval=0.2, what="closed")

        def access_condition():
            for c in self.wok.site_json("app", "team-a")["status"].get("conditions", []):
                if c["type"] == "AccessReady":
                    return c
            return None
        c = wait_for(access_condition, 30, what="AccessReady")
        self.assertEqual(c["status"], "False")
        self.assertIn("nowhere", c["message"])

    def test_over_https_the_cookies_are_host_only_and_secure(self):
        """A sibling host under the same parent domain (another tenant's
        site) can set a cookie for the parent domain, never a __Host- one:
        over HTTPS the sign-in reads only its __Host- cookies."""
        self.client_secret("team-a", self.alice)
        host = self.deploy()
        port = self.wok.tls_port
        origin = f"https://{host}:{port}"
        wait_for(lambda: self.browser.request(origin + "/healthz")[0] == 200, 60, interval=0.3, what="HTTPS")
        status, headers, _ = self.browser.request(origin + "/")
        self.assertEqual(status, 302)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(header(headers, "location")[0]).query))
        self.assertEqual(q["redirect_uri"], origin + "/oauth2/callback")
        login = header(headers, "set-cookie")[0]
        self.assertTrue(login.startswith("__Host-wok_oidc_login="), login)
        for attr in ("Path=/;", "HttpOnly", "SameSite=Lax", "Secure"):
            self.assertIn(attr, login)
        self.assertNotIn("Domain", login)
        self.browser.cookies.clear()
        status, _, body, seen = self.browser.visit(origin + "/")
        self.assertEqual(status, 200, (body, seen))
        self.assertEqual(json.loads(body)["x-forwarded-user"], "alice@example.org")
        self.assertIn((host, "__Host-wok_oidc"), self.browser.cookies)
        # A session made over plain HTTP, planted under the plain name (as a
        # sibling host could), opens nothing over HTTPS.
        self.browser.cookies.clear()
        self.assertEqual(self.sign_in(host)[0], 200)
        plain = self.browser.cookies[(host, "_wok_oidc")]
        self.browser.cookies.clear()
        self.browser.cookies[(host, "_wok_oidc")] = plain
        self.assertEqual(self.browser.request(origin + "/")[0], 302)

    def test_bad_specs_are_refused_by_field(self):
        for oidc, field, words in (
                ('{issuer: "http://id.example.org", clientID: a, secretName: s}', "spec.access.oidc.issuer", "https://"),
                ('{issuer: "https://id.example.org", clientID: "a b", secretName: s}', "spec.access.oidc.clientID",
                 "printable"),
                ('{issuer: "https://id.example.org", clientID: a, secretName: s, scopes: [email]}',
                 "spec.access.oidc.scopes", "openid"),
                ('{issuer: "https://id.example.org", clientID: a, secretName: s, sessionDuration: 1000h}',
                 "spec.access.oidc.sessionDuration", "720h"),
                ('{issuer: "https://id.example.org", clientID: a}', "spec.access.oidc.secretName", "required")):
            r = self.wok.apply(self.site("app", "team-a", oidc), token=self.alice, check=False)
            self.assertNotEqual(r.returncode, 0, oidc)
            self.assertIn(field, r.stderr, oidc)
            self.assertIn(words, r.stderr, oidc)
        both = self.site("app", "team-a", self.oidc()).replace("access: {", "access: {basicAuth: {secretName: u}, ")
        r = self.wok.apply(both, token=self.alice, check=False)
        self.assertIn("basicAuth or oidc, not both", r.stderr)


class OidcPrivateProviderTest(ProviderTestCase):
    """A member's issuer is a URL wok fetches: on loopback, a private
    network or the cloud metadata address it is refused unless the admin
    allows private sources."""
    allow_private = False

    def test_a_provider_on_a_private_address_is_not_asked(self):
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))
        path = os.path.join(self.root, "cs")
        with open(path, "w") as f:
            f.write("s3cret")
        self.wok.cli("secret", "set", "app-oidc", "--from-file", f"client-secret={path}", "-n", "team-a")
        repo = self.repo("site", {"index.html": "home"})
        for issuer, why in ((self.provider.issuer, b"127.0.0.1 is a loopback address"),
                            ("https://169.254.169.254", b"169.254.169.254 is the cloud metadata address")):
            self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: intranet, namespace: team-a}}
spec:
  mode: static
  hosts: [intranet.team-a.localhost]
  source: {{git: {{url: "{repo.url}", interval: 1h}}}}
  access: {{oidc: {{issuer: "{issuer}", clientID: wok-app, secretName: app-oidc}}}}
""")
            self.wok.wait_revision("intranet", "team-a", 1, at_least=True)
            status, _, body = wait_for(
                lambda: (lambda r: r if r[0] == 502 and issuer.encode() in r[2] else None)(
                    self.wok.get("intranet.team-a.localhost")), 30, interval=0.2, what="refused")
            self.assertIn(why + b", which this server may not reach", body)
        self.assertEqual(self.provider.authorize_requests, [])


if __name__ == "__main__":
    unittest.main()

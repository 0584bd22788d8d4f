"""Issue 13, docs that stay true: every ```sh block of README.md and docs/*.md
runs, as written, against a real `wok up --demo`, or is marked as one that
cannot run here by the line just above it:

    <!-- not run by tests: needs a Kubernetes cluster -->

A block runs with `bash -euo pipefail` in a fresh HOME and working directory
(which has `build/src/wok`, as a checkout does; git knows a user name), `wok`
on PATH and the harness's client config. What the test changes, and only that:

- the documented ports (8080 for sites, 8443 for HTTPS, 7070 for the API) become the ones
  this `wok up` bound, and `/tmp/` becomes a directory of the test;
- `curl` fails on an HTTP error (`--fail-with-body`): an example that shows
  a page must get it (a 503 "being deployed" is retried);
- nothing is interactive: stdin is empty and the editor (`wok edit`) saves
  the file unchanged (EDITOR=true);
- `wok refresh` waits for the site's new revision, as a reader would before
  looking at the history or rolling back.

README.md's blocks run first, on the demo alone, as a newcomer would. The
blocks of docs/ then run in file order against the sites their examples
name: project team-a with the static site `www` (three revisions) and the
app site `api` (component `web`, two replicas), and the files `site.yaml`,
`project.yaml` and `sites/` in the working directory.

A block that fails fails the test with its file, line, the command and its
output; so does an unmarked block that cannot run here. Needs root, runc and
php-fpm (the demo's php and app sites).
"""
import glob
import os
import re
import shutil
import subprocess
import unittest

from wokharness import WOK, GitRepo, WokTestCase, project_yaml, wait_for

NEEDS = [b for b in ("runc", "php-fpm8.2", "curl") if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
MARKER = re.compile(r"^<!-- not run by tests: (\S.*?) -->$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
SHELL = {"sh", "bash", "shell"}
BLOCK_TIMEOUT = 60
OUTPUT_LINES = 30

# Before each block: curl fails on an HTTP error but, as a reader reloading
# the page would, retries a 503 "being deployed" (its Retry-After); `wok
# refresh` returns at once while the rollout it asks for runs, so it waits, as
# a reader would, for the site's new revision (until `wok rollout status`
# can say it in the docs themselves). A failing command says which line it
# was (mapped back to the doc by run_block): the functions return what failed
# (`|| return`) instead of letting -e exit inside them, so that the ERR trap
# names the doc's line.
PREAMBLE = """\
curl() { command curl --fail-with-body --silent --show-error --max-time 20 --retry 10 --retry-max-time 60 "$@" || return; }
__revision() {
  command wok get "$@" -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"].get("revision") or 0)'
}
wok() {
  if [ "${1-}" != refresh ]; then command wok "$@" || return; return; fi
  local before; before=$(__revision "${@:2}")
  command wok "$@" || return
  for _ in $(seq 600); do [ "$(__revision "${@:2}")" != "$before" ] && return; sleep 0.1; done
  echo "wok refresh: no new revision after 60s" >&2; return 1
}
trap 'echo "doc-example-failed: exit $? at script line $LINENO" >&2' ERR
"""


def doc_files():
    return [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))


def shell_blocks(path):
    """(line of the first command, the marker's reason or None, text) of each shell block."""
    with open(path) as f:
        lines = f.read().split("\n")
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(2), m.group(3)
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if lang in SHELL:
            before = next((l.strip() for l in reversed(lines[:i]) if l.strip()), "")
            marker = MARKER.match(before)
            blocks.append((i + 2, marker.group(1) if marker else None, "\n".join(lines[i + 1:end]) + "\n"))
        i = end + 1
    return blocks


class MarkersTest(unittest.TestCase):
    def test_docs_have_shell_blocks_and_markers_name_a_reason(self):
        blocks = [b for f in doc_files() for b in shell_blocks(f)]
        self.assertGreater(len([b for b in blocks if not b[1]]), 5)
        for f in doc_files():
            with open(f) as fh:
                text = fh.read()
            # A marker that does not match (a typo, no reason) would leave its
            # block to run and fail: say so plainly instead.
            markers = re.findall(r"<!--\s*not run by tests.*?-->", text)
            for m in markers:
                self.assertRegex(m, MARKER.pattern[1:-1], f"{f}: malformed marker {m!r}")
            # A marker left behind when its block moved would skip nothing.
            self.assertEqual(len(markers), len([b for b in shell_blocks(f) if b[1]]),
                             f"{f}: a marker that is not just above a ```sh block")


WWW_REVISIONS = 3


@unittest.skipIf(SKIP, SKIP)
class DocsExamplesTest(WokTestCase):
    demo = True

    def setUp(self):
        os.environ.setdefault("WOK_READY_TIMEOUT_MS", "30000")
        super().setUp()
        self.home = os.path.join(self.root, "home")
        self.work = os.path.join(self.root, "work")
        self.tmp = os.path.join(self.root, "tmp")
        bindir = os.path.join(self.work, "build", "src")
        for d in (self.home, self.tmp, bindir):
            os.makedirs(d)
        # A copy (a link when it can): the binary of the checkout may be
        # relinked by a build while the test runs.
        try:
            os.link(os.path.realpath(WOK), os.path.join(bindir, "wok"))
        except OSError:
            shutil.copy2(os.path.realpath(WOK), os.path.join(bindir, "wok"))
        # The newcomer's git knows who they are.
        with open(os.path.join(self.home, ".gitconfig"), "w") as f:
            f.write("[user]\n\tname = Docs Reader\n\temail = reader@example.org\n")
        self.env = dict(self.wok.env, HOME=self.home, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                        TMPDIR=self.tmp, EDITOR="true", VISUAL="true")
        self.env.pop("WOK_TOKEN", None)

    def substitute(self, text):
        text = re.sub(r"(localhost|127\.0\.0\.1):8080\b", rf"\1:{self.wok.port}", text)
        text = re.sub(r"(localhost|127\.0\.0\.1):8443\b", rf"\1:{self.wok.tls_port}", text)
        text = text.replace("127.0.0.1:7070", f"127.0.0.1:{self.wok.api_port}")
        return text.replace("/tmp/", self.tmp + "/")

    def run_block(self, path, line, text):
        script = PREAMBLE + self.substitute(text)
        try:
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=self.work, env=self.env,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
            out, code = r.stdout + r.stderr, r.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
            out, code = out + f"\n(still running after {BLOCK_TIMEOUT}s)", None
        if os.environ.get("WOK_DOCS_VERBOSE"):
            print(f"\n=== {os.path.relpath(path, REPO)}:{line} (exit {code})\n{out}")
        if code == 0:
            return None
        where = f"{os.path.relpath(path, REPO)}:{line}"
        m = re.search(r"doc-example-failed: exit (\d+) at script line (\d+)", out)
        if m:
            offset = int(m.group(2)) - PREAMBLE.count("\n") - 1
            command = text.split("\n")[offset] if 0 <= offset < text.count("\n") else "?"
            where = f"{os.path.relpath(path, REPO)}:{line + offset}"
            out = out.replace(m.group(0), f"failed (exit {m.group(1)}): {command}")
        lines = out.rstrip().split("\n")
        if len(lines) > OUTPUT_LINES:
            lines = [f"[... {len(lines) - OUTPUT_LINES} lines ...]"] + lines[-OUTPUT_LINES:]
        return f"--- {where} (the shell block of line {line}) failed (exit {code}):\n" + "\n".join(lines) + "\n"

    def wait_ready(self, project, name, revision, at_least=False):
        self.wok.wait_revision(name, project, revision, timeout=90, at_least=at_least)

        def ready():
            conds = self.wok.site_json(name, project).get("status", {}).get("conditions", [])
            return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
        wait_for(ready, 90, interval=0.2, what=f"{project}/{name} Ready")

    def the_examples_world(self):
        """What the examples of docs/ name: team-a, its sites www and api, and files."""
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"],
                                    members=[("alice", "admin"), ("bob", "developer")]))
        www = GitRepo(os.path.join(self.root, "repos", "www"))
        www.write({"public/index.html": "<h1>www 1</h1>\n"}, "v1")
        www_yaml = f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: www, namespace: team-a}}
spec:
  mode: static
  hosts: [www.team-a.localhost]
  source: {{git: {{url: "{www.url}", path: public, interval: 1h}}}}
"""
        self.wok.apply(www_yaml)
        self.wait_ready("team-a", "www", 1)
        for n in range(2, WWW_REVISIONS + 1):
            www.write({"public/index.html": f"<h1>www {n}</h1>\n"}, f"v{n}")
            self.wok.cli("refresh", "site", "www", "-n", "team-a")
            self.wait_ready("team-a", "www", n)
        api = GitRepo(os.path.join(self.root, "repos", "api"))
        with open(os.path.join(REPO, "examples", "demo-app", "app.py")) as f:
            api.write({"app.py": f.read()}, "v1")
        self.wok.apply(f"""apiVersion: wok.dev/v1alpha1
kind: Site
metadata: {{name: api, namespace: team-a}}
spec:
  mode: app
  hosts: [api.team-a.localhost]
  source: {{git: {{url: "{api.url}", interval: 1h}}}}
  app:
    components:
      - {{name: web, command: [python3, app.py], port: 8080, replicas: 2, health: {{path: /}}}}
""")
        self.wait_ready("team-a", "api", 1)
        with open(os.path.join(self.work, "site.yaml"), "w") as f:
            f.write(www_yaml)
        with open(os.path.join(self.work, "project.yaml"), "w") as f:
            f.write(project_yaml("team-a", ["*.team-a.localhost"]))
        os.makedirs(os.path.join(self.work, "sites"))
        with open(os.path.join(self.work, "sites", "www.yaml"), "w") as f:
            f.write(www_yaml.replace(", namespace: team-a", ""))

    def test_every_runnable_shell_example_of_the_docs_runs(self):
        # As getting-started says: a few seconds later, the three demo sites.
        for name in ("www", "php", "app"):
            self.wait_ready("demo", name, 1)
        failures, ran, marked = [], [], []
        files = doc_files()
        for path in files:
            if path == files[1]:
                self.the_examples_world()
            for line, reason, text in shell_blocks(path):
                where = f"{os.path.relpath(path, REPO)}:{line}"
                if reason:
                    marked.append(f"{where} ({reason})")
                    continue
                ran.append(where)
                failure = self.run_block(path, line, text)
                if failure:
                    failures.append(failure)
        print(f"\nran {len(ran)} shell blocks: {', '.join(ran)}")
        print(f"not run, as marked: {'; '.join(marked)}")
        if failures:
            self.fail(f"{len(failures)} of {len(ran)} shell blocks of the docs failed:\n" + "\n".join(failures)
                      + "\n(a block that cannot run here needs <!-- not run by tests: REASON --> above it)")


if __name__ == "__main__":
    unittest.main()

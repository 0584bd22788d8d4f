"""Issue 13, the kubectl habits: `wok apply --wait` and `wok rollout status`
(progress, exit code and the build's error when the new revision fails),
`wok rollout restart`, `wok delete` of several names and of a file's objects,
`-o jsonpath` / `-o name`, "unknown command", completion. Real `wok up`, real
git, builds in their real sandbox (needs root and runc; CI runs it as root)."""
import os
import shutil
import subprocess
import unittest

from wokharness import WOK, WokTestCase, project_yaml, site_yaml

NEEDS = [b for b in ("runc",) if not shutil.which(b) and not os.path.exists("/usr/sbin/" + b)]
SKIP = "needs root" if os.geteuid() != 0 else ("missing " + ", ".join(NEEDS) if NEEDS else None)

# A build that takes a few seconds, so that a waiting client sees it running.
GOOD_BUILD = '{command: [sh, -c, "sleep 3; mkdir -p o; echo %s > o/index.html"], output: o}'
BAD_BUILD = '{command: [sh, -c, "echo compiling; echo broken-build-marker: no such module >&2; exit 3"], output: o}'


@unittest.skipIf(SKIP, SKIP)
class CliHabitsTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"]))

    def site(self, name, build=None, repo=None):
        repo = repo or self.repo(name, {"index.html": name + "\n"})
        return site_yaml(name, "team-a", [f"{name}.team-a.localhost"], repo.url, build=build)

    def test_apply_wait_returns_once_served_and_fails_with_the_builds_error(self):
        repo = self.repo("www", {"README": "x"})
        r = self.wok.cli("apply", "-f", "-", "--wait", "--timeout", "3m",
                         stdin=self.site("www", GOOD_BUILD % "v1", repo))
        self.assertIn("site.wok.dev/www created", r.stdout)
        self.assertIn('Waiting for site "www" rollout to finish: building commit', r.stdout)
        self.assertIn('site "www" successfully rolled out (revision 1, commit', r.stdout)
        # --wait returned: the site answers now, no polling needed.
        status, _, body = self.wok.get("www.team-a.localhost")
        self.assertEqual((status, body.strip()), (200, b"v1"))

        r = self.wok.cli("apply", "-f", "-", "--wait", stdin=self.site("www", BAD_BUILD, repo), check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("site.wok.dev/www configured", r.stdout)
        self.assertIn('error: site "www" (project team-a): revision 2 failed', r.stderr)
        self.assertIn("broken-build-marker: no such module", r.stderr)
        # The same answer from rollout status, kubectl's exit code 1; v1 still serves.
        r = self.wok.cli("rollout", "status", "site", "www", "-n", "team-a", check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("revision 2 failed", r.stderr)
        self.assertEqual(self.wok.get("www.team-a.localhost")[2].strip(), b"v1")

    def test_rollout_restart_makes_a_new_revision_of_the_same_commit(self):
        self.wok.cli("apply", "-f", "-", "--wait", stdin=self.site("www"))
        commit = self.wok.cli("get", "site", "www", "-n", "team-a", "-o", "jsonpath={.status.commit}").stdout
        self.assertEqual(len(commit), 40, commit)
        r = self.wok.cli("rollout", "restart", "site", "www", "-n", "team-a")
        self.assertEqual(r.stdout, "site.wok.dev/www restarted\n")
        r = self.wok.cli("rollout", "status", "site", "www", "-n", "team-a", "--timeout", "2m")
        self.assertIn(f'site "www" successfully rolled out (revision 2, commit {commit[:7]})', r.stdout)
        out = self.wok.cli("get", "site", "www", "-n", "team-a", "-o",
                           "jsonpath={.status.revision} {.status.commit} {.spec.hosts[0]}").stdout
        self.assertEqual(out, f"2 {commit} www.team-a.localhost")
        self.assertEqual(self.wok.get("www.team-a.localhost")[:1], (200,))
        # Without a restart, the same spec and commit make no new revision.
        r = self.wok.cli("rollout", "status", "site", "www", "-n", "team-a")
        self.assertIn("(revision 2,", r.stdout)
        # Before the fix a restart made nothing: the reconciler skipped the same spec and commit.
        self.wok.cli("rollout", "restart", "site", "www", "-n", "team-a")
        r = self.wok.cli("rollout", "status", "site", "www", "-n", "team-a", "--timeout", "2m")
        self.assertIn("(revision 3,", r.stdout)

    def test_delete_several_names_and_a_files_objects(self):
        files = {n: self.site(n) for n in ("a", "b", "c")}
        self.wok.apply("---\n".join(files.values()))
        names = self.wok.cli("get", "sites", "-n", "team-a", "-o", "jsonpath={.items[*].metadata.name}").stdout
        self.assertEqual(sorted(names.split()), ["a", "b", "c"])
        r = self.wok.cli("delete", "site", "a", "nope", "b", "-n", "team-a", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "site.wok.dev/a deleted\nsite.wok.dev/b deleted\n", r.stderr)
        self.assertIn('site "nope" not found in project "team-a"', r.stderr)
        path = os.path.join(self.root, "c.yaml")
        with open(path, "w") as f:
            f.write(files["c"])
        self.assertEqual(self.wok.cli("delete", "-f", path).stdout, "site.wok.dev/c deleted\n")
        r = self.wok.cli("get", "sites", "-n", "team-a", "-o", "name")
        self.assertEqual(r.stdout, "")
        self.assertIn("No resources found", r.stderr)
        self.assertEqual(self.wok.cli("delete", "-f", "-", stdin=project_yaml("team-a", [])).stdout,
                         "project.wok.dev/team-a deleted\n")

    def test_unknown_command_help_and_completion(self):
        r = self.wok.cli("frobnicate", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, 'error: unknown command "frobnicate" for "wok"\nRun \'wok --help\' for usage.\n')
        r = self.wok.cli("rollout", "status", "--help")
        self.assertIn("-n,--namespace", r.stdout)
        self.assertIn("Examples:", r.stdout)
        script = self.wok.cli("completion", "bash").stdout
        out = subprocess.run(["bash", "-c", script + '\nCOMP_WORDS=(wok rollout re); COMP_CWORD=2; _wok; '
                              'echo "${COMPREPLY[*]}"'], capture_output=True, text=True, check=True).stdout
        self.assertEqual(out.split(), ["restart"])
        self.assertTrue(os.path.exists(WOK))

    def test_tokens_named_listed_with_last_use_and_revoked(self):
        token = self.wok.cli("token", "create", "alice", "--name", "alice-laptop").stdout.strip()
        self.assertRegex(token, r"^[0-9a-f]{64}$")
        other = self.wok.cli("token", "create", "bob").stdout.strip()
        self.wok.cli("get", "projects", token=token)  # a use
        listing = self.wok.cli("token", "list").stdout
        lines = {line.split()[0]: line for line in listing.splitlines()[1:]}
        self.assertIn("alice-laptop", lines)
        self.assertRegex(lines["alice-laptop"], r"alice\s+user\s+\S+ ago\s+\S+ ago$")
        bob = [n for n in lines if n.startswith("bob-")]
        self.assertEqual(len(bob), 1, listing)
        self.assertTrue(lines[bob[0]].endswith("never"), listing)
        self.assertTrue(any("platform admin" in line for line in lines.values()), listing)
        # At rest only hashes: no file of the data directory holds a token.
        for dirpath, _, names in os.walk(self.wok.data):
            for n in names:
                path = os.path.join(dirpath, n)
                if os.path.isfile(path) and os.path.getsize(path) < 64 << 20 and "runtime" not in path:
                    with open(path, "rb") as f:
                        data = f.read()
                    self.assertNotIn(token.encode(), data, path)
                    self.assertNotIn(other.encode(), data, path)

        # A member revokes nothing, not even the admin's or another's token.
        for name in (bob[0], [n for n, line in lines.items() if "platform admin" in line][0]):
            r = self.wok.cli("token", "revoke", name, token=token, check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn("only the platform admin", r.stderr)
        self.wok.cli("get", "projects", token=other)
        self.assertEqual(self.wok.cli("token", "revoke", "alice-laptop").stdout, "token alice-laptop revoked\n")
        r = self.wok.cli("get", "projects", token=token, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refused the token", r.stderr)
        self.wok.cli("get", "projects", token=other)  # the others still work
        admin = [n for n, line in lines.items() if "platform admin" in line][0]
        r = self.wok.cli("token", "revoke", admin, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot be revoked", r.stderr)
        r = self.wok.cli("token", "list", token=other, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("only the platform admin", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

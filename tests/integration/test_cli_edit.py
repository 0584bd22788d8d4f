"""`wok edit` (issue 13, the kubectl habits): the object in the user's
editor, replaced on save; a refused edit reopens with the reason; an
unchanged file changes nothing. Real `wok up`, the real CLI, EDITOR set to
a command that edits the file."""
import os
import unittest

from wokharness import WokTestCase, project_yaml, site_yaml


class EditTest(WokTestCase):
    def setUp(self):
        super().setUp()
        self.wok.apply(project_yaml("team-a", ["*.team-a.localhost"], [("alice", "developer")]))
        self.alice = self.wok.cli("token", "create", "alice").stdout.strip()
        self.repo_ = self.repo("www", {"index.html": "hi"})
        self.wok.apply(site_yaml("www", "team-a", ["www.team-a.localhost"], self.repo_.url), token=self.alice)

    def edit(self, editor, *args, token=None):
        env_backup = dict(self.wok.env)
        self.wok.env["EDITOR"] = editor
        self.wok.env.pop("VISUAL", None)
        try:
            return self.wok.cli("edit", *args, token=token, check=False)
        finally:
            self.wok.env = env_backup

    def test_a_saved_edit_replaces_the_object(self):
        r = self.edit("sed -i 's/interval: 1h/interval: 2h/'", "site", "www", "-n", "team-a", token=self.alice)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("site.wok.dev/www edited", r.stdout)
        site = self.wok.site_json("www", "team-a")
        self.assertEqual(site["spec"]["source"]["git"]["interval"], "2h")
        self.assertEqual(site["metadata"]["generation"], 2)

    def test_an_unchanged_file_changes_nothing(self):
        r = self.edit("true", "site", "www", "-n", "team-a", token=self.alice)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Edit cancelled", r.stdout)
        self.assertEqual(self.wok.site_json("www", "team-a")["metadata"]["generation"], 1)

    def test_a_refused_edit_reopens_with_the_reason_then_gives_up_keeping_the_copy(self):
        # The editor makes the same bad change each time it opens: the second
        # time the file is saved as it was, so wok gives up.
        log = os.path.join(self.root, "opened")
        editor = f"sh -c 'cat \"$0\" >> {log}; sed -i \"s/mode: static/mode: bogus/\" \"$0\"'"
        r = self.edit(editor, "site", "www", "-n", "team-a", token=self.alice)
        self.assertEqual(r.returncode, 1)
        self.assertIn("spec.mode", r.stderr)
        self.assertIn("A copy of your changes is in", r.stderr)
        with open(log) as f:
            opened = f.read()
        self.assertIn("# error:", opened, "the second opening shows the reason")
        copy = r.stderr.split("A copy of your changes is in ")[-1].strip()
        self.assertTrue(os.path.exists(copy))
        os.unlink(copy)
        self.assertEqual(self.wok.site_json("www", "team-a")["spec"]["mode"], "static")

    def test_a_member_cannot_edit_another_projects_site(self):
        self.wok.apply(project_yaml("team-b", ["*.team-b.localhost"]))
        self.wok.apply(site_yaml("other", "team-b", ["other.team-b.localhost"], self.repo_.url))
        r = self.edit("sed -i 's/interval: 1h/interval: 2h/'", "site", "other", "-n", "team-b", token=self.alice)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.wok.site_json("other", "team-b")["spec"]["source"]["git"]["interval"], "1h")


if __name__ == "__main__":
    unittest.main(verbosity=2)

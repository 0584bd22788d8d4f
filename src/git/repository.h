#pragma once
// Fetching site sources with libgit2: a bare mirror per site, fetched on
// demand, and a checkout of one commit into a plain directory.
#include <string>

#include "git/fetch_limits.h"

namespace wok::git {

struct FetchResult {
  bool ok = false;
  std::string commit;  // full 40-hex id that `ref` resolved to
  // Who wrote that commit, "Name <email>" as git shows it: control
  // characters made spaces, at most 200 bytes (the repository is the tenant's).
  std::string author;
  std::string error;  // when !ok: what failed, for the Site's status
};

// Fetches `url` (file://, https://, or a local path) into the bare repository
// at `mirror_dir` (created if missing) and resolves `ref`: a branch, a tag or
// a commit id. Thread-safe for different mirror_dir values.
// `limits` bound the transfer's time and size (any source), and refuse a
// network URL whose host is on loopback, link-local or private networks,
// before connecting; redirects are then not followed either.
FetchResult fetch(const std::string& url, const std::string& ref, const std::string& mirror_dir,
                  const FetchLimits& limits = {});

// Writes the tree of `commit` from the bare repository `mirror_dir` into
// `target_dir` (created; must not exist or be empty). Returns "" or an error.
std::string checkout(const std::string& mirror_dir, const std::string& commit,
                     const std::string& target_dir);

// Creates (or updates) a non-bare repository at `repo_dir` whose branch
// `branch` holds a commit of every file under `source_dir`. Used by the demo
// and by tests. Returns the new commit id, or "" and sets *error.
std::string commit_directory(const std::string& source_dir, const std::string& repo_dir,
                             const std::string& branch, const std::string& message,
                             std::string* error);

}  // namespace wok::git

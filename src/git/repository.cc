#include "git/repository.h"

#include <git2.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "base/text.h"
#include "git/checked_stream.h"
#include "git/libgit2_ptr.h"

namespace wok::git {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// fetch

// The "user:token" part of "https://user:token@host/...", or "".
std::string userinfo_of(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t host = scheme + 3;
  const size_t at = url.find('@', host);
  const size_t slash = url.find('/', host);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return "";
  return url.substr(host, at - host);
}

// Credentials in a URL must not end up in a Site's status, which every member
// of the project can read; libgit2 messages may quote the URL, so the whole
// text is scrubbed, not just our own mention of the URL.
std::string redact(std::string text, const std::string& url) {
  const std::string secret = userinfo_of(url);
  if (secret.empty()) return text;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
    text.replace(pos, secret.size(), "***");
  }
  return text;
}

// libgit2 reports a missing local path as "unsupported URL protocol", since
// anything that is not an existing directory is taken for a URL.
bool is_missing_local_path(const std::string& url) {
  const bool local =
      url.find("://") == std::string::npos &&
      (url.starts_with('/') || url.starts_with('.') || url.find(':') == std::string::npos);
  std::error_code ec;
  return local && !fs::is_directory(url, ec);
}

std::string oid_hex(const git_oid& oid) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &oid);
  return hex;
}

// Opens the bare mirror, creating it on first use.
std::string open_or_init_mirror(const std::string& dir, RepositoryPtr& repo) {
  if (git_repository_open_bare(out(repo), dir.c_str()) == 0) return "";
  if (git_repository_init(out(repo), dir.c_str(), /*is_bare=*/1) == 0) return "";
  return "cannot create mirror " + dir + ": " + last_git_error();
}

// Branches go to refs/remotes/origin/* rather than refs/heads/* so that a
// branch and a tag of the same name never collide, and pruning keeps the
// mirror equal to the remote (a deleted branch must not stay deployable).
// libgit2 calls these as data arrives; a non-zero return aborts the fetch.
int on_transfer_progress(const git_indexer_progress* stats, void* payload) {
  auto* budget = static_cast<TransferBudget*>(payload);
  return budget->check(stats->received_bytes, TransferBudget::Clock::now()).empty() ? 0 : -1;
}

int on_sideband_progress(const char*, int, void* payload) {
  auto* budget = static_cast<TransferBudget*>(payload);
  return budget->check(0, TransferBudget::Clock::now()).empty() ? 0 : -1;
}

std::string fetch_into(git_repository* repo, const std::string& url, const FetchLimits& limits) {
  // Before the remote, which may still hold streams that point at it.
  const auto start = TransferBudget::Clock::now();
  ConnectionPolicy policy{
      limits, start + std::min<std::chrono::seconds>(limits.timeout, std::chrono::hours(24 * 365)),
      ""};
  ConnectionPolicyScope scope(policy);
  // An anonymous remote (no name, nothing written to the mirror's config)
  // that skips url.<base>.insteadOf: the server's own git config must not
  // rewrite a site's URL, and libgit2 1.5 leaks pcre2 match data on every
  // config entry that lookup scans (fixed upstream by libgit2 PR #6382).
  git_remote_create_options create_opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
  create_opts.repository = repo;
  create_opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  RemotePtr remote;
  if (git_remote_create_with_opts(out(remote), url.c_str(), &create_opts) < 0) {
    return last_git_error();
  }
  const char* specs[] = {"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"};
  git_strarray refspecs{const_cast<char**>(specs), std::size(specs)};
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.prune = GIT_FETCH_PRUNE;
  // Tags come from the explicit refspec above, not from auto-following.
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  // The destination was checked before connecting; a redirect would go
  // wherever the server says, the metadata address included.
  if (!limits.allow_private_networks) opts.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
  TransferBudget budget(limits, start);
  opts.callbacks.transfer_progress = on_transfer_progress;
  opts.callbacks.sideband_progress = on_sideband_progress;
  opts.callbacks.payload = &budget;
  if (git_remote_fetch(remote.get(), &refspecs, &opts, "wok fetch") < 0) {
    if (!policy.stopped.empty()) return policy.stopped;
    return budget.exceeded().empty() ? last_git_error() : budget.exceeded();
  }
  return "";
}

// The references `ref` may name, most specific meaning first.
std::vector<std::string> candidate_refs(const std::string& ref) {
  const std::string heads = "refs/heads/";
  if (ref.starts_with(heads)) return {"refs/remotes/origin/" + ref.substr(heads.size())};
  if (ref.starts_with("refs/tags/")) return {ref};
  return {"refs/remotes/origin/" + ref, "refs/tags/" + ref};
}

// Annotated tags are peeled: a deployment is always of a commit.
std::optional<git_oid> peel_to_commit(git_repository* repo, const std::string& name) {
  ReferencePtr ref;
  if (git_reference_lookup(out(ref), repo, name.c_str()) < 0) return std::nullopt;
  ObjectPtr commit;
  if (git_reference_peel(out(commit), ref.get(), GIT_OBJECT_COMMIT) < 0) return std::nullopt;
  return *git_object_id(commit.get());
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

enum class Lookup { kFound, kNotFound, kAmbiguous };

// A full or abbreviated commit id; it only resolves if the commit was fetched,
// i.e. is reachable from some branch or tag of the remote.
Lookup lookup_commit_id(git_repository* repo, const std::string& ref, git_oid* found) {
  if (ref.size() < GIT_OID_MINPREFIXLEN || ref.size() > GIT_OID_HEXSZ || !is_hex(ref)) {
    return Lookup::kNotFound;
  }
  git_oid prefix;
  if (git_oid_fromstrn(&prefix, ref.data(), ref.size()) < 0) return Lookup::kNotFound;
  ObjectPtr commit;
  const int rc =
      git_object_lookup_prefix(out(commit), repo, &prefix, ref.size(), GIT_OBJECT_COMMIT);
  if (rc == GIT_EAMBIGUOUS) return Lookup::kAmbiguous;
  if (rc < 0) return Lookup::kNotFound;
  *found = *git_object_id(commit.get());
  return Lookup::kFound;
}

FetchResult resolve_ref(git_repository* repo, const std::string& ref, const std::string& url) {
  FetchResult result;
  for (const std::string& name : candidate_refs(ref)) {
    if (auto oid = peel_to_commit(repo, name)) {
      result.ok = true;
      result.commit = oid_hex(*oid);
      return result;
    }
  }
  git_oid oid;
  switch (lookup_commit_id(repo, ref, &oid)) {
    case Lookup::kFound:
      result.ok = true;
      result.commit = oid_hex(oid);
      break;
    case Lookup::kAmbiguous:
      result.error = "ref \"" + ref + "\" is an ambiguous commit id in " + url;
      break;
    case Lookup::kNotFound:
      result.error = "ref \"" + ref + "\" not found in " + url;
      break;
  }
  return result;
}

// "Name <email>" of the commit's author: text from the tenant's repository,
// made printable and bounded.
std::string author_of(git_repository* repo, const std::string& commit) {
  git_oid oid;
  CommitPtr c;
  if (git_oid_fromstr(&oid, commit.c_str()) < 0 || git_commit_lookup(out(c), repo, &oid) < 0) {
    return "";
  }
  const git_signature* sig = git_commit_author(c.get());
  if (sig == nullptr) return "";
  constexpr size_t kMaxAuthor = 200;
  return printable(std::string(sig->name ? sig->name : "") + " <" +
                       std::string(sig->email ? sig->email : "") + ">",
                   kMaxAuthor);
}

FetchResult fetch_failure(std::string error) {
  FetchResult result;
  result.error = std::move(error);
  return result;
}

// ---------------------------------------------------------------------------
// checkout

// Returns "" and sets *created when target_dir is ready to receive a tree.
std::string prepare_target(const fs::path& target, bool* created) {
  std::error_code ec;
  *created = false;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec))
      return "checkout target " + target.string() + " is not a directory";
    if (!fs::is_empty(target, ec)) return "checkout target " + target.string() + " is not empty";
    return "";
  }
  if (!fs::create_directories(target, ec)) {
    return "cannot create checkout target " + target.string() + ": " + ec.message();
  }
  *created = true;
  return "";
}

// Leaves target_dir as it was before a failed checkout.
void undo_target(const fs::path& target, bool created) {
  std::error_code ec;
  if (created) {
    fs::remove_all(target, ec);
    return;
  }
  for (const auto& entry : fs::directory_iterator(target, ec)) fs::remove_all(entry.path(), ec);
}

std::string lookup_tree(git_repository* repo, const std::string& commit, TreePtr& tree) {
  git_oid oid;
  if (commit.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, commit.c_str()) < 0) {
    return "invalid commit id \"" + commit + "\"";
  }
  CommitPtr c;
  if (git_commit_lookup(out(c), repo, &oid) < 0) {
    return "commit " + commit + " not found: " + last_git_error();
  }
  if (git_commit_tree(out(tree), c.get()) < 0) {
    return "cannot read tree of commit " + commit + ": " + last_git_error();
  }
  return "";
}

// git_checkout_tree into a target_directory works on a bare repository and
// applies libgit2's path validation (no "..", no ".git" entries), writes
// symlinks as symlinks and keeps the executable bit.
std::string write_tree(git_repository* repo, git_tree* tree, const std::string& target) {
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  // DONT_WRITE_INDEX: the mirror is shared by concurrent checkouts and fetches;
  // a checkout must not touch it.
  opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_WRITE_INDEX;
  opts.target_directory = target.c_str();
  if (git_checkout_tree(repo, reinterpret_cast<git_object*>(tree), &opts) < 0) {
    return "cannot check out into " + target + ": " + last_git_error();
  }
  return "";
}

// ---------------------------------------------------------------------------
// commit_directory

bool is_same_or_within(const fs::path& inner, const fs::path& outer) {
  const fs::path rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != "..";
}

std::string check_commit_paths(const fs::path& source, const fs::path& repo_dir) {
  std::error_code ec;
  if (!fs::is_directory(source, ec)) return "source " + source.string() + " is not a directory";
  const fs::path src = fs::weakly_canonical(source, ec);
  const fs::path dst = fs::weakly_canonical(repo_dir, ec);
  if (src == dst) return "";
  // Copying a directory into itself, or clearing the directory we copy from,
  // would destroy the source.
  if (is_same_or_within(src, dst) || is_same_or_within(dst, src)) {
    return "source " + source.string() + " and repository " + repo_dir.string() +
           " must not contain each other";
  }
  return "";
}

std::string open_or_init_worktree(const std::string& dir, RepositoryPtr& repo) {
  if (git_repository_open_ext(out(repo), dir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) ==
      0) {
    if (git_repository_is_bare(repo.get())) return "repository " + dir + " is bare";
    return "";
  }
  if (git_repository_init(out(repo), dir.c_str(), /*is_bare=*/0) == 0) return "";
  return "cannot create repository " + dir + ": " + last_git_error();
}

// Makes the work tree of repo_dir an exact copy of source: files deleted from
// source since the last commit must disappear from the next one.
std::string mirror_files(const fs::path& source, const fs::path& repo_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repo_dir, ec)) {
    if (entry.path().filename() != ".git") fs::remove_all(entry.path(), ec);
  }
  if (ec) return "cannot clear " + repo_dir.string() + ": " + ec.message();
  auto it = fs::recursive_directory_iterator(source, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == ".git") {  // nested repositories are not content
      it.disable_recursion_pending();
      continue;
    }
    const fs::path to = repo_dir / it->path().lexically_relative(source);
    if (it->is_symlink(ec)) {
      fs::copy_symlink(it->path(), to, ec);
    } else if (it->is_directory(ec)) {
      fs::create_directory(to, ec);
    } else if (it->is_regular_file(ec)) {
      fs::copy_file(it->path(), to, ec);  // keeps the permission bits
    }                                     // sockets, fifos and devices cannot be committed
    if (ec) return "cannot copy " + it->path().string() + ": " + ec.message();
  }
  if (ec) return "cannot read " + source.string() + ": " + ec.message();
  return "";
}

// Rebuilds the index from the work tree (clear + add all), so it holds
// exactly the copied files, then writes it as a tree.
std::string stage_all(git_repository* repo, git_oid* tree_id) {
  IndexPtr index;
  if (git_repository_index(out(index), repo) < 0) return "cannot open index: " + last_git_error();
  if (git_index_clear(index.get()) < 0 ||
      git_index_add_all(index.get(), nullptr, GIT_INDEX_ADD_FORCE, nullptr, nullptr) < 0 ||
      git_index_write(index.get()) < 0 || git_index_write_tree(tree_id, index.get()) < 0) {
    return "cannot stage files: " + last_git_error();
  }
  return "";
}

std::string create_commit(git_repository* repo, const std::string& branch,
                          const std::string& message, const git_oid& tree_id, git_oid* commit_id) {
  const std::string ref_name = "refs/heads/" + branch;
  TreePtr tree;
  SignaturePtr sig;
  if (git_tree_lookup(out(tree), repo, &tree_id) < 0)
    return "cannot read tree: " + last_git_error();
  if (git_signature_now(out(sig), "wok", "wok@localhost") < 0) {
    return "cannot create signature: " + last_git_error();
  }
  CommitPtr parent;
  if (auto tip = peel_to_commit(repo, ref_name)) git_commit_lookup(out(parent), repo, &*tip);
  const git_commit* parents[] = {parent.get()};
  if (git_commit_create(commit_id, repo, ref_name.c_str(), sig.get(), sig.get(), nullptr,
                        message.c_str(), tree.get(), parent ? 1 : 0, parents) < 0) {
    return "cannot commit on " + ref_name + ": " + last_git_error();
  }
  // HEAD follows the branch so the work tree we wrote is its clean checkout.
  if (git_repository_set_head(repo, ref_name.c_str()) < 0) {
    return "cannot point HEAD at " + ref_name + ": " + last_git_error();
  }
  return "";
}

std::string check_branch(const std::string& branch) {
  int valid = 0;
  const std::string ref_name = "refs/heads/" + branch;
  if (branch.empty() || git_reference_name_is_valid(&valid, ref_name.c_str()) < 0 || !valid) {
    return "invalid branch name \"" + branch + "\"";
  }
  return "";
}

std::string commit_directory_steps(const std::string& source_dir, const std::string& repo_dir,
                                   const std::string& branch, const std::string& message,
                                   git_oid* commit_id) {
  std::string err = check_branch(branch);
  if (err.empty()) err = check_commit_paths(source_dir, repo_dir);
  if (!err.empty()) return err;
  RepositoryPtr repo;
  if (!(err = open_or_init_worktree(repo_dir, repo)).empty()) return err;
  std::error_code ec;
  if (!fs::equivalent(source_dir, repo_dir, ec)) {
    if (!(err = mirror_files(source_dir, repo_dir)).empty()) return err;
  }
  git_oid tree_id;
  if (!(err = stage_all(repo.get(), &tree_id)).empty()) return err;
  return create_commit(repo.get(), branch, message, tree_id, commit_id);
}

}  // namespace

FetchResult fetch(const std::string& url, const std::string& ref, const std::string& mirror_dir,
                  const FetchLimits& limits) {
  ensure_libgit2();
  install_checked_stream();
  if (url.empty()) return fetch_failure("no repository URL given");
  if (ref.empty()) return fetch_failure(redact("no ref given for " + url, url));
  if (is_missing_local_path(url))
    return fetch_failure("cannot fetch " + url + ": no such directory");
  if (std::string refused = check_destination(url, limits); !refused.empty()) {
    return fetch_failure(redact("cannot fetch " + url + ": " + refused, url));
  }
  RepositoryPtr repo;
  std::string err = open_or_init_mirror(mirror_dir, repo);
  if (!err.empty()) return fetch_failure(err);
  err = fetch_into(repo.get(), url, limits);
  if (!err.empty()) return fetch_failure(redact("cannot fetch " + url + ": " + err, url));
  FetchResult result = resolve_ref(repo.get(), ref, url);
  result.error = redact(result.error, url);
  if (result.ok) result.author = author_of(repo.get(), result.commit);
  return result;
}

std::string checkout(const std::string& mirror_dir, const std::string& commit,
                     const std::string& target_dir) {
  ensure_libgit2();
  RepositoryPtr repo;
  if (git_repository_open_bare(out(repo), mirror_dir.c_str()) < 0) {
    return "cannot open mirror " + mirror_dir + ": " + last_git_error();
  }
  TreePtr tree;
  std::string err = lookup_tree(repo.get(), commit, tree);
  if (!err.empty()) return err;
  bool created = false;
  if (!(err = prepare_target(target_dir, &created)).empty()) return err;
  err = write_tree(repo.get(), tree.get(), target_dir);
  if (!err.empty()) undo_target(target_dir, created);
  return err;
}

std::string commit_directory(const std::string& source_dir, const std::string& repo_dir,
                             const std::string& branch, const std::string& message,
                             std::string* error) {
  ensure_libgit2();
  git_oid commit_id;
  std::string err = commit_directory_steps(source_dir, repo_dir, branch, message, &commit_id);
  if (!err.empty()) {
    if (error) *error = std::move(err);
    return "";
  }
  if (error) error->clear();
  return oid_hex(commit_id);
}

}  // namespace wok::git

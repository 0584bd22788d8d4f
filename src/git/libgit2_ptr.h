#pragma once
// Private to src/git: owning pointers for libgit2 objects, so every early
// return frees what it looked up, and the library's one-time initialisation.
#include <git2.h>

#include <memory>
#include <string>

namespace wok::git {

template <auto Free>
struct GitFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

template <typename T, auto Free>
using GitPtr = std::unique_ptr<T, GitFree<Free>>;

using RepositoryPtr = GitPtr<git_repository, git_repository_free>;
using RemotePtr = GitPtr<git_remote, git_remote_free>;
using ReferencePtr = GitPtr<git_reference, git_reference_free>;
using ObjectPtr = GitPtr<git_object, git_object_free>;
using CommitPtr = GitPtr<git_commit, git_commit_free>;
using TreePtr = GitPtr<git_tree, git_tree_free>;
using IndexPtr = GitPtr<git_index, git_index_free>;
using SignaturePtr = GitPtr<git_signature, git_signature_free>;

// Adapts a GitPtr to libgit2's `T** out` parameters:
//   git_repository_open(out(repo), path)
// The temporary lives until the end of the full expression and only then
// hands the raw pointer to the GitPtr: use the GitPtr in a later statement,
// never in the same expression (`f(out(p)) < 0 || g(p.get())` sees null).
template <typename Ptr>
class OutParam {
 public:
  explicit OutParam(Ptr& owner) : owner_(owner) {}
  OutParam(const OutParam&) = delete;
  OutParam& operator=(const OutParam&) = delete;
  ~OutParam() { owner_.reset(raw_); }
  operator typename Ptr::pointer *() { return &raw_; }

 private:
  Ptr& owner_;
  typename Ptr::pointer raw_ = nullptr;
};

template <typename Ptr>
OutParam<Ptr> out(Ptr& owner) {
  return OutParam<Ptr>(owner);
}

// git_libgit2_init is reference counted and must precede any other call; we
// initialise once per process and never shut down, so objects may outlive
// any caller.
inline void ensure_libgit2() {
  static const int initialised = git_libgit2_init();
  (void)initialised;
}

// The message of the last libgit2 error on this thread (errors are
// thread-local in libgit2).
inline std::string last_git_error() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

}  // namespace wok::git

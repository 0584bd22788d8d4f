#pragma once
// WOK_ASSERT(condition, message): an invariant of the code, checked in every
// build (release included). When it does not hold the process prints where,
// what and why on stderr and aborts: a broken invariant is a bug to fix, not
// an error to recover from (errors of input get error values and messages).
#include <cstdio>
#include <cstdlib>

#define WOK_ASSERT(condition, message)                                     \
  do {                                                                     \
    if (!(condition)) [[unlikely]] {                                       \
      ::wok::base::assert_failed(#condition, message, __FILE__, __LINE__); \
    }                                                                      \
  } while (false)

namespace wok::base {

[[noreturn]] inline void assert_failed(const char* condition, const char* message, const char* file,
                                       int line) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", file, line, message, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace wok::base

#pragma once
// The seccomp filter of every sandbox (workloads and builds): the usual
// container default, written as a denylist. What a web workload never needs
// and what would widen the kernel's attack surface is refused with EPERM:
// new namespaces (no user namespace inside, so `unshare -Ur` gives no
// capabilities), mounts, kernel keyrings, BPF, perf, module loading, clock
// and swap changes, io_uring, reboot... clone3 answers ENOSYS so that libcs
// fall back to clone, whose namespace flags the filter can see.
// Only the native x86-64 ABI is allowed: 32-bit and x32 system calls kill the
// process (they would reach syscalls under other numbers).
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace wok::runtime {

// The "linux.seccomp" object of an OCI runtime config (runc applies it with
// libseccomp just before exec, after noNewPrivileges).
nlohmann::json seccomp_profile();

// The system calls refused outright (documentation and tests).
const std::vector<std::string>& seccomp_denied_syscalls();

}  // namespace wok::runtime

#include "runtime/seccomp_profile.h"

#include <sched.h>

#include <nlohmann/json.hpp>

namespace wok::runtime {
using nlohmann::json;

namespace {
constexpr int kEperm = 1;
constexpr int kEnosys = 38;
}  // namespace

const std::vector<std::string>& seccomp_denied_syscalls() {
  static const std::vector<std::string> names = {
      // namespaces and mounts
      "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot", "open_tree",
      "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
      // kernel keyrings, BPF, perf, tracing of the kernel
      "add_key", "request_key", "keyctl", "bpf", "perf_event_open", "lookup_dcookie", "userfaultfd",
      "syslog",
      // modules, kexec, reboot, swap, accounting, quotas
      "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
      "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "nfsservctl",
      // clocks
      "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
      // raw hardware, NUMA policy, file handles
      "iopl", "ioperm", "vm86", "vm86old", "move_pages", "mbind", "set_mempolicy", "get_mempolicy",
      "migrate_pages", "open_by_handle_at", "name_to_handle_at",
      // io_uring bypasses the per-syscall filter
      "io_uring_setup", "io_uring_enter", "io_uring_register",
      // obsolete or privileged
      "uselib", "ustat", "sysfs", "_sysctl", "vhangup", "pciconfig_read", "pciconfig_write",
      "pciconfig_iobase", "create_module", "get_kernel_syms", "query_module", "setdomainname",
      "sethostname"};
  return names;
}

json seccomp_profile() {
  json syscalls = json::array();
  syscalls.push_back(
      {{"names", seccomp_denied_syscalls()}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEperm}});
  // clone with any namespace flag: one rule per flag (rules of one syscall
  // are alternatives; the arguments of one rule must all match).
  for (unsigned long flag : {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                             CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET}) {
    syscalls.push_back(
        {{"names", {"clone"}},
         {"action", "SCMP_ACT_ERRNO"},
         {"errnoRet", kEperm},
         {"args",
          {{{"index", 0}, {"value", flag}, {"valueTwo", flag}, {"op", "SCMP_CMP_MASKED_EQ"}}}}});
  }
  // clone3 passes its flags in memory, out of the filter's sight.
  syscalls.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEnosys}});
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", {"SCMP_ARCH_X86_64"}},
          {"syscalls", syscalls}};
}

}  // namespace wok::runtime

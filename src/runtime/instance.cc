#include "runtime/instance.h"

namespace wok::runtime {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::Starting:
      return "Starting";
    case Phase::Running:
      return "Running";
    case Phase::Ready:
      return "Ready";
    case Phase::CrashLoopBackOff:
      return "CrashLoopBackOff";
    case Phase::Stopping:
      return "Stopping";
    case Phase::Stopped:
      return "Stopped";
  }
  return "Unknown";
}

uint32_t sandbox_uid(const std::string& project, uint32_t base, uint32_t span) {
  // FNV-1a: stable across runs and builds (std::hash is not guaranteed to be).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : project) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return base + static_cast<uint32_t>(h % (span ? span : 1));
}

std::string check_instance_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return "instance id must have 1 to 128 characters";
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(id[0]))
    return "instance id \"" + id + "\" must start with a lowercase letter or digit";
  for (char c : id)
    if (!alnum(c) && c != '.' && c != '-' && c != '_')
      return "instance id \"" + id + "\" may contain only a-z, 0-9, '.', '-' and '_'";
  return "";
}

}  // namespace wok::runtime

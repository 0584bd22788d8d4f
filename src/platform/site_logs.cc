#include "platform/site_logs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "controllers/workloads.h"
#include "runtime/log_files.h"
#include "runtime/runtime.h"

namespace wok::platform {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kMaxBytesPerRead = 1 << 20;

// The complete lines written after `offset`; *next is where the next read starts.
json lines_after(const fs::path& path, int64_t offset, int64_t size, int64_t* next) {
  json lines = json::array();
  std::ifstream in(path, std::ios::binary);
  int64_t want = std::min(size - offset, kMaxBytesPerRead);
  std::string data(static_cast<size_t>(want), '\0');
  in.seekg(offset);
  in.read(data.data(), want);
  data.resize(static_cast<size_t>(in.gcount()));
  size_t end = data.rfind('\n');  // a line still being written waits for the next poll
  if (end == std::string::npos && want == kMaxBytesPerRead &&
      static_cast<int64_t>(data.size()) == want) {
    // A line longer than a read: sent as it is so far, cut, and read on from there.
    lines.push_back(std::move(data));
    *next = offset + want;
    return lines;
  }
  if (end == std::string::npos) {
    *next = offset;
    return lines;
  }
  size_t start = 0;
  while (start <= end) {
    size_t nl = data.find('\n', start);
    lines.push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  *next = offset + static_cast<int64_t>(end + 1);
  return lines;
}

}  // namespace

json site_logs(const runtime::Runtime& runtime, const std::string& ns, const std::string& name,
               const server::LogsQuery& query) {
  // The instances running, and the stopped ones of the newest revision: a
  // rollout whose instances crashed stops them, and its output is the one
  // worth reading. (Instances of replaced revisions are forgotten, logs and all.)
  std::vector<std::pair<runtime::InstanceStatus, controllers::InstanceName>> shown;
  int64_t newest = 0;
  for (const auto& instance : runtime.list()) {
    auto id = controllers::parse_instance_id(instance.id);
    if (!id || id->ns != ns || id->site != name) continue;
    if (!query.component.empty() && id->component != query.component) continue;
    newest = std::max(newest, id->revision);
    shown.emplace_back(instance, *id);
  }
  std::erase_if(shown, [&](const auto& s) {
    return s.first.phase == runtime::Phase::Stopped && s.second.revision != newest;
  });
  std::sort(shown.begin(), shown.end(),
            [](const auto& a, const auto& b) { return a.first.id < b.first.id; });
  json items = json::array();
  for (const auto& [instance, id] : shown) {
    for (auto [stream, label] : {std::pair{runtime::LogStream::Stdout, "stdout"},
                                 std::pair{runtime::LogStream::Stderr, "stderr"}}) {
      fs::path path = runtime.log_path(instance.id, stream);
      std::error_code ec;
      int64_t size = static_cast<int64_t>(fs::file_size(path, ec));
      if (ec) size = 0;
      std::string key = instance.id + ":" + label;
      auto from = query.from.find(key);
      json lines = json::array();
      int64_t next = size;
      if (query.previous) {
        for (auto& l :
             runtime::run_lines(path, runtime::Run::kPrevious, static_cast<size_t>(query.tail)))
          lines.push_back(std::move(l));
      } else if (from != query.from.end() && from->second <= size) {
        lines = lines_after(path, from->second, size, &next);
      } else {  // first read, or the file was rotated since
        for (auto& l :
             runtime::run_lines(path, runtime::Run::kCurrent, static_cast<size_t>(query.tail)))
          lines.push_back(std::move(l));
      }
      items.push_back({{"instance", instance.id},
                       {"component", id.component},
                       {"revision", id.revision},
                       {"phase", runtime::phase_name(instance.phase)},
                       {"restarts", instance.restarts},
                       {"stream", label},
                       {"offset", next},
                       {"lines", std::move(lines)}});
    }
  }
  return {{"kind", "SiteLogs"}, {"items", std::move(items)}};
}

}  // namespace wok::platform

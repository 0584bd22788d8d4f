#include "router/stats/access_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <unordered_map>
#include <vector>

#include "base/unique_fd.h"

namespace wok::router {
namespace {

namespace fs = std::filesystem;

void append_field(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += '-';
    return;
  }
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '\\') {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
}

void append_ms(std::string& out, std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
  out += buf;
}

// Names from the Route are DNS labels; anything else must not become a path.
bool is_safe_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

}  // namespace

std::string AccessLog::format_line(const RequestRecord& r) {
  using namespace std::chrono;
  std::string out;
  out.reserve(128 + r.path.size());
  const auto since_epoch = r.time.time_since_epoch();
  const time_t seconds = duration_cast<std::chrono::seconds>(since_epoch).count();
  const auto ms = duration_cast<milliseconds>(since_epoch).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char when[96];  // room for any int the compiler cannot rule out
  std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += when;
  out += ' ';
  append_field(out, r.host);
  out += ' ';
  append_field(out, r.method);
  out += ' ';
  append_field(out, r.path);
  out += ' ';
  out += std::to_string(r.status);
  out += ' ';
  out += std::to_string(r.bytes);
  out += ' ';
  append_ms(out, r.duration);
  out += ' ';
  if (r.upstream.count() < 0) {
    out += '-';
  } else {
    append_ms(out, r.upstream);
  }
  out += '\n';
  return out;
}

AccessLog::AccessLog(AccessLogOptions options) : options_(std::move(options)) {
  writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void AccessLog::on_request(const RequestRecord& record) {
  if (!is_safe_name(record.project) || !is_safe_name(record.site)) return;
  Line line{std::string(record.project) + "/" + std::string(record.site), format_line(record)};
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.max_queued) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(line));
    ++enqueued_;
  }
  wake_.notify_one();
}

void AccessLog::flush() {
  std::unique_lock lock(mutex_);
  uint64_t target = enqueued_;
  written_.wait(lock, [&] { return done_ >= target; });
}

uint64_t AccessLog::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void AccessLog::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    std::deque<Line> batch;
    batch.swap(queue_);
    lock.unlock();
    write_batch(batch);
    lock.lock();
    done_ += batch.size();
    written_.notify_all();
  }
}

void AccessLog::write_batch(std::deque<Line>& batch) {
  // Lines of one site keep their order; each site's run is written with as
  // few write(2) calls as rotation allows.
  std::unordered_map<std::string, std::vector<const std::string*>> by_site;
  for (const Line& line : batch) by_site[line.site_dir].push_back(&line.text);
  // Open files are bounded so 100,000 sites cannot exhaust descriptors.
  if (files_.size() + by_site.size() > 256) files_.clear();
  for (const auto& [site_dir, lines] : by_site) {
    fs::path dir = fs::path(options_.dir) / site_dir;
    std::string file = (dir / "access.log").string();
    OpenLog& log = files_[site_dir];
    if (!log.fd.valid()) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (!open_log(file, &log, false)) continue;  // lost: the disk or directory is unusable
    }
    std::string buffer;
    for (const std::string* text : lines) {
      if (log.size + buffer.size() > 0 && log.size + buffer.size() + text->size() > options_.max_bytes) {
        write_all(log, buffer);
        buffer.clear();
        log.fd.reset();
        rotate(file);
        if (!open_log(file, &log, true)) break;
      }
      buffer += *text;
    }
    if (log.fd.valid()) write_all(log, buffer);
  }
}

bool AccessLog::open_log(const std::string& file, OpenLog* log, bool truncate) {
  int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  log->fd.reset(open(file.c_str(), flags, 0640));
  struct stat st;
  log->size = log->fd.valid() && fstat(log->fd.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return log->fd.valid();
}

void AccessLog::write_all(OpenLog& log, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(log.fd.get(), text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  log.size += done;
}

// access.log.<keep> is dropped, each older one moves up, access.log -> .1.
void AccessLog::rotate(const std::string& file) const {
  for (int i = options_.keep; i >= 1; --i) {
    std::string from = i == 1 ? file : file + "." + std::to_string(i - 1);
    std::string to = file + "." + std::to_string(i);
    if (i == options_.keep) ::unlink(to.c_str());
    ::rename(from.c_str(), to.c_str());
  }
  if (options_.keep <= 0) ::unlink(file.c_str());
}

}  // namespace wok::router

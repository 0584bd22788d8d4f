#include "router/stats/access_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <cstdio>
#include <ctime>
#include <filesystem>

namespace wok::router {
namespace {

namespace fs = std::filesystem;

// Runs a shard keeps between batches (their texts emptied); beyond this the
// list is dropped, so a thread that once served 10,000 sites holds nothing.
constexpr size_t kKeptRuns = 64;
// A run's buffer kept between batches up to this capacity.
constexpr size_t kKeptRunBytes = 256 * 1024;
// Open files are bounded so 100,000 sites cannot exhaust descriptors.
constexpr size_t kOpenFiles = 256;

bool needs_escape(unsigned char u) { return u <= 0x20 || u >= 0x7f || u == '\\'; }

void append_field(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += '-';
    return;
  }
  size_t clean = 0;
  while (clean < value.size() && !needs_escape(static_cast<unsigned char>(value[clean]))) ++clean;
  out.append(value.data(), clean);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = clean; i < value.size(); ++i) {
    auto u = static_cast<unsigned char>(value[i]);
    if (needs_escape(u)) {
      const char escaped[4] = {'\\', 'x', kHex[u >> 4], kHex[u & 15]};
      out.append(escaped, 4);
    } else {
      out += value[i];
    }
  }
}

void append_number(std::string& out, uint64_t n) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, n).ptr;
  out.append(buf, static_cast<size_t>(end - buf));
}

// Milliseconds with three decimals, from microseconds (what "%.3f" of
// us / 1000.0 prints, without floating point).
void append_ms(std::string& out, std::chrono::microseconds d) {
  const uint64_t us = d.count() < 0 ? 0 : static_cast<uint64_t>(d.count());
  append_number(out, us / 1000);
  const auto frac = static_cast<unsigned>(us % 1000);
  const char digits[4] = {'.', static_cast<char>('0' + frac / 100),
                          static_cast<char>('0' + frac / 10 % 10),
                          static_cast<char>('0' + frac % 10)};
  out.append(digits, 4);
}

// Names from the Route are DNS labels; anything else must not become a path.
bool is_safe_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

// "2026-11-25T23:23:23." for the second last formatted: one gmtime_r per
// second per thread, not per line.
struct TimeCache {
  int64_t second = INT64_MIN;
  char text[32] = {};
  size_t size = 0;
};

void append_line(std::string& out, const RequestRecord& r, TimeCache& cache) {
  using namespace std::chrono;
  const int64_t ms_since_epoch = duration_cast<milliseconds>(r.time.time_since_epoch()).count();
  int64_t second = ms_since_epoch / 1000;
  int64_t ms = ms_since_epoch % 1000;
  if (ms < 0) {  // before 1970: floor, as the calendar counts
    ms += 1000;
    --second;
  }
  if (second != cache.second) {
    const auto seconds = static_cast<time_t>(second);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    int n = std::snprintf(cache.text, sizeof cache.text, "%04d-%02d-%02dT%02d:%02d:%02d.",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec);
    cache.size = n > 0 && static_cast<size_t>(n) < sizeof cache.text ? static_cast<size_t>(n) : 0;
    cache.second = second;
  }
  out.append(cache.text, cache.size);
  const char millis[5] = {static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                          static_cast<char>('0' + ms % 10), 'Z', ' '};
  out.append(millis, 5);
  append_field(out, r.host);
  out += ' ';
  append_field(out, r.method);
  out += ' ';
  append_field(out, r.path);
  out += ' ';
  append_number(out, static_cast<uint64_t>(r.status < 0 ? 0 : r.status));
  out += ' ';
  append_number(out, r.bytes);
  out += ' ';
  append_ms(out, r.duration);
  out += ' ';
  if (r.upstream.count() < 0) {
    out += '-';
  } else {
    append_ms(out, r.upstream);
  }
  out += '\n';
}

bool is_site_dir(std::string_view dir, std::string_view project, std::string_view site) {
  return dir.size() == project.size() + 1 + site.size() &&
         dir.compare(0, project.size(), project) == 0 && dir[project.size()] == '/' &&
         dir.compare(project.size() + 1, site.size(), site) == 0;
}

std::atomic<uint64_t> next_log_id{1};

}  // namespace

// One thread's buffered lines. The thread appends under `mutex`, which only
// the writer's swap ever contends.
struct AccessLog::Shard {
  std::mutex mutex;
  std::vector<Run> runs;  // under mutex
  size_t last = 0;        // the run used last: most lines repeat a site
  size_t bytes = 0;       // in runs' texts
  bool woke = false;      // the writer was told this shard is full
  TimeCache time;
  std::atomic<uint64_t> dropped{0};
  std::vector<Run> out;  // the writer's: the batch being written

  Run& run_for(std::string_view project, std::string_view site) {
    if (last < runs.size() && is_site_dir(runs[last].site_dir, project, site)) return runs[last];
    for (size_t i = 0; i < runs.size(); ++i) {
      if (is_site_dir(runs[i].site_dir, project, site)) {
        last = i;
        return runs[i];
      }
    }
    Run& run = runs.emplace_back();
    run.site_dir.reserve(project.size() + 1 + site.size());
    run.site_dir.append(project).append(1, '/').append(site);
    last = runs.size() - 1;
    return run;
  }
};

std::string AccessLog::format_line(const RequestRecord& record) {
  std::string out;
  out.reserve(128 + record.path.size());
  TimeCache cache;
  append_line(out, record, cache);
  return out;
}

AccessLog::AccessLog(AccessLogOptions options) : options_(std::move(options)), id_(next_log_id++) {
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

AccessLog::Shard& AccessLog::shard() {
  struct Cached {
    uint64_t log = 0;  // ids are never reused: a destroyed log's entry is never taken
    Shard* shard = nullptr;
  };
  thread_local Cached cached;
  if (cached.log == id_) return *cached.shard;
  std::lock_guard lock(shards_mutex_);
  Shard*& shard = by_thread_[std::this_thread::get_id()];
  if (shard == nullptr) shard = shards_.emplace_back(std::make_unique<Shard>()).get();
  cached = {id_, shard};
  return *shard;
}

void AccessLog::on_request(const RequestRecord& record) {
  if (!is_safe_name(record.project) || !is_safe_name(record.site)) return;
  Shard& s = shard();
  bool first = false, full = false;
  {
    std::lock_guard lock(s.mutex);
    if (s.bytes >= options_.max_buffered_bytes) {
      s.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::string& text = s.run_for(record.project, record.site).text;
    const size_t before = text.size();
    append_line(text, record, s.time);
    first = s.bytes == 0;
    s.bytes += text.size() - before;
    if (s.bytes >= options_.flush_bytes && !s.woke) full = s.woke = true;
  }
  // Once per batch per thread (its first line) or when its buffer is full.
  if (first || full) wake(full);
}

void AccessLog::wake(bool urgent) {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
    urgent_ = urgent_ || urgent;
  }
  wake_.notify_one();
}

void AccessLog::flush() {
  std::unique_lock lock(mutex_);
  if (stopping_) return;
  const uint64_t ticket = ++flush_requested_;
  wake_.notify_one();
  written_.wait(lock, [&] { return flush_done_ >= ticket; });
}

uint64_t AccessLog::dropped() const {
  uint64_t total = 0;
  std::lock_guard lock(shards_mutex_);
  for (const auto& s : shards_) total += s->dropped.load(std::memory_order_relaxed);
  return total;
}

std::string AccessLog::prometheus() const {
  return "# HELP wok_access_log_lines_dropped_total Access log lines lost because the writer could "
         "not keep up.\n"
         "# TYPE wok_access_log_lines_dropped_total counter\n"
         "wok_access_log_lines_dropped_total " +
         std::to_string(dropped()) + "\n";
}

void AccessLog::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || pending_ || flush_requested_ > flush_done_; });
    // One batch per interval: the loops keep filling their buffers meanwhile.
    wake_.wait_for(lock, options_.flush_interval,
                   [&] { return stopping_ || urgent_ || flush_requested_ > flush_done_; });
    pending_ = urgent_ = false;
    const uint64_t target = flush_requested_;
    const bool stop = stopping_;
    lock.unlock();
    write_pass();
    lock.lock();
    flush_done_ = target;
    written_.notify_all();
    if (stop) return;
  }
}

void AccessLog::write_pass() {
  std::vector<Shard*> shards;
  {
    std::lock_guard lock(shards_mutex_);
    shards.reserve(shards_.size());
    for (const auto& s : shards_) shards.push_back(s.get());
  }
  for (Shard* s : shards) {
    {
      std::lock_guard lock(s->mutex);
      if (s->bytes == 0) continue;
      std::swap(s->runs, s->out);  // the thread goes on with the emptied buffers of the last batch
      s->bytes = 0;
      s->last = 0;
      s->woke = false;
    }
    for (const Run& run : s->out) write_run(run);
    if (s->out.size() > kKeptRuns) {
      s->out.clear();
      continue;
    }
    for (Run& run : s->out) {
      if (run.text.capacity() > kKeptRunBytes) {
        std::string().swap(run.text);
      } else {
        run.text.clear();
      }
    }
  }
}

void AccessLog::write_run(const Run& run) {
  if (run.text.empty()) return;
  if (files_.size() >= kOpenFiles && files_.find(run.site_dir) == files_.end()) files_.clear();
  fs::path dir = fs::path(options_.dir) / run.site_dir;
  const std::string file = (dir / "access.log").string();
  OpenLog& log = files_[run.site_dir];
  if (!log.fd.valid()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!open_log(file, &log, false)) {  // lost: the disk or directory is unusable
      files_.erase(run.site_dir);
      return;
    }
  }
  std::string_view rest = run.text;
  while (!rest.empty()) {
    if (log.size + rest.size() <= options_.max_bytes) {
      write_all(log, rest);
      return;
    }
    // The whole lines that fit under max_bytes; into an empty file at least one.
    size_t take = 0;
    if (options_.max_bytes > log.size) {
      size_t newline = rest.rfind('\n', options_.max_bytes - log.size - 1);
      if (newline != std::string_view::npos) take = newline + 1;
    }
    if (take == 0 && log.size == 0) {
      size_t newline = rest.find('\n');
      take = newline == std::string_view::npos ? rest.size() : newline + 1;
    }
    write_all(log, rest.substr(0, take));
    rest.remove_prefix(take);
    if (rest.empty()) return;
    log.fd.reset();
    rotate(file);
    if (!open_log(file, &log, true)) {
      files_.erase(run.site_dir);
      return;
    }
  }
}

bool AccessLog::open_log(const std::string& file, OpenLog* log, bool truncate) {
  int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  log->fd.reset(open(file.c_str(), flags, 0640));
  struct stat st;
  log->size =
      log->fd.valid() && fstat(log->fd.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return log->fd.valid();
}

void AccessLog::write_all(OpenLog& log, std::string_view text) {
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

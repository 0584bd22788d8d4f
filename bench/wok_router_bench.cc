// The router alone, for `make bench`: serves the given route table on a
// port until SIGINT/SIGTERM, or measures the memory of a large table.
//
//   wok_router_bench --port 8081 --threads 2 --static bench.test=/srv/site
//                    [--proxy app.test=127.0.0.1:9000]
//   wok_router_bench --memory-sites 100000
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "http/server.h"
#include "router/router.h"
#if __has_include("router/proxy/upstream_pool.h")
#include "router/proxy/upstream_pool.h"
#define WOK_BENCH_HAS_PROXY 1
#endif

namespace {

using namespace wok;

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// Sites as the controllers would publish them: one exact host each, a
// project of 100 sites, a revision root path of realistic length.
int measure_memory(int sites) {
  router::Router router;
  long before = rss_kib();
  auto table = std::make_shared<router::RouteTable>();
  for (int i = 0; i < sites; ++i) {
    std::string project = "project-" + std::to_string(i / 100);
    std::string site = "site-" + std::to_string(i);
    auto route = std::make_shared<const router::Route>(router::Route{
        project, site, "/var/lib/wok/sites/" + project + "/" + site + "/revisions/12/public"});
    table->add(site + "." + project + ".example.org", route);
  }
  router.set_table(table);
  table.reset();
  long after = rss_kib();
  std::printf("sites=%d rss_before_kib=%ld rss_after_kib=%ld bytes_per_site=%.0f\n", sites, before,
              after, static_cast<double>(after - before) * 1024.0 / sites);
  return 0;
}

bool split(const std::string& arg, std::string* host, std::string* value) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos) return false;
  *host = arg.substr(0, eq);
  *value = arg.substr(eq + 1);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  http::ServerOptions options;
  options.port = 8081;
  options.threads = 2;
  options.max_connections = 100'000;
  auto table = std::make_shared<router::RouteTable>();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string next = i + 1 < argc ? argv[i + 1] : "";
    std::string host, value;
    if (a == "--memory-sites") return measure_memory(std::atoi(next.c_str()));
    if (a == "--port") {
      options.port = static_cast<uint16_t>(std::atoi(next.c_str()));
    } else if (a == "--threads") {
      options.threads = std::atoi(next.c_str());
    } else if (a == "--static" && split(next, &host, &value)) {
      table->add(host,
                 std::make_shared<const router::Route>(router::Route{"bench", "static", value}));
    } else if (a == "--proxy" && split(next, &host, &value)) {
#ifdef WOK_BENCH_HAS_PROXY
      auto address = router::UpstreamAddress::parse(value);
      if (!address) {
        std::cerr << "bad upstream " << value << "\n";
        return 2;
      }
      router::Route route{"bench", "proxy", ""};
      route.upstream = std::make_shared<const router::UpstreamPool>(std::vector{*address});
      table->add(host, std::make_shared<const router::Route>(std::move(route)));
#else
      std::cerr << "this build has no proxy routes\n";
      return 3;
#endif
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--port N] [--threads N] [--static HOST=ROOT] [--proxy HOST=ADDR] | "
                   "--memory-sites N\n";
      return 2;
    }
    ++i;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // as `wok up` does: a closed peer is EPIPE, not death

  router::Router router;
  router.set_table(table);
  http::Server server(options,
                      [&router](http::Exchange exchange) { router.serve(std::move(exchange)); });
  std::string error;
  if (!server.start(&error)) {
    std::cerr << "cannot start: " << error << "\n";
    return 1;
  }
  std::cout << "listening on " << server.port() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  server.stop(1000);
  return 0;
}

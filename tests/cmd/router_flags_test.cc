// `wok up` / `wok serve` router limit flags: parsed into http::ServerOptions,
// and every bad value refused with the flag's name and what was wrong.
#include "cmd/router_flags.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "http/server.h"

namespace wok::cmd {
namespace {

TEST(RouterFlagsTest, GivenFlagsSetTheLimitsAndTheRestKeepDefaults) {
  CLI::App app;
  RouterLimitFlags flags;
  add_router_limit_flags(app, flags);
  std::vector<std::string> args = {"--idle-timeout",    "2m",  "--header-timeout",   "500ms",
                                   "--max-body",        "1Mi", "--max-request-line", "2Ki",
                                   "--max-connections", "5"};
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  app.parse(args);
  http::ServerOptions options;
  const http::ServerOptions defaults;
  std::string error;
  ASSERT_TRUE(apply_router_limits(flags, &options, &error)) << error;
  EXPECT_EQ(options.idle_timeout_ms, 120'000);
  EXPECT_EQ(options.header_timeout_ms, 500);
  EXPECT_EQ(options.max_body_bytes, 1u << 20);
  EXPECT_EQ(options.max_request_line_bytes, 2048u);
  EXPECT_EQ(options.max_connections, 5);
  EXPECT_EQ(options.max_header_bytes, defaults.max_header_bytes);
  EXPECT_EQ(options.body_timeout_ms, defaults.body_timeout_ms);
  EXPECT_EQ(options.threads, defaults.threads);
}

TEST(RouterFlagsTest, BadValuesNameTheFlag) {
  struct Case {
    std::string RouterLimitFlags::*field;
    std::string value;
    std::string expect;
  };
  const Case cases[] = {
      {&RouterLimitFlags::idle_timeout, "10", "--idle-timeout \"10\": is not a duration"},
      {&RouterLimitFlags::header_timeout, "5ms",
       "--header-timeout \"5ms\": must be from 100ms to 24h"},
      {&RouterLimitFlags::body_timeout, "48h", "--body-timeout \"48h\": must be from 100ms to 24h"},
      {&RouterLimitFlags::max_body, "lots", "--max-body \"lots\": is not a size"},
      {&RouterLimitFlags::max_header_bytes, "100",
       "--max-header-bytes \"100\": must be at least 1024 bytes"},
      {&RouterLimitFlags::max_request_line, "-1", "--max-request-line \"-1\": is not a size"},
      {&RouterLimitFlags::max_connections, "0",
       "--max-connections \"0\": must be a whole number from 1"},
      {&RouterLimitFlags::threads, "two", "--threads \"two\": must be a whole number"},
  };
  for (const Case& c : cases) {
    RouterLimitFlags flags;
    flags.*c.field = c.value;
    http::ServerOptions options;
    std::string error;
    EXPECT_FALSE(apply_router_limits(flags, &options, &error)) << c.value;
    EXPECT_EQ(error.rfind(c.expect, 0), 0u) << error;
  }
}

// The operator's (and `wok render`'s) --serve-* flags: the same limits,
// prefixed, checked with the prefixed name, and handed to sites' pods as
// `wok serve` arguments.
TEST(RouterFlagsTest, PrefixedFlagsBecomeServeArguments) {
  CLI::App app;
  RouterLimitFlags flags;
  add_router_limit_flags(app, flags, "serve-");
  std::vector<std::string> args = {"--serve-max-body", "8Mi", "--serve-header-timeout=10s"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  http::ServerOptions options;
  std::string error;
  ASSERT_TRUE(apply_router_limits(flags, &options, &error, "serve-")) << error;
  EXPECT_EQ(options.max_body_bytes, 8u << 20);
  EXPECT_EQ(router_limit_args(flags),
            (std::vector<std::string>{"--max-body=8Mi", "--header-timeout=10s"}));
  EXPECT_TRUE(router_limit_args(RouterLimitFlags{}).empty());

  // What `wok serve` is given parses back to the same limits.
  CLI::App serve;
  RouterLimitFlags again;
  add_router_limit_flags(serve, again);
  std::vector<std::string> serve_args = router_limit_args(flags);
  std::reverse(serve_args.begin(), serve_args.end());
  serve.parse(serve_args);
  EXPECT_EQ(again.max_body, "8Mi");
  EXPECT_EQ(again.header_timeout, "10s");

  flags.idle_timeout = "soon";
  EXPECT_FALSE(apply_router_limits(flags, &options, &error, "serve-"));
  EXPECT_EQ(error.rfind("--serve-idle-timeout \"soon\": is not a duration", 0), 0u) << error;
}

}  // namespace
}  // namespace wok::cmd

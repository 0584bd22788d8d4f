#pragma once
// The API server on loopback as wok up serves it, streams included
// (watches, log follows: ApiHandler::watch before handle()), over a store of
// its own, with users' tokens and projects of one viewer each.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "http/server.h"
#include "http/sync_handler.h"
#include "server/api_server.h"
#include "server/auth.h"
#include "store/store.h"
#include "support/http_stream.h"
#include "support/temp_dir.h"

namespace wok::server::testing {

class StreamingApiTest : public ::testing::Test {
 protected:
  explicit StreamingApiTest(const char* dir_prefix) : dir_(dir_prefix) {}

  // A store with a token for each user (true: the platform admin).
  void open_store(const std::map<std::string, bool>& users) {
    std::string error;
    store_ = store::Store::open((dir_.path / "wok.db").string(), &error);
    ASSERT_TRUE(store_) << error;
    for (const auto& [user, admin] : users) {
      tokens_[user] = new_token();
      store_->add_token(user, hash_token(tokens_[user]), admin);
    }
  }
  void add_project(const std::string& name, const std::string& viewer) {
    nlohmann::json project = {{"apiVersion", "wok.dev/v1alpha1"},
                              {"kind", "Project"},
                              {"metadata", {{"name", name}}},
                              {"spec",
                               {{"hosts", {"*." + name + ".localhost"}},
                                {"members", {{{"user", viewer}, {"role", "viewer"}}}}}}};
    ASSERT_TRUE(store_->create("Project", project).ok());
  }
  void start(const ApiOptions& options) {
    api_ = std::make_unique<ApiHandler>(*store_, options);
    http::ServerOptions server_options;
    server_options.threads = 1;
    handler_ = http::adapt_sync_handler(
        [this](const http::Request& q, http::Response& r) { api_->handle(q, r); });
    server_ = std::make_unique<http::Server>(server_options, [this](http::Exchange ex) {
      if (api_->watch(ex)) return;
      handler_(std::move(ex));
    });
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }
  void TearDown() override {
    if (api_) api_->stop_watches();
    if (server_) server_->stop(1000);
    server_.reset();
    api_.reset();
  }
  // GET `target` as `user`, its answer read line by line.
  std::unique_ptr<test_support::Stream> get_as(const std::string& user, const std::string& target) {
    return std::make_unique<test_support::Stream>(server_->port(), tokens_[user], target);
  }

  test_support::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiHandler> api_;
  http::AsyncHandler handler_;
  std::unique_ptr<http::Server> server_;
  std::map<std::string, std::string> tokens_;
};

}  // namespace wok::server::testing

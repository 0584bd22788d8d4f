#pragma once
// One request to php-fpm over its unix socket: FCGI_BEGIN_REQUEST, the
// PARAMS, the body streamed as STDIN with back-pressure, then STDOUT parsed
// as a CGI response and streamed to the client, STDERR logged. One request
// per connection (keep-conn 0: php-fpm closes it). Answers 502/504 itself.
// Lives as long as its socket is watched (or, while a chunked body is
// collected, as long as the client is there).
#include <cstdint>
#include <memory>
#include <string>

#include "http/exchange.h"
#include "router/fastcgi/fastcgi_record.h"
#include "router/fastcgi/fastcgi_response.h"
#include "router/fastcgi/fastcgi_script.h"
#include "router/proxy/upstream_io.h"
#include "router/route_table.h"

namespace wok::router {

class FastCgiSession : public std::enable_shared_from_this<FastCgiSession> {
 public:
  FastCgiSession(const Route& route, PhpScript script, http::Exchange exchange);
  ~FastCgiSession();
  void start();

 private:
  enum class Phase { kCollecting, kExchanging, kDone };

  void on_collected_piece(std::string_view piece, bool last);
  // body_in_hand: a collected chunked body, sent whole with the params.
  void connect_and_send(uint64_t content_length, bool body_in_hand);
  void on_body_piece(std::string_view piece, bool last);
  void send_pending();
  void read_upstream();
  bool on_record(const FcgiRecord& record);
  bool on_stdout(std::string_view data);
  void on_stderr(std::string_view data, bool flush);
  void on_end_request();
  void write_body(std::string_view data);
  void fail(int status, std::string_view text);
  void release();
  void on_timeout();
  void resume_upstream();

  std::shared_ptr<const FastCgiTarget> target_;
  std::string site_;  // "project/site", for logs
  uint64_t max_body_bytes_;
  PhpScript script_;
  http::Exchange ex_;
  http::Loop& loop_;
  Phase phase_ = Phase::kExchanging;
  std::shared_ptr<FastCgiSession> keep_alive_;  // while collecting a chunked body
  std::string collected_;
  int fd_ = -1;
  uint64_t watch_ = 0;
  Deadline deadline_{loop_};  // php-fpm's silence
  UpstreamTimer timer_;       // for the access log
  SendBuffer out_;            // records for php-fpm
  bool stdin_done_ = false;
  FcgiRecordReader reader_;
  CgiResponseParser cgi_;
  bool head_sent_ = false;
  int64_t body_left_ = -1;  // the script's Content-Length still to come; -1 if none
  bool upstream_paused_ = false;
  std::string stderr_line_;
};

}  // namespace wok::router

#include "http/request_parser.h"

#include <llhttp.h>

#include <string>
#include <utility>

#include "http/ascii.h"
#include "http/request_target.h"

namespace wok::http {

struct RequestParser::Impl {
  llhttp_t parser;
  ParserLimits limits;
  Request request;
  std::string field;
  std::string value;
  Phase phase = Phase::kIdle;
  size_t header_bytes = 0;  // raw bytes of request line + headers of the current message
  size_t body_bytes = 0;    // decoded body plus trailers
  int host_count = 0;
  bool body_expected = false;
  bool execute_pending = false;  // report_headers: paused after the head, must run again
  // obs-fold scanner: llhttp (built without LLHTTP_STRICT_MODE) accepts a
  // header line starting with whitespace as a continuation; RFC 9112 lets a
  // server reject it, and smuggling attacks rely on parsers disagreeing.
  bool at_line_start = false;
  bool folded = false;
  int error_status = 0;  // set by our own checks; 0 means "ask llhttp"
  std::string error_reason;

  static Impl* self(llhttp_t* p) { return static_cast<Impl*>(p->data); }

  int fail(int status, const char* reason) {
    error_status = status;
    error_reason = reason;
    return HPE_USER;
  }

  void reset_message() {
    request = Request{};
    request.headers.reserve(kTypicalHeaders);
    field.clear();
    value.clear();
    header_bytes = 0;
    body_bytes = 0;
    host_count = 0;
    body_expected = false;
    at_line_start = false;
    folded = false;
  }

  void scan_header_bytes(const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (at_line_start && (p[i] == ' ' || p[i] == '\t')) folded = true;
      at_line_start = p[i] == '\n';
    }
  }

  static int on_message_begin(llhttp_t* p) {
    Impl* s = self(p);
    size_t carried = s->header_bytes;  // leading CRLFs already counted for this message
    s->reset_message();
    s->header_bytes = carried;
    s->phase = Phase::kHeaders;
    return 0;
  }

  static int on_url(llhttp_t* p, const char* at, size_t n) {
    Impl* s = self(p);
    if (s->request.target.size() + n > s->limits.max_target_bytes) {
      return s->fail(414, "request target too long");
    }
    s->request.target.append(at, n);
    return 0;
  }

  static int on_header_field(llhttp_t* p, const char* at, size_t n) {
    self(p)->field.append(at, n);
    return 0;
  }

  static int on_header_value(llhttp_t* p, const char* at, size_t n) {
    self(p)->value.append(at, n);
    return 0;
  }

  static int on_header_value_complete(llhttp_t* p) {
    Impl* s = self(p);
    // llhttp lets whitespace before the colon through as part of the name.
    if (!is_token(s->field)) return s->fail(400, "invalid header name");
    if (!is_field_value(s->value)) return s->fail(400, "control character in header value");
    while (!s->value.empty() && (s->value.back() == ' ' || s->value.back() == '\t')) {
      s->value.pop_back();
    }
    if (s->phase == Phase::kBody) {
      // Chunked trailers: dropped (nothing downstream reads them) but counted.
      s->body_bytes += s->field.size() + s->value.size();
      if (s->body_bytes > s->limits.max_body_bytes) return s->fail(413, "trailers too large");
    } else {
      if (iequals(s->field, "host")) ++s->host_count;
      s->request.headers.push_back({std::move(s->field), std::move(s->value)});
    }
    s->field.clear();
    s->value.clear();
    return 0;
  }

  static int on_headers_complete(llhttp_t* p) {
    Impl* s = self(p);
    Request& r = s->request;
    r.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    r.version_major = p->http_major;
    r.version_minor = p->http_minor;
    if (r.version_major != 1) {
      s->fail(505, "unsupported HTTP version");
      return -1;
    }
    // RFC 9112 3.2: a 1.1 request needs exactly one Host; more than one is
    // an ambiguity routing must never have to resolve.
    if (s->host_count > 1 || (s->host_count == 0 && r.version_minor >= 1)) {
      s->fail(400, "missing or duplicate Host");
      return -1;
    }
    // RFC 9112 6.3: a request whose Transfer-Encoding does not end in
    // chunked has no knowable length: 400 and close, before anything else
    // (a method or route check) is decided from it.
    if ((p->flags & F_TRANSFER_ENCODING) && !(p->flags & F_CHUNKED)) {
      s->fail(400, "Transfer-Encoding does not end in chunked");
      return -1;
    }
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > s->limits.max_body_bytes) {
      s->fail(413, "body too large");
      return -1;
    }
    for (char c : r.target) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
        s->fail(400, "control character in request target");
        return -1;
      }
    }
    s->body_expected =
        (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
    r.keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
    split_target(r.target, &r.path, &r.query);
    s->phase = Phase::kBody;
    return HPE_PAUSED;  // lets parse() account the header bytes before the body
  }

  static int on_body(llhttp_t* p, const char* at, size_t n) {
    Impl* s = self(p);
    s->body_bytes += n;
    if (s->body_bytes > s->limits.max_body_bytes) return s->fail(413, "body too large");
    s->request.body.append(at, n);
    return 0;
  }

  static int on_message_complete(llhttp_t* p) {
    Impl* s = self(p);
    // After an upgrade the bytes that follow are another protocol, which
    // this server does not speak: answer the request, then close.
    s->request.keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
    s->phase = Phase::kIdle;
    return HPE_PAUSED;
  }

  static const llhttp_settings_t* settings() {
    static const llhttp_settings_t kSettings = [] {
      llhttp_settings_t st;
      llhttp_settings_init(&st);
      st.on_message_begin = on_message_begin;
      st.on_url = on_url;
      st.on_header_field = on_header_field;
      st.on_header_value = on_header_value;
      st.on_header_value_complete = on_header_value_complete;
      st.on_headers_complete = on_headers_complete;
      st.on_body = on_body;
      st.on_message_complete = on_message_complete;
      return st;
    }();
    return &kSettings;
  }
};

RequestParser::RequestParser(ParserLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  llhttp_init(&impl_->parser, HTTP_REQUEST, Impl::settings());
  impl_->parser.data = impl_.get();
}

RequestParser::~RequestParser() = default;

RequestParser::Status RequestParser::parse(std::string_view data, size_t* consumed) {
  Impl& s = *impl_;
  *consumed = 0;
  if (s.error_status != 0) return Status::kError;
  size_t pos = 0;
  // After the pause at the end of the headers, llhttp completes a bodyless
  // message only when executed again, even with no bytes left.
  bool body_pending = false;
  if (s.execute_pending) {
    body_pending = true;
    s.execute_pending = false;
  }
  while (pos < data.size() || body_pending) {
    const char* start = data.empty() ? "" : data.data() + pos;
    const bool in_headers = s.phase != Phase::kBody;
    llhttp_errno_t err = llhttp_execute(&s.parser, start, data.size() - pos);
    size_t used = data.size() - pos;
    if (err == HPE_PAUSED) used = llhttp_get_error_pos(&s.parser) - start;
    if (in_headers) {
      s.header_bytes += used;
      s.scan_header_bytes(start, used);
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
      if (s.error_status == 0) {
        s.error_status = 400;
        s.error_reason = llhttp_get_error_reason(&s.parser);
      }
      return Status::kError;
    }
    if (in_headers && s.header_bytes > s.limits.max_header_bytes) {
      s.fail(431, "header block too large");
      return Status::kError;
    }
    if (s.folded) {
      s.fail(400, "obsolete line folding");
      return Status::kError;
    }
    pos += used;
    body_pending = false;
    if (err == HPE_PAUSED) {
      llhttp_resume(&s.parser);
      if (s.phase == Phase::kIdle) {  // paused in on_message_complete
        *consumed = pos;
        return Status::kRequest;
      }
      if (s.limits.report_headers) {
        s.execute_pending = true;
        *consumed = pos;
        return Status::kHeaders;
      }
      body_pending = true;
    }
  }
  *consumed = pos;
  return Status::kNeedMore;
}

Request RequestParser::take_request() {
  Request r = std::move(impl_->request);
  impl_->request = Request{};
  impl_->header_bytes = 0;
  return r;
}

bool RequestParser::feed(std::string_view data, std::vector<Request>* out) {
  while (true) {
    size_t used = 0;
    Status st = parse(data, &used);
    data.remove_prefix(used);
    if (st == Status::kError) return false;
    if (st == Status::kNeedMore) return true;
    out->push_back(take_request());
    if (!out->back().keep_alive) return true;
  }
}

void RequestParser::end_request() { impl_->header_bytes = 0; }

std::string RequestParser::take_body() { return std::exchange(impl_->request.body, {}); }
bool RequestParser::body_expected() const { return impl_->body_expected; }
bool RequestParser::pending() const { return impl_->execute_pending; }

int RequestParser::error_status() const { return impl_->error_status; }
std::string_view RequestParser::error_reason() const { return impl_->error_reason; }
RequestParser::Phase RequestParser::phase() const { return impl_->phase; }

}  // namespace wok::http

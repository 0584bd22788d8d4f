#include "http/response_parser.h"

#include <llhttp.h>

#include <utility>

#include "http/ascii.h"

namespace wok::http {

struct ResponseParser::Impl {
  llhttp_t parser;
  bool head_request = false;
  bool started = false;
  bool head_ready = false;
  bool complete = false;
  ResponseHead head;
  std::string field;
  std::string value;
  std::string body;

  static Impl* self(llhttp_t* p) { return static_cast<Impl*>(p->data); }

  static int on_message_begin(llhttp_t* p) {
    Impl* s = self(p);
    s->head = ResponseHead{};
    s->head.headers.reserve(kTypicalHeaders);
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
    // What reaches a client must be well-formed whatever llhttp lets through
    // (llhttp 8 takes ": value", an empty name).
    if (!is_token(self(p)->field) || !is_field_value(self(p)->value)) return -1;
    self(p)->push_header();
    return 0;
  }
  void push_header() {
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    head.headers.push_back({std::move(field), std::move(value)});
    field.clear();
    value.clear();
  }
  static int on_headers_complete(llhttp_t* p) {
    Impl* s = self(p);
    // llhttp 8 takes "HTTP/1.1 \r\n" as status 0; a client must never see that.
    if (p->status_code < 100 || p->status_code > 999) return -1;
    s->head.status = p->status_code;
    s->head.version_minor = p->http_minor;
    if (p->flags & F_CONTENT_LENGTH)
      s->head.content_length = static_cast<int64_t>(p->content_length);
    if (p->flags & F_CHUNKED) s->head.content_length = -1;
    const bool interim = p->status_code >= 100 && p->status_code < 200 && p->status_code != 101;
    if (!interim) s->head_ready = true;
    if (p->status_code == 101) return 2;  // no body; what follows is another protocol
    if (interim) return 1;                // 1xx ends with its head, whatever the fields say
    if (s->head_request) return 1;        // no body, whatever the headers say
    return 0;
  }
  static int on_body(llhttp_t* p, const char* at, size_t n) {
    self(p)->body.append(at, n);
    return 0;
  }
  static int on_message_complete(llhttp_t* p) {
    Impl* s = self(p);
    if (!s->head_ready) return 0;  // an interim 1xx: the real response follows
    s->head.keep_alive = llhttp_should_keep_alive(p);
    s->complete = true;
    return HPE_PAUSED;
  }
  static const llhttp_settings_t* settings() {
    static const llhttp_settings_t kSettings = [] {
      llhttp_settings_t st;
      llhttp_settings_init(&st);
      st.on_message_begin = on_message_begin;
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

ResponseParser::ResponseParser() : impl_(std::make_unique<Impl>()) { reset(false); }
ResponseParser::~ResponseParser() = default;

void ResponseParser::reset(bool head_request) {
  Impl& s = *impl_;
  llhttp_init(&s.parser, HTTP_RESPONSE, Impl::settings());
  s.parser.data = &s;
  s.head_request = head_request;
  s.started = s.head_ready = s.complete = false;
  s.head = ResponseHead{};
  s.field.clear();
  s.value.clear();
  s.body.clear();
}

ResponseParser::Status ResponseParser::parse(std::string_view data, size_t* consumed) {
  Impl& s = *impl_;
  *consumed = 0;
  if (s.complete) return Status::kComplete;
  if (data.empty()) return Status::kNeedMore;
  s.started = true;
  llhttp_errno_t err = llhttp_execute(&s.parser, data.data(), data.size());
  if (err == HPE_OK) {
    *consumed = data.size();
    return Status::kNeedMore;
  }
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    *consumed = llhttp_get_error_pos(&s.parser) - data.data();
    return s.complete ? Status::kComplete : Status::kNeedMore;
  }
  return Status::kError;
}

ResponseParser::Status ResponseParser::finish() {
  Impl& s = *impl_;
  if (s.complete) return Status::kComplete;
  if (!s.started) return Status::kError;
  llhttp_errno_t err = llhttp_finish(&s.parser);
  if ((err == HPE_OK || err == HPE_PAUSED) && s.complete) {
    s.head.keep_alive = false;
    return Status::kComplete;
  }
  return Status::kError;
}

bool ResponseParser::head_ready() const { return impl_->head_ready; }
bool ResponseParser::started() const { return impl_->started; }
const ResponseHead& ResponseParser::head() const { return impl_->head; }
std::vector<Header> ResponseParser::take_headers() {
  return std::exchange(impl_->head.headers, {});
}
std::string_view ResponseParser::body() const { return impl_->body; }
void ResponseParser::clear_body() { impl_->body.clear(); }

}  // namespace wok::http

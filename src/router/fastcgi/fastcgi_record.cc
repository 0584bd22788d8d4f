#include "router/fastcgi/fastcgi_record.h"

namespace wok::router {
namespace {

constexpr uint8_t kFcgiVersion = 1;
constexpr uint8_t kRoleResponder = 1;
constexpr uint8_t kKeepConn = 1;
constexpr size_t kMaxPairLength = 0x7fffffff;

void append_header(std::string* out, FcgiType type, size_t length) {
  const char header[kFcgiHeaderSize] = {
      static_cast<char>(kFcgiVersion),
      static_cast<char>(type),
      static_cast<char>(kFcgiRequestId >> 8),
      static_cast<char>(kFcgiRequestId & 0xff),
      static_cast<char>((length >> 8) & 0xff),
      static_cast<char>(length & 0xff),
      0,  // no padding: alignment is only a recommendation
      0,
  };
  out->append(header, sizeof header);
}

void append_length(std::string* out, size_t length) {
  if (length < 128) {
    out->push_back(static_cast<char>(length));
    return;
  }
  out->push_back(static_cast<char>(((length >> 24) & 0x7f) | 0x80));
  out->push_back(static_cast<char>((length >> 16) & 0xff));
  out->push_back(static_cast<char>((length >> 8) & 0xff));
  out->push_back(static_cast<char>(length & 0xff));
}

bool read_length(std::string_view data, size_t* pos, size_t* length) {
  if (*pos >= data.size()) return false;
  auto byte = [&](size_t i) { return static_cast<size_t>(static_cast<uint8_t>(data[*pos + i])); };
  if ((byte(0) & 0x80) == 0) {
    *length = byte(0);
    *pos += 1;
    return true;
  }
  if (data.size() - *pos < 4) return false;
  *length = ((byte(0) & 0x7f) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
  *pos += 4;
  return true;
}

}  // namespace

void append_fcgi_begin_request(std::string* out, bool keep_conn) {
  append_header(out, FcgiType::kBeginRequest, 8);
  const char body[8] = {0,
                        static_cast<char>(kRoleResponder),
                        static_cast<char>(keep_conn ? kKeepConn : 0),
                        0,
                        0,
                        0,
                        0,
                        0};
  out->append(body, sizeof body);
}

void append_fcgi_records(std::string* out, FcgiType type, std::string_view content) {
  do {
    std::string_view piece = content.substr(0, kFcgiMaxContent);
    append_header(out, type, piece.size());
    out->append(piece);
    content.remove_prefix(piece.size());
  } while (!content.empty());
}

void append_fcgi_pair(std::string* out, std::string_view name, std::string_view value) {
  if (name.size() > kMaxPairLength || value.size() > kMaxPairLength) return;
  append_length(out, name.size());
  append_length(out, value.size());
  out->append(name).append(value);
}

bool decode_fcgi_pairs(std::string_view data, FcgiPairs* out) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t name_length = 0;
    size_t value_length = 0;
    if (!read_length(data, &pos, &name_length) || !read_length(data, &pos, &value_length))
      return false;
    if (data.size() - pos < name_length || data.size() - pos - name_length < value_length)
      return false;
    out->emplace_back(std::string(data.substr(pos, name_length)),
                      std::string(data.substr(pos + name_length, value_length)));
    pos += name_length + value_length;
  }
  return true;
}

void FcgiRecordReader::feed(std::string_view data) {
  // Compact only here: record views handed out by next() stay valid until now.
  if (offset_ > 0) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(data);
}

FcgiRecordReader::Status FcgiRecordReader::next(FcgiRecord* record) {
  std::string_view rest = std::string_view(buffer_).substr(offset_);
  if (rest.size() < kFcgiHeaderSize) return Status::kNeedMore;
  auto byte = [&](size_t i) { return static_cast<size_t>(static_cast<uint8_t>(rest[i])); };
  if (byte(0) != kFcgiVersion) return Status::kError;
  const size_t content_length = (byte(4) << 8) | byte(5);
  const size_t total = kFcgiHeaderSize + content_length + byte(6);
  if (rest.size() < total) return Status::kNeedMore;
  record->type = static_cast<FcgiType>(byte(1));
  record->request_id = static_cast<uint16_t>((byte(2) << 8) | byte(3));
  record->content = rest.substr(kFcgiHeaderSize, content_length);
  offset_ += total;
  return Status::kRecord;
}

}  // namespace wok::router

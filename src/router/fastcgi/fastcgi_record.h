#pragma once
// The FastCGI wire format (FastCGI 1.0 specification, sections 3 and 5):
// records of at most 65535 content bytes, name-value pairs with 1- or
// 4-byte lengths. Pure functions and a pull reader, so the codec is tested
// without sockets.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wok::router {

enum class FcgiType : uint8_t {
  kBeginRequest = 1,
  kAbortRequest = 2,
  kEndRequest = 3,
  kParams = 4,
  kStdin = 5,
  kStdout = 6,
  kStderr = 7,
  kData = 8,
  kGetValues = 9,
  kGetValuesResult = 10,
  kUnknownType = 11,
};

constexpr size_t kFcgiHeaderSize = 8;
constexpr size_t kFcgiMaxContent = 65535;
// One request per connection: always the same id.
constexpr uint16_t kFcgiRequestId = 1;
// FCGI_END_REQUEST's protocolStatus for a request that ran.
constexpr uint8_t kFcgiRequestComplete = 0;

// Appends FCGI_BEGIN_REQUEST for the responder role.
void append_fcgi_begin_request(std::string* out, bool keep_conn);
// Appends `content` as records of `type`, split at 65535 bytes. Empty
// content appends one empty record: the end of a PARAMS or STDIN stream.
void append_fcgi_records(std::string* out, FcgiType type, std::string_view content);
// Appends one name-value pair (the content of PARAMS records). Names and
// values longer than 2^31-1 bytes cannot be encoded and are skipped.
void append_fcgi_pair(std::string* out, std::string_view name, std::string_view value);

using FcgiPairs = std::vector<std::pair<std::string, std::string>>;
// Decodes a whole PARAMS stream; false when it is truncated.
bool decode_fcgi_pairs(std::string_view data, FcgiPairs* out);

struct FcgiRecord {
  FcgiType type = FcgiType::kUnknownType;
  uint16_t request_id = 0;
  std::string_view content;  // valid until the next feed()
};

// Reassembles records from a byte stream.
class FcgiRecordReader {
 public:
  enum class Status { kRecord, kNeedMore, kError };
  void feed(std::string_view data);
  // The next complete record; kError for a version other than 1 (the
  // stream cannot be resynchronised after that).
  Status next(FcgiRecord* record);
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

}  // namespace wok::router

#include "router/static/byte_range.h"

#include <gtest/gtest.h>

namespace wok::router {
namespace {

using Kind = RangeRequest::Kind;

TEST(ByteRangeTest, SingleRanges) {
  RangeRequest r = parse_range("bytes=2-5", 10);
  EXPECT_EQ(r.kind, Kind::kSingle);
  EXPECT_EQ(r.first, 2u);
  EXPECT_EQ(r.length, 4u);
  r = parse_range("bytes=7-", 10);
  EXPECT_EQ(r.kind, Kind::kSingle);
  EXPECT_EQ(r.first, 7u);
  EXPECT_EQ(r.length, 3u);
  r = parse_range("bytes=-3", 10);
  EXPECT_EQ(r.first, 7u);
  EXPECT_EQ(r.length, 3u);
  r = parse_range("bytes=-30", 10);  // more than the file: all of it
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 10u);
  r = parse_range("bytes=5-100", 10);  // clamped to the end
  EXPECT_EQ(r.length, 5u);
}

TEST(ByteRangeTest, Unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=10-", 10).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=20-30", 10).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 10).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::kUnsatisfiable);
}

TEST(ByteRangeTest, IgnoredMeansWholeFile) {
  EXPECT_EQ(parse_range("bytes=0-1,3-4", 10).kind, Kind::kWhole);  // multiple: policy
  EXPECT_EQ(parse_range("items=0-1", 10).kind, Kind::kWhole);
  EXPECT_EQ(parse_range("bytes=5-2", 10).kind, Kind::kWhole);
  EXPECT_EQ(parse_range("bytes=a-b", 10).kind, Kind::kWhole);
  EXPECT_EQ(parse_range("bytes=-", 10).kind, Kind::kWhole);
  EXPECT_EQ(parse_range("bytes=1-2-3", 10).kind, Kind::kWhole);
  EXPECT_EQ(parse_range("bytes=99999999999999999999999-", 10).kind, Kind::kWhole);
}

}  // namespace
}  // namespace wok::router

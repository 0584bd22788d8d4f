#include "api/codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace wok::api {
namespace {

using nlohmann::json;

TEST(Codec, MultiDocumentYamlAndScalarTypes) {
  std::vector<json> docs;
  std::string error;
  ASSERT_TRUE(parse_documents("a: 1\nb: true\nc: \"1\"\nd: x\ne: 1.5\nf: ~\n---\n---\n[1, 2]\n",
                              &docs, &error));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], json::parse(R"({"a":1,"b":true,"c":"1","d":"x","e":1.5,"f":null})"));
  EXPECT_EQ(docs[1], json::parse("[1,2]"));
}

TEST(Codec, JsonIsAccepted) {
  std::vector<json> docs;
  std::string error;
  ASSERT_TRUE(parse_documents(R"({"kind": "Site", "spec": {"hosts": ["a.b"]}})", &docs, &error));
  EXPECT_EQ(docs.at(0)["spec"]["hosts"][0], "a.b");
}

TEST(Codec, SyntaxErrorsGiveLineAndColumn) {
  std::vector<json> docs;
  std::string error;
  EXPECT_FALSE(parse_documents("a: 1\nb: [1, 2\n", &docs, &error));
  EXPECT_EQ(error.rfind("line ", 0), 0u) << error;
  EXPECT_FALSE(parse_documents("a: 1\na: 2\n", &docs, &error));
  EXPECT_NE(error.find("duplicate key \"a\""), std::string::npos) << error;
}

TEST(Codec, YamlRoundTrip) {
  json v = json::parse(R"({"s":"true","n":3,"e":"","l":["x","10"],"o":{"k":null}})");
  std::vector<json> docs;
  std::string error;
  ASSERT_TRUE(parse_documents(to_yaml(v), &docs, &error)) << error;
  EXPECT_EQ(docs.at(0), v) << to_yaml(v);
}

}  // namespace
}  // namespace wok::api

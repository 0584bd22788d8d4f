// The proof of a push webhook, checked as GitHub, Gitea and GitLab send it,
// and every way a caller without the secret might try to pass.
#include "hooks/signature.h"

#include <gtest/gtest.h>

#include <vector>

namespace wok::hooks {
namespace {

const std::string kSecret = "It's a Secret to Everybody";  // GitHub's documented example
const std::string kBody = "Hello, World!";

http::Request request_with(std::string header, std::string value, std::string body = kBody) {
  http::Request r;
  r.method = "POST";
  r.headers.push_back({std::move(header), std::move(value)});
  r.body = std::move(body);
  return r;
}

TEST(Signature, HmacMatchesGithubsDocumentedExample) {
  // docs.github.com, "Validating webhook deliveries": this secret and payload.
  EXPECT_EQ(hmac_sha256_hex(kSecret, kBody),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(Signature, GithubHeaderIsVerified) {
  auto r = request_with("X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(kSecret, kBody));
  SignatureCheck c = verify_signature(r, kSecret);
  EXPECT_EQ(c.proof, Proof::kValid);
  EXPECT_EQ(c.header, "X-Hub-Signature-256");
}

TEST(Signature, HeaderNamesAndHexDigitsInAnyCase) {
  std::string hex = hmac_sha256_hex(kSecret, kBody);
  for (char& ch : hex) ch = static_cast<char>(std::toupper(ch));
  EXPECT_EQ(verify_signature(request_with("x-hub-signature-256", "sha256=" + hex), kSecret).proof,
            Proof::kValid);
}

TEST(Signature, GiteaAndGogsHeadersAreVerified) {
  std::string hex = hmac_sha256_hex(kSecret, kBody);
  EXPECT_EQ(verify_signature(request_with("X-Gitea-Signature", hex), kSecret).proof, Proof::kValid);
  EXPECT_EQ(verify_signature(request_with("X-Gogs-Signature", hex), kSecret).proof, Proof::kValid);
}

TEST(Signature, GitlabTokenIsComparedWhole) {
  EXPECT_EQ(verify_signature(request_with("X-Gitlab-Token", kSecret), kSecret).proof,
            Proof::kValid);
  EXPECT_EQ(verify_signature(request_with("X-Gitlab-Token", kSecret + "x"), kSecret).proof,
            Proof::kInvalid);
  EXPECT_EQ(verify_signature(request_with("X-Gitlab-Token", kSecret.substr(0, 20)), kSecret).proof,
            Proof::kInvalid);
  EXPECT_EQ(verify_signature(request_with("X-Gitlab-Token", ""), kSecret).proof, Proof::kMalformed);
}

TEST(Signature, AnotherSecretsSignatureIsInvalid) {
  // A member of another project signs with their own site's secret.
  auto r = request_with("X-Hub-Signature-256",
                        "sha256=" + hmac_sha256_hex("another site's secret, 32 bytes", kBody));
  EXPECT_EQ(verify_signature(r, kSecret).proof, Proof::kInvalid);
}

TEST(Signature, SignatureOfAnotherBodyIsInvalid) {
  auto r = request_with("X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(kSecret, kBody),
                        R"({"ref":"refs/heads/main"})");
  EXPECT_EQ(verify_signature(r, kSecret).proof, Proof::kInvalid);
}

TEST(Signature, MalformedValuesAreNamed) {
  std::string hex = hmac_sha256_hex(kSecret, kBody);
  for (const std::string& bad : std::vector<std::string>{
           hex, "sha1=" + hex, "sha256=", "sha256=" + hex.substr(1), "sha256=" + hex + "00",
           "sha256=" + hex.substr(0, 63) + "g", "sha256= " + hex.substr(1)}) {
    SignatureCheck c = verify_signature(request_with("X-Hub-Signature-256", bad), kSecret);
    EXPECT_EQ(c.proof, Proof::kMalformed) << bad;
    EXPECT_EQ(c.header, "X-Hub-Signature-256");
  }
  EXPECT_EQ(verify_signature(request_with("X-Gitea-Signature", "sha256=" + hex), kSecret).proof,
            Proof::kMalformed);
}

TEST(Signature, NoKnownHeaderIsNoProof) {
  // GitHub's older SHA-1 header is not taken: SHA-1 signatures are not accepted.
  auto r = request_with("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000");
  EXPECT_FALSE(has_signature_header(r));
  EXPECT_EQ(verify_signature(r, kSecret).proof, Proof::kNone);
  http::Request bare;
  EXPECT_EQ(verify_signature(bare, kSecret).proof, Proof::kNone);
}

TEST(Signature, WeakSecretMatchesNothing) {
  // A 15-byte secret: even its own correct signature and token are refused.
  const std::string weak = "fifteen-bytes!!";
  ASSERT_EQ(weak.size(), kMinSecretBytes - 1);
  EXPECT_EQ(verify_signature(
                request_with("X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(weak, kBody)), weak)
                .proof,
            Proof::kInvalid);
  EXPECT_EQ(verify_signature(request_with("X-Gitlab-Token", weak), weak).proof, Proof::kInvalid);
  // An empty secret: an empty token does not match it either.
  EXPECT_NE(verify_signature(request_with("X-Gitlab-Token", ""), "").proof, Proof::kValid);
}

TEST(Signature, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), "a"));
}

}  // namespace
}  // namespace wok::hooks

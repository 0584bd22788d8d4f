// spec.access.oidc at the router, piece by piece: ID tokens (RS256 and
// ES256, signed here with OpenSSL) checked against a JWK Set, sessions
// sealed for one site only, return paths, PKCE, and the off-loop pool's
// per-tenant bound. The whole login through a real provider is
// tests/integration/test_oidc.py.
#include "router/auth/oidc.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "base/sealed_box.h"
#include "http/off_loop.h"
#include "http/server.h"
#include "router/auth/jwt.h"
#include "router/loopback_client.h"

namespace wok::router {
namespace {

using json = nlohmann::json;

struct Key {
  std::shared_ptr<EVP_PKEY> key;
  json jwk;
};

std::string bn_bytes(const BIGNUM* bn, int size = 0) {
  int n = size ? size : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(n), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n);
  return out;
}

Key make_key(const char* type, const std::string& kid) {
  EVP_PKEY* raw = std::string(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", 2048)
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  Key k{std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free), {{"kid", kid}, {"use", "sig"}}};
  if (std::string(type) == "RSA") {
    BIGNUM *n = nullptr, *e = nullptr;
    EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_RSA_E, &e);
    k.jwk["kty"] = "RSA";
    k.jwk["n"] = base::base64url_encode(bn_bytes(n));
    k.jwk["e"] = base::base64url_encode(bn_bytes(e));
    BN_free(n);
    BN_free(e);
  } else {
    BIGNUM *x = nullptr, *y = nullptr;
    EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    k.jwk["kty"] = "EC";
    k.jwk["crv"] = "P-256";
    k.jwk["x"] = base::base64url_encode(bn_bytes(x, 32));
    k.jwk["y"] = base::base64url_encode(bn_bytes(y, 32));
    BN_free(x);
    BN_free(y);
  }
  return k;
}

std::string sign(const Key& k, const json& header, const json& claims) {
  std::string input =
      base::base64url_encode(header.dump()) + "." + base::base64url_encode(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, k.key.get());
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (EVP_PKEY_get_base_id(k.key.get()) == EVP_PKEY_EC) {  // DER to JWS's r || s
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    sig = bn_bytes(ECDSA_SIG_get0_r(s), 32) + bn_bytes(ECDSA_SIG_get0_s(s), 32);
    ECDSA_SIG_free(s);
  }
  return input + "." + base::base64url_encode(sig);
}

class IdTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsa_ = make_key("RSA", "r1");
    ec_ = make_key("EC", "e1");
    std::string error;
    auto jwks = Jwks::parse(json{{"keys", {rsa_.jwk, ec_.jwk}}}.dump(), &error);
    ASSERT_TRUE(jwks) << error;
    jwks_ = *jwks;
    check_ = {"https://id.example.org", "wok-app", "n-1", 1'800'000'000};
    claims_ = {{"iss", "https://id.example.org"},
               {"aud", "wok-app"},
               {"sub", "u1"},
               {"email", "alice@example.org"},
               {"nonce", "n-1"},
               {"iat", 1'800'000'000},
               {"exp", 1'800'000'300}};
  }
  std::optional<json> verify(const std::string& token, std::string* error) {
    return verify_id_token(token, jwks_, check_, error);
  }
  Key rsa_, ec_;
  Jwks jwks_;
  IdTokenCheck check_;
  json claims_;
};

TEST_F(IdTokenTest, Rs256AndEs256TokensOfTheProviderVerify) {
  std::string error;
  auto c = verify(sign(rsa_, {{"alg", "RS256"}, {"kid", "r1"}}, claims_), &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ((*c)["email"], "alice@example.org");
  EXPECT_TRUE(verify(sign(ec_, {{"alg", "ES256"}, {"kid", "e1"}}, claims_), &error)) << error;
  // aud as a list holding this client, and no kid with one key of the type.
  json listed = claims_;
  listed["aud"] = {"other", "wok-app"};
  EXPECT_TRUE(verify(sign(ec_, {{"alg", "ES256"}}, listed), &error)) << error;
}

TEST_F(IdTokenTest, EveryWrongTokenIsRefusedSayingWhy) {
  std::string error;
  auto refused = [&](const std::string& token, const std::string& words) {
    error.clear();
    EXPECT_FALSE(verify(token, &error)) << words;
    EXPECT_NE(error.find(words), std::string::npos) << error;
  };
  json h = {{"alg", "RS256"}, {"kid", "r1"}};
  auto with = [&](const char* key, json value) {
    json c = claims_;
    if (value.is_null())
      c.erase(key);
    else
      c[key] = value;
    return sign(rsa_, h, c);
  };
  refused(with("iss", "https://evil.example"), "not issued by https://id.example.org");
  refused(with("aud", "other"), "not meant for client wok-app");
  refused(with("azp", "other"), "not meant for client wok-app");
  refused(with("exp", 1'799'999'000), "expired");
  refused(with("iat", 1'800'009'000), "in the future");
  refused(with("nonce", "n-2"), "nonce");
  refused(with("nonce", nullptr), "nonce");
  // Another key's signature, under this key's kid.
  Key stranger = make_key("RSA", "r1");
  refused(sign(stranger, h, claims_), "signature does not verify");
  // The RSA key used as if it were the EC one (the header picks ES256): no such key.
  refused(sign(rsa_, {{"alg", "ES256"}, {"kid", "r1"}}, claims_), "no key");
  // "none" and HMAC keyed with the public key (the classic confusion): refused by algorithm.
  std::string unsigned_token = base::base64url_encode(json{{"alg", "none"}}.dump()) + "." +
                               base::base64url_encode(claims_.dump()) + ".";
  refused(unsigned_token, "RS256 and ES256");
  std::string hs = base::base64url_encode(json{{"alg", "HS256"}, {"kid", "r1"}}.dump()) + "." +
                   base::base64url_encode(claims_.dump()) + ".c2ln";
  refused(hs, "RS256 and ES256");
  refused("not.a.jwt!", "not a signed JWT");
  refused("a.b", "not a signed JWT");
  // A flipped byte of the payload breaks the signature.
  std::string good = sign(rsa_, h, claims_);
  size_t dot = good.find('.');
  good[dot + 5] = good[dot + 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify(good, &error));
}

// A provider's JSON with members of the wrong type is no key (it once
// threw out of the pool thread and ended the process).
TEST(Jwks, MembersOfTheWrongTypeAreNoKeyNotACrash) {
  std::string error;
  for (const char* set :
       {R"({"keys":[{"use":1}]})", R"({"keys":[{"kty":7,"n":1,"e":[]}]})",
        R"({"keys":[{"kty":"EC","crv":{},"x":1,"y":null}]})", R"({"keys":[1,"a"]})"}) {
    EXPECT_FALSE(Jwks::parse(set, &error)) << set;
  }
  Key rsa = make_key("RSA", "r1");
  auto jwks = Jwks::parse(json{{"keys", {rsa.jwk}}}.dump(), &error);
  ASSERT_TRUE(jwks);
  IdTokenCheck check{"https://id.example.org", "wok-app", "n", 1'800'000'000};
  std::string bad_header = base::base64url_encode(R"({"alg":1,"kid":["r1"]})") + "." +
                           base::base64url_encode("{}") + ".c2ln";
  EXPECT_FALSE(verify_id_token(bad_header, *jwks, check, &error));
  EXPECT_NE(error.find("RS256 and ES256"), std::string::npos) << error;
}

TEST(Jwks, SkipsKeysItCannotUseAndRefusesASetOfNone) {
  std::string error;
  json small_rsa = {
      {"kty", "RSA"}, {"n", base::base64url_encode(std::string(64, '\x7f'))}, {"e", "AQAB"}};
  json enc = make_key("EC", "x").jwk;
  enc["use"] = "enc";
  json p384 = {{"kty", "EC"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}};
  EXPECT_FALSE(Jwks::parse(json{{"keys", {small_rsa, enc, p384}}}.dump(), &error));
  EXPECT_NE(error.find("no RSA"), std::string::npos) << error;
  EXPECT_FALSE(Jwks::parse("[]", &error));
  auto two = Jwks::parse(json{{"keys", {make_key("EC", "a").jwk, make_key("EC", "b").jwk}}}.dump(),
                         &error);
  ASSERT_TRUE(two);
  EXPECT_TRUE(two->find("a", "ES256"));
  EXPECT_FALSE(two->find("", "ES256"));  // two keys, no kid: the token must say which
  EXPECT_FALSE(two->find("a", "RS256"));
}

OidcLogin login_of(const std::string& project, const std::string& site) {
  OidcLogin l;
  l.project = project;
  l.site = site;
  l.issuer = "https://id.example.org";
  l.client_id = "wok-app";
  return l;
}

TEST(OidcSession, OpensOnlyForItsOwnSiteProviderAndTime) {
  base::SealedBox box(base::SealedBox::Key{1, 2, 3});
  OidcLogin a = login_of("team-a", "app");
  OidcUser alice{"alice@example.org", "alice@example.org", {"staff", "ops"}, 2000};
  std::string cookie = seal_session(box, a, alice);
  for (char c : cookie)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  auto back = open_session(box, a, cookie, 1000);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->name, "alice@example.org");
  EXPECT_EQ(back->groups, (std::vector<std::string>{"staff", "ops"}));
  EXPECT_FALSE(open_session(box, a, cookie, 2000));                           // expired
  EXPECT_FALSE(open_session(box, login_of("team-b", "app"), cookie, 1000));   // another project
  EXPECT_FALSE(open_session(box, login_of("team-a", "blog"), cookie, 1000));  // another site
  OidcLogin other_provider = a;
  other_provider.issuer = "https://evil.example";
  EXPECT_FALSE(open_session(box, other_provider, cookie, 1000));
  EXPECT_FALSE(open_session(base::SealedBox(base::SealedBox::Key{9}), a, cookie, 1000));
  std::string altered = cookie;
  altered[20] = altered[20] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(open_session(box, a, altered, 1000));
  // A login's pending cookie is no session, and the reverse.
  OidcPending pending{"s", "n", "v", "/x", 2000};
  std::string p = seal_pending(box, a, pending);
  EXPECT_FALSE(open_session(box, a, p, 1000));
  EXPECT_FALSE(open_pending(box, a, cookie, 1000));
  ASSERT_TRUE(open_pending(box, a, p, 1000));
  EXPECT_EQ(open_pending(box, a, p, 1000)->return_to, "/x");
}

TEST(OidcSession, HostPrefixedNamesOverHttpsAndCallbacksHonouredOnce) {
  EXPECT_EQ(oidc_cookie_name(kOidcSessionCookie, true), "__Host-wok_oidc");
  EXPECT_EQ(oidc_cookie_name(kOidcPendingCookie, true), "__Host-wok_oidc_login");
  EXPECT_EQ(oidc_cookie_name(kOidcSessionCookie, false), "_wok_oidc");
  OnceSet once;
  EXPECT_TRUE(once.first("state-1", 2000, 1000));
  EXPECT_FALSE(once.first("state-1", 2000, 1500));  // a replayed callback
  EXPECT_TRUE(once.first("state-2", 2000, 1500));
  EXPECT_TRUE(once.first("state-1", 3000, 2500));  // long expired: forgotten
}

TEST(OidcSession, AMemberOfThousandsOfGroupsGetsACookieABrowserKeeps) {
  base::SealedBox box(base::SealedBox::Key{1});
  OidcLogin a = login_of("team-a", "app");
  a.allowed_groups = {"zz-web-team"};
  OidcUser user{"u", "", {}, 2000};
  for (int i = 0; i < 3000; ++i) user.groups.push_back("group-number-" + std::to_string(i));
  user.groups.push_back("zz-web-team");
  std::string cookie = seal_session(box, a, user);
  EXPECT_LT(cookie.size(), 3900u);
  auto back = open_session(box, a, cookie, 1000);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->groups.front(), "zz-web-team");  // the group that lets them in is kept first
  EXPECT_TRUE(oidc_allows(a, *back));
}

TEST(OidcLoginRules, ListsReturnPathsAndPkce) {
  OidcLogin l = login_of("p", "s");
  OidcUser bob{"bob", "", {"visitors"}, 0};
  EXPECT_TRUE(oidc_allows(l, bob));  // no lists: whoever the provider signs in
  l.allowed_users = {"alice"};
  EXPECT_FALSE(oidc_allows(l, bob));
  l.allowed_groups = {"visitors"};
  EXPECT_TRUE(oidc_allows(l, bob));
  l.allowed_groups.clear();
  l.allowed_users = {"Alice@Example.org"};
  EXPECT_TRUE(
      oidc_allows(l, OidcUser{"alice@example.org", "", {}, 0}));  // as oauth2-proxy: no case

  EXPECT_EQ(safe_return_path("/docs?x=1"), "/docs?x=1");
  // Bytes that are not ASCII travel percent-encoded (and can be sealed:
  // JSON of a non-UTF-8 path once threw on a loop thread).
  EXPECT_EQ(safe_return_path("/caf\xc3\xa9/\xff"), "/caf%C3%A9/%FF");
  base::SealedBox box(base::SealedBox::Key{1});
  OidcPending pending{"s", "n", "v", std::string("/\xff\xfe"), 2000};
  auto back = open_pending(box, l, seal_pending(box, l, pending), 1000);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->return_to, "/%EF%BF%BD%EF%BF%BD");  // U+FFFD for each, still a path here
  for (const char* bad : {"//evil.example", "/\\evil.example", "https://evil.example", "", "evil",
                          "/a\r\nSet-Cookie: x", "/a#frag"})
    EXPECT_EQ(safe_return_path(bad), "/") << bad;

  // RFC 7636 appendix B.
  EXPECT_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  EXPECT_NE(random_token(), random_token());
  EXPECT_EQ(random_token().size(), 43u);

  EXPECT_EQ(form_encode("a b/+&="), "a%20b%2F%2B%26%3D");
  EXPECT_EQ(form_decode("a+b%2F%2b"), "a b/+");
  EXPECT_EQ(query_param("code=a%20b&state=s", "code"), "a b");
  EXPECT_EQ(query_param("code=a&state=s", "state"), "s");
  EXPECT_FALSE(query_param("code=a", "state"));
}

// A job that throws is dropped, not the process; the pool goes on.
TEST(OffLoopPool, AJobThatThrowsTakesNothingDown) {
  OffLoopPool pool(1, 16, 8);
  auto mailbox = std::make_shared<http::Mailbox>();
  std::atomic<bool> after{false};
  ASSERT_TRUE(pool.run(mailbox, "t", []() -> std::function<void()> {
    throw std::runtime_error("a provider's malformed answer");
  }));
  ASSERT_TRUE(pool.run(mailbox, "t", [&]() -> std::function<void()> {
    after = true;
    return nullptr;
  }));
  for (int i = 0; i < 3000 && !after; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(after);
}

// A tenant held to one running job: its second waits for its first while
// another tenant's runs on the other thread.
TEST(OffLoopPool, ATenantRunsNoMoreJobsThanItsLimit) {
  OffLoopPool pool(2, 16, 8, 1);
  auto mailbox = std::make_shared<http::Mailbox>();
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::string> ran;
  auto job = [&](std::string name, bool gate) {
    return [&, name, gate]() -> std::function<void()> {
      std::unique_lock lock(mu);
      ran.push_back(name);
      cv.notify_all();
      if (gate) cv.wait(lock, [&] { return release; });
      return nullptr;
    };
  };
  ASSERT_TRUE(pool.run(mailbox, "stall", job("stall-1", true)));
  ASSERT_TRUE(pool.run(mailbox, "stall", job("stall-2", true)));
  ASSERT_TRUE(pool.run(mailbox, "other", job("other", false)));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return ran.size() == 2; }));
    // The second thread went to "other", not to the stalled tenant's second
    // job (the two may record in either order).
    std::vector<std::string> two = ran;
    std::sort(two.begin(), two.end());
    EXPECT_EQ(two, (std::vector<std::string>{"other", "stall-1"}));
    release = true;
  }
  cv.notify_all();
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return ran.size() == 3; }));
}

// A real server whose handler runs each request's work on the pool, the
// tenant named by the path: a tenant whose work hangs holds its own slot
// only, and the others are answered meanwhile.
TEST(OffLoopPool, OneTenantsSlowWorkHoldsBackNoOtherTenant) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, started = false;
  OffLoopPool pool(2, 16, 1);
  http::ServerOptions options;
  options.threads = 1;
  http::Server server(options, [&](http::Exchange ex) {
    const std::string tenant = ex.request().path;
    // The work holds the exchange but touches it on the loop only (in what it returns).
    bool queued =
        pool.run(ex.loop().mailbox(), tenant, [&, ex, tenant]() mutable -> std::function<void()> {
          if (tenant == "/slow") {
            std::unique_lock lock(mu);
            started = true;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
          }
          return [ex]() mutable {
            http::Response r;
            r.body = "done " + ex.request().path;
            ex.respond(std::move(r));
          };
        });
    if (!queued) {
      http::Response r;
      r.status = 503;
      ex.respond(std::move(r));
    }
  });
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;
  auto send = [&](const std::string& path) {
    int fd = test_support::connect_tcp(server.port());
    test_support::send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return fd;
  };
  auto answer = [](int fd) {
    std::string buffer, body;
    std::string head = test_support::read_response(fd, &buffer, &body);
    close(fd);
    return head.substr(0, head.find("\r\n")) + " " + body;
  };
  int slow = send("/slow");
  {
    // Its job running on a pool thread before the next request comes.
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return started; }));
  }
  EXPECT_EQ(answer(send("/slow")), "HTTP/1.1 503 Service Unavailable ");  // its one slot is taken
  EXPECT_EQ(answer(send("/fast")), "HTTP/1.1 200 OK done /fast");
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(answer(slow), "HTTP/1.1 200 OK done /slow");
  EXPECT_EQ(answer(send("/slow")), "HTTP/1.1 200 OK done /slow");  // the slot is free again
  server.stop(0);
}

// Tenants take turns: one with jobs waiting does not hold back another
// that asks later for more than its own running job. One thread; the order
// the jobs ran in is recorded (the mailbox here belongs to no loop, so
// their answers are dropped).
TEST(OffLoopPool, TenantsTakeTurnsNotTheOldestJobFirst) {
  OffLoopPool pool(1, 16, 8);
  auto mailbox = std::make_shared<http::Mailbox>();
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, started = false;
  std::vector<std::string> ran;
  auto job = [&](std::string name, bool gate) {
    return [&, name, gate]() -> std::function<void()> {
      std::unique_lock lock(mu);
      if (gate) {
        started = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
      }
      ran.push_back(name);
      cv.notify_all();
      return nullptr;
    };
  };
  ASSERT_TRUE(pool.run(mailbox, "flood", job("flood-1", true)));  // holds the one thread
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return started; }));
  }
  for (int i = 2; i <= 4; ++i)
    ASSERT_TRUE(pool.run(mailbox, "flood", job("flood-" + std::to_string(i), false)));
  ASSERT_TRUE(pool.run(mailbox, "other", job("other", false)));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return ran.size() == 5; }));
  // Oldest first would run "other" last; in turns it runs after one more of the flood's.
  EXPECT_EQ(ran, (std::vector<std::string>{"flood-1", "flood-2", "other", "flood-3", "flood-4"}));
}

}  // namespace
}  // namespace wok::router

// Unit tests for src/core: errors and results, ids, rationals, request context, config, time and
// hashing.
#include "core/config.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/rational.h"
#include "core/request_context.h"
#include "core/sha256.h"
#include "core/time_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

extern char** environ;

namespace atomcut {
namespace {

// ---------------------------------------------------------------------------------------------
// Error, Result, Status

constexpr ErrorCode kAllCodes[] = {
    ErrorCode::kInvalidArgument,    ErrorCode::kNotFound,         ErrorCode::kAlreadyExists,
    ErrorCode::kFailedPrecondition, ErrorCode::kPermissionDenied, ErrorCode::kUnauthenticated,
    ErrorCode::kResourceExhausted,  ErrorCode::kUnavailable,      ErrorCode::kDeadlineExceeded,
    ErrorCode::kUnimplemented,      ErrorCode::kInternal,         ErrorCode::kDataLoss,
};

TEST(ErrorTest, CodeNames) {
  EXPECT_EQ(error_code_name(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(error_code_name(ErrorCode::kNotFound), "not_found");
  EXPECT_EQ(error_code_name(ErrorCode::kAlreadyExists), "already_exists");
  EXPECT_EQ(error_code_name(ErrorCode::kFailedPrecondition), "failed_precondition");
  EXPECT_EQ(error_code_name(ErrorCode::kPermissionDenied), "permission_denied");
  EXPECT_EQ(error_code_name(ErrorCode::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(error_code_name(ErrorCode::kResourceExhausted), "resource_exhausted");
  EXPECT_EQ(error_code_name(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(error_code_name(ErrorCode::kDeadlineExceeded), "deadline_exceeded");
  EXPECT_EQ(error_code_name(ErrorCode::kUnimplemented), "unimplemented");
  EXPECT_EQ(error_code_name(ErrorCode::kInternal), "internal");
  EXPECT_EQ(error_code_name(ErrorCode::kDataLoss), "data_loss");
  std::set<std::string_view> names;
  for (ErrorCode c : kAllCodes) names.insert(error_code_name(c));
  EXPECT_EQ(names.size(), std::size(kAllCodes));
}

TEST(ErrorTest, FactoriesSetTheirCode) {
  const std::pair<Error, ErrorCode> cases[] = {
      {Error::invalid_argument("m"), ErrorCode::kInvalidArgument},
      {Error::not_found("m"), ErrorCode::kNotFound},
      {Error::already_exists("m"), ErrorCode::kAlreadyExists},
      {Error::failed_precondition("m"), ErrorCode::kFailedPrecondition},
      {Error::permission_denied("m"), ErrorCode::kPermissionDenied},
      {Error::unauthenticated("m"), ErrorCode::kUnauthenticated},
      {Error::resource_exhausted("m"), ErrorCode::kResourceExhausted},
      {Error::unavailable("m"), ErrorCode::kUnavailable},
      {Error::deadline_exceeded("m"), ErrorCode::kDeadlineExceeded},
      {Error::unimplemented("m"), ErrorCode::kUnimplemented},
      {Error::internal("m"), ErrorCode::kInternal},
      {Error::data_loss("m"), ErrorCode::kDataLoss},
  };
  EXPECT_EQ(std::size(cases), std::size(kAllCodes));
  for (const auto& [e, code] : cases) {
    EXPECT_EQ(e.code, code) << error_code_name(code);
    EXPECT_EQ(e.message, "m");
    EXPECT_TRUE(e.details.is_object());
    EXPECT_TRUE(e.details.empty());
  }
}

TEST(ErrorTest, ToJson) {
  Error e = Error::not_found("asset 'ast_x' not found", {{"asset_id", "ast_x"}});
  EXPECT_EQ(e.to_json(), (nlohmann::json{{"code", "not_found"},
                                         {"message", "asset 'ast_x' not found"},
                                         {"details", {{"asset_id", "ast_x"}}}}));
  Error plain = Error::internal("boom");
  EXPECT_EQ(plain.to_json()["details"], nlohmann::json::object());
  // A null details value still serialises as an object.
  Error null_details{ErrorCode::kUnavailable, "later", nullptr};
  EXPECT_EQ(null_details.to_json()["details"], nlohmann::json::object());
  EXPECT_EQ(null_details.to_json()["code"], "unavailable");
  // A default Error is internal.
  EXPECT_EQ(Error{}.code, ErrorCode::kInternal);
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = 42;
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(ok.value(), 42);
  EXPECT_EQ(*ok, 42);

  Result<int> bad = Error::not_found("nope");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
  Error taken = bad.take_error();
  EXPECT_EQ(taken.message, "nope");

  Result<std::string> s = std::string("abc");
  EXPECT_EQ(s->size(), 3u);
  s.value() += "d";
  EXPECT_EQ(*s, "abcd");
  const Result<std::string>& cs = s;
  EXPECT_EQ(cs.value(), "abcd");
  EXPECT_EQ(cs->size(), 4u);
  std::string moved = std::move(s).value();
  EXPECT_EQ(moved, "abcd");
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(StatusTest, OkAndError) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_TRUE(Status::ok_status().ok());
  Status bad = Error::permission_denied("no", {{"field", "x"}});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(bad.error().details["field"], "x");
  Error e = bad.take_error();
  EXPECT_EQ(e.message, "no");
}

int g_calls = 0;

Status check_positive(int v) {
  ++g_calls;
  if (v <= 0) return Error::invalid_argument("must be positive", {{"value", v}});
  return {};
}

Result<int> half(int v) {
  ++g_calls;
  if (v % 2) return Error::invalid_argument("odd");
  return v / 2;
}

Result<std::unique_ptr<int>> boxed(int v) {
  if (v < 0) return Error::invalid_argument("negative");
  return std::make_unique<int>(v);
}

Status try_status(int v) {
  ATOMCUT_TRY(check_positive(v));
  ATOMCUT_TRY(half(v));  // a Result works in ATOMCUT_TRY too
  return Error::already_exists("reached the end");
}

Result<int> quarter(int v) {
  ATOMCUT_ASSIGN_OR_RETURN(int h, half(v));
  ATOMCUT_ASSIGN_OR_RETURN(auto q, half(h));  // twice in one function
  return q;
}

Result<int> unbox(int v) {
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<int> p, boxed(v));
  return *p + 1;
}

Status assign_existing(int v, int& out) {
  int x = 0;
  ATOMCUT_ASSIGN_OR_RETURN(x, half(v));  // assigns to an existing variable
  out = x;
  return {};
}

TEST(MacroTest, TryReturnsTheFirstError) {
  g_calls = 0;
  Status st = try_status(-1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.error().message, "must be positive");
  EXPECT_EQ(st.error().details["value"], -1);
  EXPECT_EQ(g_calls, 1);  // half() never ran

  g_calls = 0;
  st = try_status(3);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "odd");
  EXPECT_EQ(g_calls, 2);

  g_calls = 0;
  st = try_status(4);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(g_calls, 2);  // each expression evaluated exactly once
}

TEST(MacroTest, AssignOrReturn) {
  g_calls = 0;
  auto q = quarter(12);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, 3);
  EXPECT_EQ(g_calls, 2);

  g_calls = 0;
  q = quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().message, "odd");
  EXPECT_EQ(g_calls, 2);

  g_calls = 0;
  q = quarter(5);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(g_calls, 1);

  EXPECT_EQ(*unbox(4), 5);
  EXPECT_EQ(unbox(-4).error().message, "negative");

  int out = 0;
  EXPECT_TRUE(assign_existing(10, out).ok());
  EXPECT_EQ(out, 5);
  EXPECT_FALSE(assign_existing(9, out).ok());
  EXPECT_EQ(out, 5);
}

// ---------------------------------------------------------------------------------------------
// ids

constexpr std::string_view kCrockford = "0123456789abcdefghjkmnpqrstvwxyz";

TEST(IdsTest, Shape) {
  for (std::string_view prefix : {"ast", "art", "key", "req"}) {
    const std::string id = new_id(prefix);
    ASSERT_EQ(id.size(), prefix.size() + 1 + 26) << id;
    EXPECT_EQ(id.substr(0, prefix.size() + 1), std::string(prefix) + "_");
    for (char c : id.substr(prefix.size() + 1)) {
      EXPECT_NE(kCrockford.find(c), std::string_view::npos) << id;
    }
    EXPECT_TRUE(is_valid_id(id, prefix)) << id;
  }
}

TEST(IdsTest, Validity) {
  const std::string id = new_id("ast");
  const std::string body = id.substr(4);
  EXPECT_TRUE(is_valid_id(id, "ast"));
  EXPECT_FALSE(is_valid_id(id, "art"));  // other prefix
  EXPECT_FALSE(is_valid_id(id, "as"));
  EXPECT_FALSE(is_valid_id("ast" + body, "ast"));                 // no separator
  EXPECT_FALSE(is_valid_id("ast-" + body, "ast"));                // wrong separator
  EXPECT_FALSE(is_valid_id(id.substr(0, id.size() - 1), "ast"));  // too short
  EXPECT_FALSE(is_valid_id(id + "0", "ast"));                     // too long
  EXPECT_FALSE(is_valid_id("", "ast"));
  EXPECT_FALSE(is_valid_id("ast_", "ast"));
  std::string upper = id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  upper.replace(0, 4, "ast_");
  if (upper != id) {
    EXPECT_FALSE(is_valid_id(upper, "ast")) << upper;
  }
  // Crockford base32 leaves out i, l, o and u.
  for (char excluded : {'i', 'l', 'o', 'u', '_', '-', '/', ' '}) {
    std::string bad = id;
    bad.back() = excluded;
    EXPECT_FALSE(is_valid_id(bad, "ast")) << bad;
  }
  EXPECT_TRUE(is_valid_id("ast_" + std::string(26, '0'), "ast"));
}

TEST(IdsTest, UniqueOver100k) {
  std::unordered_set<std::string> seen;
  seen.reserve(100000);
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(seen.insert(new_id("req")).second);
}

TEST(IdsTest, UniqueAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<std::string>> out(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&out, t] {
      for (int i = 0; i < kPerThread; ++i) out[t].push_back(new_id("key"));
    });
  }
  for (auto& th : threads) th.join();
  std::unordered_set<std::string> all;
  for (const auto& v : out) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), size_t{kThreads} * kPerThread);
}

TEST(IdsTest, OrderFollowsCreationAcrossMilliseconds) {
  std::string prev = new_id("ast");
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::string next = new_id("ast");
    EXPECT_LT(prev, next);
    prev = next;
  }
}

TEST(IdsTest, TimestampPrefixEncodesNow) {
  // The first 10 characters (50 bits, the top 2 always zero) hold the 48-bit ms timestamp.
  const int64_t before = now_ms();
  const std::string id = new_id("ast");
  const int64_t after = now_ms();
  uint64_t ms = 0;
  for (char c : id.substr(4, 10)) ms = ms * 32 + kCrockford.find(c);
  EXPECT_GE(static_cast<int64_t>(ms), before);
  EXPECT_LE(static_cast<int64_t>(ms), after);
}

TEST(IdsTest, RandomHex) {
  EXPECT_EQ(random_hex(0), "");
  const std::string h = random_hex(16);
  ASSERT_EQ(h.size(), 32u);
  for (char c : h) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << h;
  EXPECT_NE(random_hex(16), random_hex(16));
}

// ---------------------------------------------------------------------------------------------
// Rational

std::string parsed(std::string_view text) {
  auto r = parse_rational(text);
  return r ? r->to_string() : "nullopt";
}

TEST(RationalTest, ParseFractionsAndIntegers) {
  EXPECT_EQ(parsed("30000/1001"), "30000/1001");
  EXPECT_EQ(parsed("24000/1001"), "24000/1001");
  EXPECT_EQ(parsed("60/2"), "30/1");  // reduced
  EXPECT_EQ(parsed("1/90000"), "1/90000");
  EXPECT_EQ(parsed("30"), "30/1");
  EXPECT_EQ(parsed("25"), "25/1");
  EXPECT_EQ(parsed("0"), "0/1");
  EXPECT_EQ(parsed("0/5"), "0/1");
}

TEST(RationalTest, ParseDecimals) {
  EXPECT_EQ(parsed("29.97"), "30000/1001");
  EXPECT_EQ(parsed("23.976"), "24000/1001");
  EXPECT_EQ(parsed("23.98"), "24000/1001");
  EXPECT_EQ(parsed("59.94"), "60000/1001");
  EXPECT_EQ(parsed("119.88"), "120000/1001");
  EXPECT_EQ(parsed("47.952"), "48000/1001");
  EXPECT_EQ(parsed("25.0"), "25/1");  // a whole number is not NTSC
  EXPECT_EQ(parsed("30.000"), "30/1");
  EXPECT_EQ(parsed("12.5"), "25/2");  // not near an NTSC rate: exact
  EXPECT_EQ(parsed("0.5"), "1/2");
  EXPECT_EQ(parsed("44.1"), "441/10");
}

// Negative numerators parse (the header only rules out zero and negative denominators): a
// Rational is also a signed time offset. Callers that need a positive rate check it themselves.
TEST(RationalTest, NegativeNumeratorsParse) {
  EXPECT_EQ(parsed("-1/2"), "-1/2");
  EXPECT_EQ(parsed("-30"), "-30/1");
  EXPECT_EQ(parsed("-2/4"), "-1/2");
  EXPECT_EQ(parsed("-0.5"), "-1/2");
}

TEST(RationalTest, ParseRefusesMalformedText) {
  for (std::string_view bad : {"",
                               "1/0",
                               "0/0",
                               "1/-2",
                               "-1/-2",
                               "a/b",
                               "1/b",
                               "a/1",
                               "/",
                               "1/",
                               "/2",
                               "1/2/3",
                               "abc",
                               "30fps",
                               " 30",
                               "30 ",
                               "+30",
                               "0x1e",
                               "1e3",
                               "29.97.1",
                               "nan",
                               "inf",
                               "-inf",
                               ".",
                               "-",
                               "1.",
                               ".5",
                               "1,5",
                               "30 /1",
                               "30/ 1",
                               "1/1.5",
                               "99999999999999999999",
                               "99999999999999999999/1",
                               "1/99999999999999999999",
                               "1e300",
                               "9223372036854775807.5",
                               "-9223372036854775808/1"}) {
    EXPECT_EQ(parsed(bad), "nullopt") << "'" << bad << "'";
  }
}

TEST(RationalTest, ToStringReducedEquality) {
  EXPECT_EQ((Rational{30, 1}).to_string(), "30/1");
  EXPECT_EQ((Rational{60, 2}).to_string(), "60/2");  // to_string does not reduce
  EXPECT_EQ((Rational{60, 2}).reduced(), (Rational{30, 1}));
  EXPECT_EQ((Rational{60, 2}).reduced().to_string(), "30/1");
  EXPECT_EQ((Rational{2, -4}).reduced().to_string(), "-1/2");  // denominator made positive
  EXPECT_EQ((Rational{-2, -4}).reduced().to_string(), "1/2");
  EXPECT_EQ((Rational{0, 7}).reduced().to_string(), "0/1");
  EXPECT_EQ((Rational{5, 0}).reduced().to_string(), "5/0");  // left alone
  EXPECT_EQ((Rational{}).to_string(), "0/1");

  EXPECT_TRUE((Rational{1, 2}) == (Rational{2, 4}));
  EXPECT_TRUE((Rational{30000, 1001}) == (Rational{60000, 2002}));
  EXPECT_FALSE((Rational{30000, 1001}) == (Rational{30, 1}));
  EXPECT_TRUE((Rational{-1, 2}) == (Rational{1, -2}));
  // Large values compare without overflowing.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE((Rational{kMax, 1}) == (Rational{kMax - 1, 1}));
  EXPECT_TRUE((Rational{kMax, kMax}) == (Rational{1, 1}));

  EXPECT_DOUBLE_EQ((Rational{30000, 1001}).to_double(), 30000.0 / 1001.0);
  EXPECT_EQ((Rational{1, 0}).to_double(), 0.0);
}

// ---------------------------------------------------------------------------------------------
// RequestContext

TEST(RequestContextTest, TenantIdPattern) {
  for (std::string_view good :
       {"t_a", "t_0", "t_acme", "t_acme-corp", "t_acme_corp", "t___", "t_-", "t_a1b2c3"}) {
    EXPECT_TRUE(validate_tenant_id(good).ok()) << good;
  }
  EXPECT_TRUE(validate_tenant_id("t_" + std::string(62, 'a')).ok());  // 64 characters
  for (std::string_view bad :
       {"",      "t",    "t_",  "T_a",    "t_A",   "t_Acme", "tt_a",  "ta",
        "t-a",   "_t_a", "x_a", " t_a",   "t_a ",  "t_a b",  "t_a.b", "t_a/b",
        "t_a:b", "t_é",  "t_ä", "t_\xff", "t_a\n", "t_a\t",  "t_a%20"}) {
    Status st = validate_tenant_id(bad);
    ASSERT_FALSE(st.ok()) << "'" << bad << "'";
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(st.error().details["field"], "tenant_id");
  }
  EXPECT_FALSE(validate_tenant_id(std::string_view("t_a\0b", 5)).ok());
  EXPECT_FALSE(validate_tenant_id("t_" + std::string(63, 'a')).ok());  // 65 characters
  EXPECT_FALSE(validate_tenant_id("t_" + std::string(10000, 'a')).ok());
}

TEST(RequestContextTest, Env) {
  for (std::string_view good : {"dev", "stage", "prod"}) EXPECT_TRUE(validate_env(good).ok());
  for (std::string_view bad :
       {"", "Dev", "PROD", "production", "staging", "test", " dev", "dev ", "de"}) {
    Status st = validate_env(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(st.error().details["field"], "env");
  }
}

TEST(RequestContextTest, UserId) {
  EXPECT_TRUE(validate_user_id("u").ok());
  EXPECT_TRUE(validate_user_id("alice@example.com").ok());
  EXPECT_TRUE(validate_user_id("with space ~!").ok());
  EXPECT_TRUE(validate_user_id(std::string(128, 'x')).ok());
  for (const std::string& bad : std::vector<std::string>{"", std::string(129, 'x'), "tab\there",
                                                         "new\nline", "del\x7f", "é"}) {
    Status st = validate_user_id(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().details["field"], "user_id");
  }
}

ContextSource source(std::string name, std::optional<std::string> tenant,
                     std::optional<std::string> env,
                     std::optional<std::string> user = std::nullopt) {
  return ContextSource{std::move(name), std::move(tenant), std::move(env), std::move(user)};
}

TEST(RequestContextTest, ResolveFromOneSource) {
  auto ctx = resolve_request_context({source("header", "t_acme", "prod", "alice")});
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_EQ(ctx->tenant_id, "t_acme");
  EXPECT_EQ(ctx->env, "prod");
  EXPECT_EQ(ctx->user_id, "alice");
  EXPECT_EQ(scope_of(*ctx), (Scope{"t_acme", "prod"}));
}

TEST(RequestContextTest, UserIdIsOptional) {
  auto ctx = resolve_request_context({source("header", "t_acme", "dev")});
  ASSERT_TRUE(ctx.ok());
  EXPECT_FALSE(ctx->user_id.has_value());
}

TEST(RequestContextTest, FieldsMayComeFromDifferentSources) {
  auto ctx = resolve_request_context({source("header", "t_acme", std::nullopt),
                                      source("query", std::nullopt, "stage"),
                                      source("body", std::nullopt, std::nullopt, "bob")});
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_EQ(ctx->tenant_id, "t_acme");
  EXPECT_EQ(ctx->env, "stage");
  EXPECT_EQ(ctx->user_id, "bob");
}

TEST(RequestContextTest, AgreeingSourcesAreFine) {
  auto ctx = resolve_request_context(
      {source("header", "t_acme", "dev", "u1"), source("query", "t_acme", "dev"),
       source("body", "t_acme", "dev", "u1"), source("form", "t_acme", std::nullopt)});
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_EQ(ctx->tenant_id, "t_acme");
}

TEST(RequestContextTest, MissingFields) {
  auto no_sources = resolve_request_context({});
  ASSERT_FALSE(no_sources.ok());
  EXPECT_EQ(no_sources.error().details["field"], "tenant_id");

  auto no_tenant = resolve_request_context({source("header", std::nullopt, "dev")});
  ASSERT_FALSE(no_tenant.ok());
  EXPECT_EQ(no_tenant.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(no_tenant.error().details["field"], "tenant_id");
  EXPECT_NE(no_tenant.error().message.find("tenant_id"), std::string::npos);

  auto no_env = resolve_request_context({source("header", "t_acme", std::nullopt, "u")});
  ASSERT_FALSE(no_env.ok());
  EXPECT_EQ(no_env.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(no_env.error().details["field"], "env");
}

TEST(RequestContextTest, DisagreementNamesTheFieldAndSources) {
  auto tenant = resolve_request_context(
      {source("header", "t_acme", "dev"), source("body", "t_other", "dev")});
  ASSERT_FALSE(tenant.ok());
  EXPECT_EQ(tenant.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(tenant.error().details["field"], "tenant_id");
  EXPECT_EQ(tenant.error().details["sources"], (nlohmann::json{"header", "body"}));
  EXPECT_NE(tenant.error().message.find("header"), std::string::npos);
  EXPECT_NE(tenant.error().message.find("body"), std::string::npos);

  auto env = resolve_request_context(
      {source("header", "t_acme", "dev"), source("query", std::nullopt, "prod")});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().details["field"], "env");
  EXPECT_EQ(env.error().details["sources"], (nlohmann::json{"header", "query"}));

  auto user = resolve_request_context(
      {source("header", "t_acme", "dev", "alice"), source("form", "t_acme", "dev", "mallory")});
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.error().details["field"], "user_id");

  // Values are compared exactly: case differences disagree.
  auto cased =
      resolve_request_context({source("header", "t_acme", "dev"), source("body", "t_acme", "Dev")});
  ASSERT_FALSE(cased.ok());
  EXPECT_EQ(cased.error().details["field"], "env");
}

TEST(RequestContextTest, ResolvedValuesAreValidated) {
  auto bad_tenant = resolve_request_context({source("header", "T_ACME", "dev")});
  ASSERT_FALSE(bad_tenant.ok());
  EXPECT_EQ(bad_tenant.error().details["field"], "tenant_id");
  auto empty_tenant = resolve_request_context({source("header", "", "dev")});
  ASSERT_FALSE(empty_tenant.ok());
  EXPECT_EQ(empty_tenant.error().details["field"], "tenant_id");
  auto bad_env = resolve_request_context({source("header", "t_acme", "qa")});
  ASSERT_FALSE(bad_env.ok());
  EXPECT_EQ(bad_env.error().details["field"], "env");
  auto bad_user = resolve_request_context({source("header", "t_acme", "dev", "")});
  ASSERT_FALSE(bad_user.ok());
  EXPECT_EQ(bad_user.error().details["field"], "user_id");
}

// ---------------------------------------------------------------------------------------------
// Config

// Removes every ATOMCUT_* variable before and after each test so tests do not leak into each
// other (or pick up the developer's environment).
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    std::vector<std::string> names;
    for (char** e = environ; *e; ++e) {
      std::string_view kv(*e);
      if (kv.rfind("ATOMCUT_", 0) == 0) names.emplace_back(kv.substr(0, kv.find('=')));
    }
    for (const auto& n : names) ::unsetenv(n.c_str());
  }
  static void set(const char* name, const char* value) { ::setenv(name, value, 1); }
};

TEST_F(ConfigTest, DefaultsWithoutEnvironment) {
  Config c;
  ASSERT_TRUE(c.apply_environment().ok());
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.import_mode, "copy");
  EXPECT_EQ(c.http_threads, 64);
  EXPECT_EQ(c.worker_threads, 2);
  EXPECT_FALSE(c.no_auth);
  EXPECT_TRUE(c.import_roots.empty());
}

TEST_F(ConfigTest, ApplyEnvironment) {
  set("ATOMCUT_DATA_DIR", "/srv/atomcut");
  set("ATOMCUT_LISTEN", "0.0.0.0:9000");
  set("ATOMCUT_DATABASE_URL", "sqlite:///var/db.sqlite");
  set("ATOMCUT_BLOB_URL", "file:///var/blobs");
  set("ATOMCUT_IMPORT_ROOTS", "/media/a::/media/b:");
  set("ATOMCUT_IMPORT_MODE", "reference");
  set("ATOMCUT_HTTP_THREADS", "16");
  set("ATOMCUT_WORKERS", "4");
  set("ATOMCUT_MAX_UPLOAD_BYTES", "1048576");
  set("ATOMCUT_MAX_JSON_BYTES", "2048");
  set("ATOMCUT_READ_TIMEOUT_S", "5");
  set("ATOMCUT_WRITE_TIMEOUT_S", "6");
  set("ATOMCUT_PROBE_TIMEOUT_MS", "2500");
  set("ATOMCUT_NO_AUTH", "1");
  set("ATOMCUT_LOG_LEVEL", "debug");
  set("ATOMCUT_ACCESS_LOG", "off");
  Config c;
  ASSERT_TRUE(c.apply_environment().ok());
  EXPECT_EQ(c.data_dir, "/srv/atomcut");
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.database_url, "sqlite:///var/db.sqlite");
  EXPECT_EQ(c.blob_url, "file:///var/blobs");
  EXPECT_EQ(c.import_roots, (std::vector<std::string>{"/media/a", "/media/b"}));
  EXPECT_EQ(c.import_mode, "reference");
  EXPECT_EQ(c.http_threads, 16);
  EXPECT_EQ(c.worker_threads, 4);
  EXPECT_EQ(c.max_upload_bytes, 1048576u);
  EXPECT_EQ(c.max_json_bytes, 2048u);
  EXPECT_EQ(c.read_timeout_s, 5);
  EXPECT_EQ(c.write_timeout_s, 6);
  EXPECT_EQ(c.probe_timeout_ms, 2500);
  EXPECT_TRUE(c.no_auth);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.access_log, "off");
}

TEST_F(ConfigTest, EmptyVariablesAreIgnored) {
  set("ATOMCUT_LISTEN", "");
  set("ATOMCUT_WORKERS", "");
  Config c;
  ASSERT_TRUE(c.apply_environment().ok());
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.worker_threads, 2);
}

TEST_F(ConfigTest, NoAuthValues) {
  for (const char* yes : {"1", "true"}) {
    set("ATOMCUT_NO_AUTH", yes);
    Config c;
    ASSERT_TRUE(c.apply_environment().ok());
    EXPECT_TRUE(c.no_auth) << yes;
  }
  for (const char* no : {"0", "false", "yes", "TRUE"}) {
    set("ATOMCUT_NO_AUTH", no);
    Config c;
    c.no_auth = true;
    ASSERT_TRUE(c.apply_environment().ok());
    EXPECT_FALSE(c.no_auth) << no;
  }
}

TEST_F(ConfigTest, BadNumbersAreRefusedWithTheirName) {
  const std::pair<const char*, const char*> cases[] = {
      {"ATOMCUT_HTTP_THREADS", "0"},      {"ATOMCUT_HTTP_THREADS", "abc"},
      {"ATOMCUT_HTTP_THREADS", "8x"},     {"ATOMCUT_HTTP_THREADS", "-1"},
      {"ATOMCUT_WORKERS", "99999999999"}, {"ATOMCUT_WORKERS", "1.5"},
      {"ATOMCUT_MAX_UPLOAD_BYTES", "-1"}, {"ATOMCUT_MAX_UPLOAD_BYTES", "0"},
      {"ATOMCUT_MAX_JSON_BYTES", "1e6"},  {"ATOMCUT_READ_TIMEOUT_S", "0"},
      {"ATOMCUT_WRITE_TIMEOUT_S", " 5"},  {"ATOMCUT_PROBE_TIMEOUT_MS", "99"},
  };
  for (const auto& [name, value] : cases) {
    ConfigTest::clear();
    set(name, value);
    Config c;
    Status st = c.apply_environment();
    ASSERT_FALSE(st.ok()) << name << "=" << value;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(st.error().message.find(name), std::string::npos) << st.error().message;
  }
}

TEST_F(ConfigTest, FinalizeFillsUrlsFromDataDir) {
  Config c;
  c.data_dir = "/srv/atomcut/";
  ASSERT_TRUE(c.finalize().ok());
  EXPECT_EQ(c.data_dir, "/srv/atomcut");
  EXPECT_EQ(c.database_url, "sqlite:///srv/atomcut/atomcut.db");
  EXPECT_EQ(c.blob_url, "file:///srv/atomcut/blobs");

  Config kept;
  kept.data_dir = "/srv/x";
  kept.database_url = "sqlite:///elsewhere.db";
  kept.blob_url = "file:///elsewhere";
  ASSERT_TRUE(kept.finalize().ok());
  EXPECT_EQ(kept.database_url, "sqlite:///elsewhere.db");
  EXPECT_EQ(kept.blob_url, "file:///elsewhere");
}

TEST_F(ConfigTest, FinalizeMakesDataDirAbsolute) {
  Config c;
  c.data_dir = "./rel/../data";
  ASSERT_TRUE(c.finalize().ok());
  const std::string expected = (std::filesystem::current_path() / "data").string();
  EXPECT_EQ(c.data_dir, expected);
  EXPECT_EQ(c.blob_url, "file://" + expected + "/blobs");

  Config empty;
  empty.data_dir = "";
  EXPECT_EQ(empty.finalize().error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ConfigTest, ImportRoots) {
  Config c;
  c.data_dir = "/srv/x";
  c.import_roots = {"/media/../media/in", "/"};
  ASSERT_TRUE(c.finalize().ok());
  EXPECT_EQ(c.import_roots, (std::vector<std::string>{"/media/in", "/"}));

  for (const char* bad : {"relative/dir", "./media", "media", "../up"}) {
    Config r;
    r.data_dir = "/srv/x";
    r.import_roots = {"/ok", bad};
    Status st = r.finalize();
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(st.error().message.find(bad), std::string::npos);
  }
}

TEST_F(ConfigTest, ImportMode) {
  for (const char* good : {"copy", "reference"}) {
    Config c;
    c.data_dir = "/srv/x";
    c.import_mode = good;
    EXPECT_TRUE(c.finalize().ok()) << good;
  }
  for (const char* bad : {"", "move", "Copy", "ref", "reference "}) {
    Config c;
    c.data_dir = "/srv/x";
    c.import_mode = bad;
    Status st = c.finalize();
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(ConfigTest, NoAuthOnlyOnLoopback) {
  for (const char* listen :
       {"127.0.0.1:8080", "127.0.0.1:0", "127.1.2.3:80", "localhost:8080", "[::1]:8080"}) {
    Config c;
    c.data_dir = "/srv/x";
    c.no_auth = true;
    c.listen = listen;
    Status st = c.finalize();
    EXPECT_TRUE(st.ok()) << listen << ": " << (st.ok() ? "" : st.error().message);
  }
  for (const char* listen :
       {"0.0.0.0:8080", "192.168.1.10:8080", "[::]:8080", "example.com:80", "127.evil.com:80",
        "127.0.0.1.nip.io:80", "128.0.0.1:80", "[::2]:80"}) {
    Config c;
    c.data_dir = "/srv/x";
    c.no_auth = true;
    c.listen = listen;
    Status st = c.finalize();
    ASSERT_FALSE(st.ok()) << listen;
    EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition) << listen;
  }
  // Without no_auth any host is fine.
  Config open;
  open.data_dir = "/srv/x";
  open.listen = "0.0.0.0:8080";
  EXPECT_TRUE(open.finalize().ok());
}

TEST(LoopbackTest, IsLoopbackHost) {
  for (const char* yes : {"127.0.0.1", "127.0.0.2", "127.255.255.254", "localhost", "::1",
                          "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_host(yes)) << yes;
  }
  for (const char* no : {"", "0.0.0.0", "128.0.0.1", "10.0.0.1", "::", "::2", "127.evil.com",
                         "127.0.0.1.example.com", "127.", "127", "localhost.example.com",
                         "::ffff:10.0.0.1", "[::1]", "1127.0.0.1"}) {
    EXPECT_FALSE(is_loopback_host(no)) << no;
  }
}

TEST(ListenTest, HostPort) {
  const std::pair<const char*, std::pair<std::string, int>> good[] = {
      {"127.0.0.1:8080", {"127.0.0.1", 8080}},   {"0.0.0.0:0", {"0.0.0.0", 0}},
      {"localhost:65535", {"localhost", 65535}}, {"[::1]:443", {"::1", 443}},
      {"example.com:1", {"example.com", 1}},
  };
  for (const auto& [listen, expected] : good) {
    Config c;
    c.listen = listen;
    auto hp = c.listen_host_port();
    ASSERT_TRUE(hp.ok()) << listen << ": " << hp.error().message;
    EXPECT_EQ(*hp, expected) << listen;
  }
  for (const char* bad : {"", "8080", "localhost", ":8080", "host:", "host:65536", "host:-1",
                          "host:80a", "host:0x50", "host: 80", "host:99999999999"}) {
    Config c;
    c.listen = bad;
    auto hp = c.listen_host_port();
    ASSERT_FALSE(hp.ok()) << bad;
    EXPECT_EQ(hp.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  // finalize() checks the listen address too.
  Config c;
  c.data_dir = "/srv/x";
  c.listen = "nohost";
  EXPECT_FALSE(c.finalize().ok());
}

// ---------------------------------------------------------------------------------------------
// time_util, sha256

TEST(TimeUtilTest, FormatRfc3339Ms) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(1), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(format_rfc3339_ms(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(format_rfc3339_ms(951782400000), "2000-02-29T00:00:00.000Z");  // leap day
  EXPECT_EQ(format_rfc3339_ms(4102444799999), "2099-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(format_rfc3339_ms(-1001), "1969-12-31T23:59:58.999Z");
}

TEST(TimeUtilTest, NowMsIsWallClock) {
  const int64_t sys = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LE(std::abs(now_ms() - sys), 1000);
  EXPECT_GT(now_ms(), 1700000000000);  // after 2023
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalMatchesOneShot) {
  Sha256 h;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.update(chunk.data(), chunk.size());
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  Sha256 parts;
  parts.update("a", 1);
  parts.update("", 0);
  parts.update("bc", 2);
  EXPECT_EQ(parts.hex_digest(), sha256_hex("abc"));
}

}  // namespace
}  // namespace atomcut

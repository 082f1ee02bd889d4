// HTTP-layer pieces that need no server: the error mapping and Range parsing.
#include "http/byte_range.h"
#include "http/error_mapping.h"

#include <gtest/gtest.h>

namespace atomcut::http {
namespace {

TEST(ErrorMapping, EveryCodeHasOneStatus) {
  EXPECT_EQ(http_status(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(http_status(ErrorCode::kFailedPrecondition), 400);
  EXPECT_EQ(http_status(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(http_status(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(http_status(ErrorCode::kNotFound), 404);
  EXPECT_EQ(http_status(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(http_status(ErrorCode::kResourceExhausted), 429);
  EXPECT_EQ(http_status(ErrorCode::kInternal), 500);
  EXPECT_EQ(http_status(ErrorCode::kDataLoss), 500);
  EXPECT_EQ(http_status(ErrorCode::kUnimplemented), 501);
  EXPECT_EQ(http_status(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(http_status(ErrorCode::kDeadlineExceeded), 504);
}

TEST(ErrorMapping, BodyHasCodeMessageDetails) {
  httplib::Response res;
  reply_error(res, Error::not_found("asset ast_x not found", {{"field", "asset_id"}}));
  EXPECT_EQ(res.status, 404);
  auto j = nlohmann::json::parse(res.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["message"], "asset ast_x not found");
  EXPECT_EQ(j["error"]["details"]["field"], "asset_id");
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
}

TEST(ByteRange, SatisfiableForms) {
  auto r = parse_range_header("bytes=10-99", 1000);
  ASSERT_EQ(r.kind, RangeKind::kSatisfiable);
  EXPECT_EQ(r.range.offset, 10u);
  EXPECT_EQ(r.range.length, 90u);
  r = parse_range_header("bytes=990-", 1000);
  ASSERT_EQ(r.kind, RangeKind::kSatisfiable);
  EXPECT_EQ(r.range.offset, 990u);
  EXPECT_EQ(r.range.length, 10u);
  r = parse_range_header("bytes=-16", 1000);
  ASSERT_EQ(r.kind, RangeKind::kSatisfiable);
  EXPECT_EQ(r.range.offset, 984u);
  EXPECT_EQ(r.range.length, 16u);
  r = parse_range_header("bytes=-5000", 1000);  // longer suffix than the content: all of it
  ASSERT_EQ(r.kind, RangeKind::kSatisfiable);
  EXPECT_EQ(r.range.offset, 0u);
  EXPECT_EQ(r.range.length, 1000u);
  r = parse_range_header("bytes=900-5000", 1000);  // end clamped
  ASSERT_EQ(r.kind, RangeKind::kSatisfiable);
  EXPECT_EQ(r.range.length, 100u);
  r = parse_range_header("bytes=0-0", 1000);
  ASSERT_EQ(r.kind, RangeKind::kSatisfiable);
  EXPECT_EQ(r.range.length, 1u);
}

TEST(ByteRange, UnsatisfiableAndIgnored) {
  EXPECT_EQ(parse_range_header("bytes=1000-", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range_header("bytes=5000-6000", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range_header("bytes=-0", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range_header("bytes=0-", 0).kind, RangeKind::kUnsatisfiable);
  // Syntax we do not serve is ignored: the whole content is sent.
  for (const char* h : {"", "items=0-5", "bytes=", "bytes=a-b", "bytes=9-3", "bytes=0-9,20-29",
                        "bytes=99999999999999999999-", "bytes=--5"}) {
    EXPECT_EQ(parse_range_header(h, 1000).kind, RangeKind::kNone) << h;
  }
}

}  // namespace
}  // namespace atomcut::http

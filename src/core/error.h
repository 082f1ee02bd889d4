// Error and Result<T>: the one way atomcut reports expected failures.
//
// Expected failures (bad input, missing record, ffmpeg exit != 0) travel as values. Exceptions are
// caught only at the request boundary (http/) and in worker loops.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace atomcut {

// The canonical error codes (Abseil-style). http/error_mapping.cc maps each to one HTTP status.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kPermissionDenied,
  kUnauthenticated,
  kResourceExhausted,
  kUnavailable,
  kDeadlineExceeded,
  kUnimplemented,
  kInternal,
  kDataLoss,
};

// "invalid_argument", "not_found", ... (the string used in JSON error bodies).
std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  nlohmann::json details = nlohmann::json::object();

  static Error invalid_argument(std::string msg, nlohmann::json details = nlohmann::json::object());
  static Error not_found(std::string msg, nlohmann::json details = nlohmann::json::object());
  static Error already_exists(std::string msg, nlohmann::json details = nlohmann::json::object());
  static Error failed_precondition(std::string msg,
                                   nlohmann::json details = nlohmann::json::object());
  static Error permission_denied(std::string msg,
                                 nlohmann::json details = nlohmann::json::object());
  static Error unauthenticated(std::string msg, nlohmann::json details = nlohmann::json::object());
  static Error resource_exhausted(std::string msg,
                                  nlohmann::json details = nlohmann::json::object());
  static Error unavailable(std::string msg, nlohmann::json details = nlohmann::json::object());
  static Error deadline_exceeded(std::string msg,
                                 nlohmann::json details = nlohmann::json::object());
  static Error unimplemented(std::string msg, nlohmann::json details = nlohmann::json::object());
  static Error internal(std::string msg, nlohmann::json details = nlohmann::json::object());
  static Error data_loss(std::string msg, nlohmann::json details = nlohmann::json::object());

  // {"code": "...", "message": "...", "details": {...}}
  nlohmann::json to_json() const;
};

// A value or an Error. Cheap to move; accessing value() on an error is a programming bug (abort).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(implicit)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(implicit)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(implicit)
  static Status ok_status() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }
  Error&& take_error() { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

}  // namespace atomcut

#define ATOMCUT_CONCAT_INNER(a, b) a##b
#define ATOMCUT_CONCAT(a, b) ATOMCUT_CONCAT_INNER(a, b)

// Returns the error of a Status or Result expression from the enclosing function.
#define ATOMCUT_TRY(expr)                                                   \
  do {                                                                      \
    auto&& atomcut_try_result_ = (expr);                                    \
    if (!atomcut_try_result_.ok()) return atomcut_try_result_.take_error(); \
  } while (0)

// `ATOMCUT_ASSIGN_OR_RETURN(auto x, f());` declares x from a Result or returns its error.
#define ATOMCUT_ASSIGN_OR_RETURN(lhs, expr) \
  ATOMCUT_ASSIGN_OR_RETURN_IMPL(ATOMCUT_CONCAT(atomcut_result_, __LINE__), lhs, expr)
#define ATOMCUT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.take_error();             \
  lhs = std::move(tmp).value()

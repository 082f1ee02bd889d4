#include "core/error.h"

namespace atomcut {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kResourceExhausted:
      return "resource_exhausted";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case ErrorCode::kUnimplemented:
      return "unimplemented";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kDataLoss:
      return "data_loss";
  }
  return "internal";
}

#define ATOMCUT_ERROR_FACTORY(fn, code)                                \
  Error Error::fn(std::string msg, nlohmann::json details) {           \
    return Error{ErrorCode::code, std::move(msg), std::move(details)}; \
  }
ATOMCUT_ERROR_FACTORY(invalid_argument, kInvalidArgument)
ATOMCUT_ERROR_FACTORY(not_found, kNotFound)
ATOMCUT_ERROR_FACTORY(already_exists, kAlreadyExists)
ATOMCUT_ERROR_FACTORY(failed_precondition, kFailedPrecondition)
ATOMCUT_ERROR_FACTORY(permission_denied, kPermissionDenied)
ATOMCUT_ERROR_FACTORY(unauthenticated, kUnauthenticated)
ATOMCUT_ERROR_FACTORY(resource_exhausted, kResourceExhausted)
ATOMCUT_ERROR_FACTORY(unavailable, kUnavailable)
ATOMCUT_ERROR_FACTORY(deadline_exceeded, kDeadlineExceeded)
ATOMCUT_ERROR_FACTORY(unimplemented, kUnimplemented)
ATOMCUT_ERROR_FACTORY(internal, kInternal)
ATOMCUT_ERROR_FACTORY(data_loss, kDataLoss)
#undef ATOMCUT_ERROR_FACTORY

nlohmann::json Error::to_json() const {
  return nlohmann::json{{"code", std::string(error_code_name(code))},
                        {"message", message},
                        {"details", details.is_null() ? nlohmann::json::object() : details}};
}

}  // namespace atomcut

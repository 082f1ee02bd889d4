// The one mapping from ErrorCode to HTTP status, and the JSON error body
// {"error": {"code", "message", "details"}}.
#pragma once

#include "core/error.h"

#include <httplib.h>

namespace atomcut::http {

int http_status(ErrorCode code);

// Writes the error body with the code's status.
void reply_error(httplib::Response& res, const Error& error);
// Writes the error body with an explicit transport-level status (405, 413, 415, 416): statuses
// that describe the HTTP exchange itself rather than an engine outcome.
void reply_error(httplib::Response& res, int status, const Error& error);
void reply_json(httplib::Response& res, int status, const nlohmann::json& body);

}  // namespace atomcut::http

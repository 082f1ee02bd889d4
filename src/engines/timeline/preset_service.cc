#include "engines/timeline/preset_service.h"

#include "core/ids.h"
#include "core/model/filter_preset.h"
#include "core/model/motion_preset.h"
#include "core/time_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace atomcut {
namespace {

constexpr std::string_view kFilterPresets = "video_filter_presets";
constexpr std::string_view kMotionPresets = "video_motion_presets";
constexpr std::string_view kBuiltInTag = "built_in";
// Tenant presets scanned per store call while filling a page with a tag filter.
constexpr int kScanBatch = 200;

std::string_view collection_of(PresetKind kind) {
  return kind == PresetKind::kFilter ? kFilterPresets : kMotionPresets;
}

std::string_view id_prefix(PresetKind kind) { return kind == PresetKind::kFilter ? "fpr" : "mpr"; }

Error not_found(PresetKind kind, std::string_view id) {
  return Error::not_found(fmt::format("{} {} not found", preset_kind_name(kind), id),
                          {{"kind", std::string(preset_kind_name(kind))}, {"id", id}});
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool has_tag(const nlohmann::json& preset, const std::string& tag) {
  auto it = preset.find("tags");
  if (it == preset.end() || !it->is_array()) return false;
  return std::find(it->begin(), it->end(), tag) != it->end();
}

}  // namespace

std::string_view preset_kind_name(PresetKind kind) {
  return kind == PresetKind::kFilter ? "filter_preset" : "motion_preset";
}

PresetService::PresetService(MetadataStore& store) : store_(store) {
  for (const auto& p : built_in_filter_presets()) built_in_filters_.push_back(to_json(p));
  for (const auto& p : built_in_motion_presets()) built_in_motion_.push_back(to_json(p));
}

const std::vector<nlohmann::json>& PresetService::built_ins(PresetKind kind) const {
  return kind == PresetKind::kFilter ? built_in_filters_ : built_in_motion_;
}

const nlohmann::json* PresetService::find_built_in(PresetKind kind,
                                                   std::string_view id_or_name) const {
  for (const auto& b : built_ins(kind)) {
    if (equals_ignore_case(b["id"].get_ref<const std::string&>(), id_or_name) ||
        equals_ignore_case(b["name"].get_ref<const std::string&>(), id_or_name)) {
      return &b;
    }
  }
  return nullptr;
}

Result<nlohmann::json> PresetService::create(const RequestContext& ctx, PresetKind kind,
                                             const nlohmann::json& body_in) {
  if (!body_in.is_object()) {
    return Error::invalid_argument(
        fmt::format("a {} must be a JSON object", preset_kind_name(kind)));
  }
  const std::string record(preset_kind_name(kind));
  nlohmann::json body = body_in;
  // Context fields travel with the request; timestamps are the server's.
  for (const char* f : {"tenant_id", "env", "user_id", "created_at", "updated_at"}) body.erase(f);

  if (auto it = body.find("id"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      if (const nlohmann::json* b = find_built_in(kind, it->get<std::string>())) {
        return Error::already_exists(
            fmt::format("{}.id '{}' is a built-in preset, which is read-only; omit id (the "
                        "server assigns one) and choose another name",
                        record, it->get<std::string>()),
            {{"field", "id"}, {"built_in_id", (*b)["id"]}});
      }
    }
    return Error::invalid_argument(fmt::format("{}.id is assigned by the server; omit it", record),
                                   {{"field", "id"}});
  }
  if (auto it = body.find("name"); it != body.end() && it->is_string()) {
    if (const nlohmann::json* b = find_built_in(kind, it->get<std::string>())) {
      return Error::already_exists(
          fmt::format("{}.name '{}' is taken by the built-in preset {} (built-in names are "
                      "reserved, compared ignoring case); choose another name",
                      record, it->get<std::string>(), (*b)["id"].get<std::string>()),
          {{"field", "name"}, {"built_in_id", (*b)["id"]}});
    }
  }

  const int64_t now = now_ms();
  const TimelineRecord who{ctx.tenant_id, ctx.env, ctx.user_id, now, now};
  const std::string id = new_id(id_prefix(kind));
  nlohmann::json out;
  nlohmann::json clamped_report;
  if (kind == PresetKind::kFilter) {
    ATOMCUT_ASSIGN_OR_RETURN(FilterPreset p, filter_preset_from_json(body));
    static_cast<TimelineRecord&>(p) = who;
    p.id = id;
    // validate() accepts out-of-range numbers (it checks types and names); clamping follows.
    ATOMCUT_TRY(validate(p));
    ATOMCUT_ASSIGN_OR_RETURN(ClampedFilters clamped, clamp_filters(p.filters, record));
    p.filters = std::move(clamped.filters);
    clamped_report = std::move(clamped.report);
    if (std::find(p.tags.begin(), p.tags.end(), kBuiltInTag) != p.tags.end()) {
      return field_error(record, "tags", "may not contain 'built_in' (reserved for built-ins)");
    }
    out = to_json(p);
  } else {
    ATOMCUT_ASSIGN_OR_RETURN(MotionPreset p, motion_preset_from_json(body));
    static_cast<TimelineRecord&>(p) = who;
    p.id = id;
    ATOMCUT_TRY(validate(p));
    if (std::find(p.tags.begin(), p.tags.end(), kBuiltInTag) != p.tags.end()) {
      return field_error(record, "tags", "may not contain 'built_in' (reserved for built-ins)");
    }
    out = to_json(p);
  }

  DocRecord r;
  r.collection = std::string(collection_of(kind));
  r.id = id;
  r.tenant_id = ctx.tenant_id;
  r.env = ctx.env;
  r.parent_id = "";
  r.root_id = id;
  r.created_at_ms = now;
  r.updated_at_ms = now;
  r.doc = out;
  ATOMCUT_TRY(
      store_.transact_docs(scope_of(ctx), [&](DocTransaction& txn) { return txn.insert(r); }));
  if (kind == PresetKind::kFilter) out["clamped"] = std::move(clamped_report);
  return out;
}

Result<nlohmann::json> PresetService::get(const Scope& scope, PresetKind kind,
                                          std::string_view id) {
  for (const auto& b : built_ins(kind)) {
    if (b["id"] == id) return b;
  }
  auto rec = store_.get_doc(scope, collection_of(kind), id);
  if (!rec.ok()) {
    if (rec.error().code == ErrorCode::kNotFound) return not_found(kind, id);
    return rec.take_error();
  }
  return std::move(rec->doc);
}

Result<PresetPage> PresetService::list(const Scope& scope, PresetKind kind, int limit,
                                       const std::optional<std::string>& cursor,
                                       const std::optional<std::string>& tag) {
  if (limit < 1 || limit > 1000) {
    return Error::invalid_argument(fmt::format("limit {} must be between 1 and 1000", limit),
                                   {{"field", "limit"}});
  }
  if (tag && (tag->empty() || tag->size() > kMaxTagLength)) {
    return Error::invalid_argument(fmt::format("tag must be 1..{} characters", kMaxTagLength),
                                   {{"field", "tag"}});
  }
  const auto& builtin = built_ins(kind);
  // Where the walk resumes: inside the built-ins (index) or after a tenant preset id.
  size_t builtin_from = 0;
  std::optional<std::string> after_id;
  if (cursor) {
    auto it = std::find_if(builtin.begin(), builtin.end(),
                           [&](const nlohmann::json& b) { return b["id"] == *cursor; });
    if (it != builtin.end()) {
      builtin_from = static_cast<size_t>(it - builtin.begin()) + 1;
    } else if (is_valid_id(*cursor, id_prefix(kind))) {
      builtin_from = builtin.size();
      after_id = *cursor;
    } else {
      return Error::invalid_argument("cursor is not a next_cursor returned by this endpoint",
                                     {{"field", "cursor"}});
    }
  }

  // Collect one item more than asked for, to know whether another page follows.
  const size_t want = static_cast<size_t>(limit) + 1;
  PresetPage out;
  auto keep = [&](const nlohmann::json& p) { return !tag || has_tag(p, *tag); };
  for (size_t i = builtin_from; i < builtin.size() && out.items.size() < want; ++i) {
    if (keep(builtin[i])) out.items.push_back(builtin[i]);
  }
  DocQuery q;
  q.after_id = after_id;
  // The store pages at most 1000 documents per call.
  q.limit = std::min(1000, tag ? std::max(kScanBatch, limit + 1) : limit + 1);
  while (out.items.size() < want) {
    ATOMCUT_ASSIGN_OR_RETURN(DocPage page, store_.list_docs(scope, collection_of(kind), q));
    for (auto& r : page.items) {
      if (out.items.size() >= want) break;
      if (keep(r.doc)) out.items.push_back(std::move(r.doc));
    }
    if (!page.next_after_id) break;
    q.after_id = page.next_after_id;
  }
  if (out.items.size() > static_cast<size_t>(limit)) {
    out.items.pop_back();
    out.next_cursor = out.items.back()["id"].get<std::string>();
  }
  return out;
}

Status PresetService::remove(const RequestContext& ctx, PresetKind kind, std::string_view id) {
  for (const auto& b : built_ins(kind)) {
    if (b["id"] == id) {
      return Error::permission_denied(
          fmt::format("{} {} is built in and read-only; copy it into a new preset instead",
                      preset_kind_name(kind), id),
          {{"kind", std::string(preset_kind_name(kind))}, {"id", id}, {"built_in", true}});
    }
  }
  return store_.transact_docs(scope_of(ctx), [&](DocTransaction& txn) -> Status {
    Status s = txn.remove(collection_of(kind), id);
    if (!s.ok() && s.error().code == ErrorCode::kNotFound) return not_found(kind, id);
    return s;
  });
}

}  // namespace atomcut

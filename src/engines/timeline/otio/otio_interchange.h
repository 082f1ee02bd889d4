// OpenTimelineIO interchange: a TimelineTree sequence to and from OTIO JSON ("Timeline.1"). Pure
// functions: no storage, no HTTP; the caller resolves assets through the callbacks.
//
// Mapping (atomcut <-> OTIO):
// - Sequence -> Timeline.1 whose `tracks` is a Stack.1 of Track.1, ordered by Track.order
//   ascending (OTIO stacks list the bottom track first). Track.kind video|audio <->
//   "Video"|"Audio".
// - Times are RationalTime.1 at the sequence timebase: rate = timebase as a double, value = whole
//   frames (each ms value is rounded to the nearest frame). On import a time becomes
//   round(value * 1000 / rate) ms, exactly (rational arithmetic) when rate is the sequence's.
// - Clip -> Clip.1: source_range.start_time = in_ms; source_range.duration = the clip's duration
//   ON THE TIMELINE ((out_ms - in_ms) / speed), because OTIO places items by that duration and
//   effects do not change it; speed != 1 adds a LinearTimeWarp.1 effect with time_scalar = speed
//   (media consumed = duration * time_scalar). Empty space before a clip becomes a Gap.1.
// - Media: ExternalReference.1 {target_url = asset source_uri, available_range = [0, asset
//   duration) when known}; MissingReference.1 when the AssetLookup does not know the asset.
// - Transition (to_clip starts D ms before from_clip ends, D = the clips' overlap): the clips abut
//   at to_clip's start (from_clip's source_range shortened by D) with a Transition.1 between them,
//   in_offset = 0, out_offset = D; transition_type "SMPTE_Dissolve" for crossfade, otherwise
//   "Custom_Transition". from_clip's original out_ms is kept in its
//   metadata.atomcut.untrimmed_out_ms.
// - Import of Transition.1: the next clip starts in_offset + out_offset earlier than the running
//   position (an atomcut transition is an overlap, an OTIO one takes no time), so in files written
//   by other tools the rest of the track moves earlier by the overlap. When the previous clip
//   carries untrimmed_out_ms (files written by export_otio) that out_ms is restored first, which
//   lengthens it by D, so export -> import gives back the same timings.
// - Fields OTIO has no schema for live in metadata.atomcut:
//   timeline: project_id, title, description, tags, render_profile, project_meta, sequence_id,
//             sequence_name, timebase ("30000/1001"), sequence_meta, sequence_filters;
//   track:    track_id, order, muted, hidden, audio_role, meta, filters;
//   clip:     clip_id, asset_id, artifact_id, volume_db, opacity, meta, scale_mode, position, crop,
//             mask_artifact_id, blend_mode, fade_in_ms, fade_out_ms, slowmo_quality, optical_flow,
//             stabilise, automation, filters (the clip's FilterStack), untrimmed_out_ms;
//   transition: transition_id, type (catalog name), duration_ms, meta.
//   Import restores each of them when present; ids are always new.
#pragma once

#include "core/error.h"
#include "core/model/timeline_tree.h"
#include "core/rational.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

// What export needs to know about one asset.
struct OtioAssetInfo {
  std::string source_uri;              // ExternalReference.target_url
  std::optional<int64_t> duration_ms;  // available_range when known
  std::optional<Rational> fps;         // informative; times are written at the sequence timebase
  std::string name;                    // media reference and clip name
};
// Returns the asset's info, or nullopt when unknown (the clip gets a MissingReference.1).
using AssetLookup = std::function<std::optional<OtioAssetInfo>(std::string_view asset_id)>;

// The OTIO Timeline.1 of sequence `sequence_id` of `tree`. Errors: not_found when the sequence is
// not in the tree; failed_precondition when the sequence cannot be written as OTIO (clips of one
// track overlapping without a transition, a transition whose clips are not neighbours on one
// track, a clip shorter than one frame at the timebase). Does not modify `tree`.
Result<nlohmann::json> export_otio(const TimelineTree& tree, std::string_view sequence_id,
                                   const AssetLookup& assets);

// What import knows about one OTIO clip's media, for the matcher.
struct OtioMediaQuery {
  std::optional<std::string> asset_id;  // metadata.atomcut.asset_id when present
  std::string target_url;               // "" for MissingReference / no media reference
  std::string clip_name;                // the Clip.1 name
};
struct MatchedAsset {
  std::string asset_id;
  std::optional<int64_t> duration_ms;  // used when the clip has neither source nor available range
};
using AssetMatcher = std::function<std::optional<MatchedAsset>(const OtioMediaQuery& query)>;

struct ImportContext {
  std::string tenant_id;
  std::string env;
  std::optional<std::string> user_id;
  AssetMatcher match_asset;
};

struct ImportedTimeline {
  TimelineTree tree;  // one project, one sequence; new ids, timestamps = now
  // What was not imported or only approximated, each {"code", "path", "message", ...}:
  // unsupported_item (+ "schema"), unmatched_media (+ "target_url", "clip_name"; clip skipped),
  // dropped_transition, approximated_transition.
  std::vector<nlohmann::json> warnings;
};

// Builds a new project from an OTIO Timeline.1 (see the mapping above). Errors: invalid_argument
// naming the OTIO path ("tracks[0].children[2].source_range.duration") when the document is not a
// Timeline.1, has wrong types or negative durations, or yields a record the model rejects.
Result<ImportedTimeline> import_otio(const nlohmann::json& otio, const ImportContext& ctx);

}  // namespace atomcut

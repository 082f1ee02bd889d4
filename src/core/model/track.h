// Track: one ordered layer of a Sequence holding video or audio clips (spec "Timeline / Project
// Atom").
#pragma once

#include "core/error.h"
#include "core/model/timeline_record.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace atomcut {

enum class TrackKind { kVideo, kAudio };
inline constexpr std::array<std::string_view, 2> kTrackKindNames = {"video", "audio"};

// Mixing role of an audio track (ducking, stems).
enum class AudioRole { kDialogue, kMusic, kFx, kAmbience, kGeneric };
inline constexpr std::array<std::string_view, 5> kAudioRoleNames = {"dialogue", "music", "fx",
                                                                    "ambience", "generic"};

inline constexpr int64_t kMaxTrackOrder = 1000;

struct Track : TimelineRecord {
  std::string id;  // trk_...
  std::string sequence_id;
  TrackKind kind = TrackKind::kVideo;
  int64_t order = 0;  // stacking index: higher orders draw on top of lower ones
  bool muted = false;
  bool hidden = false;
  nlohmann::json meta = nlohmann::json::object();
  AudioRole audio_role = AudioRole::kGeneric;
};

nlohmann::json to_json(const Track& track);
// Strict parse; `kind` is required, audio_role defaults to "generic".
Result<Track> track_from_json(const nlohmann::json& j);
// Rules: sequence_id required, order in [0, 1000].
Status validate(const Track& track);

}  // namespace atomcut

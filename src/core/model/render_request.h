// RenderRequest: what POST /video/render and /video/render/dry-run take (spec "Render Atom",
// "Chunked Rendering & Loudness"): a project's sequence or an inline SequenceSnapshot, a render
// profile, the audio mixdown, loudness normalisation, an optional watermark and a time window.
#pragma once

#include "core/error.h"
#include "core/model/timeline_tree.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

enum class AudioMixdown { kStereo, kMono };
inline constexpr std::array<std::string_view, 2> kAudioMixdownNames = {"stereo", "mono"};

// Where the rendered file goes. "local" is the server's blob store; "s3" (and the spec's "gcs")
// need an object store, which the embedded default does not have.
enum class StorageTarget { kLocal, kS3, kGcs };
inline constexpr std::array<std::string_view, 3> kStorageTargetNames = {"local", "s3", "gcs"};

enum class WatermarkPosition { kTopLeft, kTopRight, kBottomLeft, kBottomRight, kCenter };
inline constexpr std::array<std::string_view, 5> kWatermarkPositionNames = {
    "top_left", "top_right", "bottom_left", "bottom_right", "center"};

// A text or image (asset) watermark drawn over the whole output.
struct Watermark {
  std::optional<std::string> text;      // 1..100 characters from a safe set (see validate)
  std::optional<std::string> asset_id;  // an image (or video) asset of the caller
  WatermarkPosition position = WatermarkPosition::kBottomRight;
  double opacity = 0.8;    // 0..1
  double size = 0.05;      // text height, or image width, as a fraction of the frame (0.01..1)
  int64_t margin_px = 24;  // distance from the frame's edges, 0..1000
};

inline constexpr double kDefaultTargetLoudnessLufs = -16.0;
inline constexpr double kMinTargetLoudnessLufs = -70.0;
inline constexpr double kMaxTargetLoudnessLufs = -5.0;
inline constexpr int64_t kMaxRenderWindowMs = 24LL * 3600 * 1000;

// One sequence with everything in it, inline in the request instead of a stored project.
struct SequenceSnapshot {
  Sequence sequence;
  std::vector<Track> tracks;
  std::vector<Clip> clips;
  std::vector<Transition> transitions;
  std::vector<FilterStack> filter_stacks;
};

struct RenderRequest {
  std::string tenant_id;
  std::string env;
  std::optional<std::string> user_id;
  std::optional<std::string> project_id;
  std::optional<std::string> sequence_id;  // default: the project's first sequence
  std::optional<SequenceSnapshot> sequence_snapshot;
  std::optional<std::string> render_profile;  // default: the project's render_profile
  std::optional<std::string> output_path;     // file name of the rendered asset ("trailer.mp4")
  StorageTarget storage = StorageTarget::kLocal;
  AudioMixdown audio_mixdown = AudioMixdown::kStereo;
  std::optional<Watermark> watermark;
  bool normalize_audio = false;
  double target_loudness_lufs = kDefaultTargetLoudnessLufs;
  std::optional<int64_t> start_ms;  // window of the timeline to render, [start_ms, end_ms)
  std::optional<int64_t> end_ms;
  std::optional<int64_t> timeout_ms;  // executor limit (the server's default applies if unset)
  // Voice enhance render hook (spec "Voice Enhance Engine"): dialogue and generic tracks take
  // their sound from the newest audio_voice_enhanced artifact of the clip's source (of
  // voice_enhance_mode when given). Missing ones keep the original sound, with a warning when
  // voice_enhance_if_available_only is false. Enhancement is never run by the render.
  bool use_voice_enhanced_audio = false;
  std::optional<std::string> voice_enhance_mode;  // default|podcast|vlog|phone_recording
  bool voice_enhance_if_available_only = true;
};

// Strict parse: wrong types and unknown enum values are invalid_argument naming the field.
// Context fields (tenant_id, env, user_id) are read but resolved by the caller.
Result<RenderRequest> render_request_from_json(const nlohmann::json& j);
// Field rules: project_id or sequence_snapshot (not both), window 0 <= start < end <= 24 h,
// target loudness in [-70, -5] LUFS, watermark text or asset_id (one), output_path a plain file
// name, timeout 1 s..24 h, snapshot records valid.
Status validate(const RenderRequest& request);

nlohmann::json to_json(const Watermark& watermark);
nlohmann::json to_json(const SequenceSnapshot& snapshot);

}  // namespace atomcut

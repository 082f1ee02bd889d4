// Clip: a window [in_ms, out_ms) of an asset placed on a track at start_ms_on_timeline (spec
// "Timeline / Project Atom", "7) Video Effects & Presets", "Video Quality vNext").
#pragma once

#include "core/error.h"
#include "core/model/parameter_automation.h"
#include "core/model/timeline_record.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

enum class ScaleMode { kFit, kFill, kStretch, kNone };
inline constexpr std::array<std::string_view, 4> kScaleModeNames = {"fit", "fill", "stretch",
                                                                    "none"};

enum class BlendMode { kNormal, kAdd, kScreen, kMultiply, kOverlay };
inline constexpr std::array<std::string_view, 5> kBlendModeNames = {"normal", "add", "screen",
                                                                    "multiply", "overlay"};

enum class SlowmoQuality { kHigh, kMedium, kFast };
inline constexpr std::array<std::string_view, 3> kSlowmoQualityNames = {"high", "medium", "fast"};

// What vid.stab does with the borders uncovered by stabilisation.
enum class StabiliseCrop { kKeep, kBlack };
inline constexpr std::array<std::string_view, 2> kStabiliseCropNames = {"keep", "black"};

inline constexpr double kMaxClipSpeed = 100.0;
inline constexpr int64_t kMaxStabiliseSmoothing = 500;  // frames
inline constexpr double kMaxStabiliseZoom = 100.0;      // percent, either sign

// Offset of the clip's centre from the canvas centre, in output pixels.
struct ClipPosition {
  double x = 0.0;
  double y = 0.0;
};

// Fractions of the source frame removed from each edge; each in [0,1), opposite edges sum < 1.
struct ClipCrop {
  double left = 0.0;
  double top = 0.0;
  double right = 0.0;
  double bottom = 0.0;
};

// Stabilisation request (maps to vid.stab's vidstabtransform options).
struct Stabilise {
  int64_t smoothing = 10;  // frames either side used to smooth the camera path, 0..500
  double zoom = 0.0;       // extra zoom in percent, -100..100
  StabiliseCrop crop = StabiliseCrop::kKeep;
  bool tripod = false;  // lock the camera to the first frame
};

struct Clip : TimelineRecord {
  std::string id;  // clp_...
  std::string track_id;
  std::string asset_id;
  std::optional<std::string> artifact_id;  // e.g. a segment of the asset
  int64_t in_ms = 0;                       // source window [in_ms, out_ms)
  int64_t out_ms = 0;
  int64_t start_ms_on_timeline = 0;
  double speed = 1.0;  // >1 fast-forward, <1 slow motion; timeline duration = (out-in)/speed
  double volume_db = 0.0;
  double opacity = 1.0;
  nlohmann::json meta = nlohmann::json::object();
  ScaleMode scale_mode = ScaleMode::kFit;
  ClipPosition position;
  ClipCrop crop;
  std::optional<std::string> mask_artifact_id;
  BlendMode blend_mode = BlendMode::kNormal;
  int64_t fade_in_ms = 0;
  int64_t fade_out_ms = 0;
  std::optional<SlowmoQuality> slowmo_quality;  // null: no frame interpolation requested
  bool optical_flow = false;
  std::optional<Stabilise> stabilise;  // null: no stabilisation
  std::vector<ParameterAutomation> automation;
};

// Duration of the clip on the timeline in milliseconds: (out_ms - in_ms) / speed.
double clip_timeline_duration_ms(const Clip& clip);

// Public JSON with the spec's field names.
nlohmann::json to_json(const Clip& clip);
// Strict parse (see timeline_record.h); missing fields take the struct defaults.
Result<Clip> clip_from_json(const nlohmann::json& j);
// Field rules: ids (track_id, asset_id required), 0 <= in_ms < out_ms, start_ms_on_timeline >= 0,
// speed in (0, 100], opacity in [0,1], volume_db in [-100, 24], fades >= 0 and together at most
// the timeline duration, crop edges in [0,1) with left+right < 1 and top+bottom < 1, stabilise
// ranges, automation rules. Cross-record rules (asset exists, overlaps) belong to the service.
Status validate(const Clip& clip);

}  // namespace atomcut

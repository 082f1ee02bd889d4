// The render profile table (spec "V02 FX & transition catalog" / "Render profile table"): the
// output size, frame rate and codec settings a VideoProject.render_profile names.
#pragma once

#include "core/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace atomcut {

struct RenderProfile {
  std::string_view name;
  int width = 0;
  int height = 0;
  int fps = 0;
  std::string_view video_codec;  // ffmpeg encoder name
  std::string_view pix_fmt;
  std::string_view bitrate;  // ffmpeg -b:v value; empty for codecs driven by a profile (ProRes)
  std::string_view preset;   // x264 -preset, or the prores_ks -profile:v name
  int threads = 0;           // ffmpeg -threads; 0 lets ffmpeg choose
  std::string_view audio_codec;
  std::string_view audio_bitrate;  // ffmpeg -b:a value; empty for PCM
  int audio_sample_rate = 48000;   // Hz
  int audio_channels = 2;
  std::string_view description;  // surfaces as render_profile_description in plan meta
};

// All profiles, in table order.
std::span<const RenderProfile> render_profiles();
// The profile called `name`; invalid_argument listing the valid names (details.allowed) otherwise.
Result<const RenderProfile*> find_render_profile(std::string_view name);
// Public JSON (render_profile, width, height, fps, video_codec, ..., render_profile_description).
nlohmann::json to_json(const RenderProfile& profile);

}  // namespace atomcut

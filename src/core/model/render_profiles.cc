#include "core/model/render_profiles.h"

#include <array>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace atomcut {

namespace {

// Resolution, fps, codecs and audio bitrates are the spec's table; pix_fmt, video bitrate,
// preset and threads are chosen here: yuv420p for H.264 delivery, 10-bit 4:2:2 for the ProRes
// master (prores_ks profile "hq"), bitrates in line with common platform recommendations.
constexpr std::array<RenderProfile, 5> kProfiles = {{
    {"draft_480p_fast", 854, 480, 24, "libx264", "yuv420p", "1M", "ultrafast", 2, "aac", "96k",
     48000, 2, "Low-res 480p draft export for quick iterations"},
    {"preview_720p_fast", 1280, 720, 30, "libx264", "yuv420p", "3M", "veryfast", 4, "aac", "128k",
     48000, 2, "Fast 720p preview tuned for CPU/GPU"},
    {"social_1080p_h264", 1920, 1080, 30, "libx264", "yuv420p", "8M", "medium", 0, "aac", "192k",
     48000, 2, "1080p H.264 for social delivery with balanced quality"},
    {"youtube_4k_h264", 3840, 2160, 30, "libx264", "yuv420p", "45M", "slow", 0, "aac", "320k",
     48000, 2, "High-bitrate 4K H.264 master for YouTube"},
    {"master_4k_prores", 3840, 2160, 30, "prores_ks", "yuv422p10le", "", "hq", 0, "pcm_s16le", "",
     48000, 2, "4K ProRes master with uncompressed audio"},
}};

}  // namespace

std::span<const RenderProfile> render_profiles() { return kProfiles; }

Result<const RenderProfile*> find_render_profile(std::string_view name) {
  for (const auto& p : kProfiles) {
    if (p.name == name) return &p;
  }
  std::vector<std::string> allowed;
  for (const auto& p : kProfiles) allowed.push_back(std::string(p.name));
  return Error::invalid_argument(
      fmt::format("render_profile ('{}') is not a known profile; valid profiles: {}",
                  std::string(name.substr(0, 40)), fmt::join(allowed, ", ")),
      {{"field", "render_profile"}, {"allowed", allowed}});
}

nlohmann::json to_json(const RenderProfile& p) {
  auto opt = [](std::string_view s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  return {{"render_profile", p.name},
          {"width", p.width},
          {"height", p.height},
          {"fps", p.fps},
          {"video_codec", p.video_codec},
          {"pix_fmt", p.pix_fmt},
          {"bitrate", opt(p.bitrate)},
          {"preset", p.preset},
          {"threads", p.threads},
          {"audio_codec", p.audio_codec},
          {"audio_bitrate", opt(p.audio_bitrate)},
          {"audio_sample_rate", p.audio_sample_rate},
          {"audio_channels", p.audio_channels},
          {"render_profile_description", p.description}};
}

}  // namespace atomcut

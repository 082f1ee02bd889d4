// Versions of the FFmpeg libraries atomcut runs with (for /version and `atomcut --version`).
#pragma once

#include <string>

namespace atomcut {

// "libavformat 59.27.100, libavcodec 59.37.100, libavutil 57.28.100"
std::string libav_version_string();

}  // namespace atomcut

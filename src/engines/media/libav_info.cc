#include "engines/media/libav_info.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
}

#include <fmt/format.h>

namespace atomcut {

std::string libav_version_string() {
  auto v = [](unsigned x) { return fmt::format("{}.{}.{}", x >> 16, (x >> 8) & 0xff, x & 0xff); };
  return fmt::format("libavformat {}, libavcodec {}, libavutil {}", v(avformat_version()),
                     v(avcodec_version()), v(avutil_version()));
}

}  // namespace atomcut

// The guarded way the in-process decoders (audio_decoder, frame_sampler) open a local media file:
// stat checks, the file protocol only, a format libav really recognises (not a low-score guess),
// no demuxer that reads other files or the network (hls, concat, dash, imf, sdp) or turns text
// into video (tty), headers read and streams analysed with ffprobe's default limits.
// (media_probe opens files the same way plus a deadline and libav's log in its messages.)
// Internal to engines/: includes libav headers.
#pragma once

#include "core/error.h"
#include "engines/media/libav_raii.h"

#include <memory>
#include <string>

namespace atomcut::libav {

struct GuardedInput {
  // Declared in this order so the demuxer is closed before its I/O context.
  std::unique_ptr<AVIOContext, IoCloser> pb;
  std::unique_ptr<AVFormatContext, FormatCloser> ic;
  std::string format_name;
};

// invalid_argument with details {reason: "not_media", path}.
Error not_media_error(const std::string& path, const std::string& why);
// invalid_argument with details {reason: "corrupt", path}: "the <what> of <path> cannot be
// decoded: <why>" (what: "audio", "video").
Error corrupt_error(const std::string& path, const std::string& what, const std::string& why);

// Errors: not_found, permission_denied, not_media_error (not a regular file, empty, unknown or
// refused format), corrupt_error (damaged headers, streams that cannot be analysed).
Result<GuardedInput> open_guarded_input(const std::string& path, const std::string& what);

}  // namespace atomcut::libav

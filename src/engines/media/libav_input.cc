#include "engines/media/libav_input.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace atomcut::libav {

namespace {

// The same limits ffprobe uses by default.
constexpr const char* kProbeSizeBytes = "5000000";
constexpr const char* kAnalyzeDurationUs = "5000000";
constexpr std::array<std::string_view, 6> kRefusedDemuxers = {"hls", "concat", "dash",
                                                              "imf", "sdp",    "tty"};

}  // namespace

Error not_media_error(const std::string& path, const std::string& why) {
  return Error::invalid_argument(fmt::format("{} is not a media file: {}", path, why),
                                 {{"reason", "not_media"}, {"path", path}});
}

Error corrupt_error(const std::string& path, const std::string& what, const std::string& why) {
  return Error::invalid_argument(fmt::format("the {} of {} cannot be decoded: {}", what, path, why),
                                 {{"reason", "corrupt"}, {"path", path}});
}

Result<GuardedInput> open_guarded_input(const std::string& path, const std::string& what) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) {
      return Error::not_found(fmt::format("no such file: {}", path), {{"path", path}});
    }
    if (e == EACCES) {
      return Error::permission_denied(fmt::format("cannot read {}: {}", path, std::strerror(e)),
                                      {{"path", path}});
    }
    return not_media_error(path, std::strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) return not_media_error(path, "it is not a regular file");
  if (sb.st_size == 0) return not_media_error(path, "it is empty (0 bytes)");

  GuardedInput in;
  {
    Dict io_opts;
    io_opts.set("protocol_whitelist", "file");
    AVIOContext* raw = nullptr;
    // "file:" keeps a path with a colon ("a:b.mp4") from being read as a protocol name.
    const int err =
        avio_open2(&raw, ("file:" + path).c_str(), AVIO_FLAG_READ, nullptr, io_opts.get());
    if (err < 0) {
      if (err == AVERROR(EACCES)) {
        return Error::permission_denied(fmt::format("cannot read {}: {}", path, error_text(err)),
                                        {{"path", path}});
      }
      return not_media_error(path, fmt::format("cannot open it: {}", error_text(err)));
    }
    in.pb.reset(raw);
  }
  const AVInputFormat* format = nullptr;
  const int score = av_probe_input_buffer2(in.pb.get(), &format, path.c_str(), nullptr, 0, 0);
  if (score < 0 || !format) {
    return not_media_error(path, fmt::format("libav does not recognise its format ({})",
                                             error_text(score < 0 ? score : AVERROR_INVALIDDATA)));
  }
  // Below the retry score libav is guessing (random bytes can look like H.263 or lyrics).
  if (score <= AVPROBE_SCORE_RETRY) {
    return not_media_error(path, fmt::format("libav does not recognise its format (best guess {} "
                                             "with score {} of 100)",
                                             format->name, score));
  }
  in.format_name = format->name;
  if (std::find(kRefusedDemuxers.begin(), kRefusedDemuxers.end(), in.format_name) !=
      kRefusedDemuxers.end()) {
    return not_media_error(path, fmt::format("{} files are not accepted as media", in.format_name));
  }
  {
    AVFormatContext* raw = avformat_alloc_context();
    if (!raw) return Error::internal("out of memory allocating a demuxer");
    raw->pb = in.pb.get();  // custom I/O: avformat_close_input leaves pb to us
    Dict opts;
    opts.set("probesize", kProbeSizeBytes);
    opts.set("analyzeduration", kAnalyzeDurationUs);
    opts.set("protocol_whitelist", "file");
    opts.set("pattern_type", "none");  // image2 would read "a%03d.png" as a numbered sequence
    const int err = avformat_open_input(&raw, path.c_str(), format, opts.get());
    if (err < 0) {  // raw is freed
      return corrupt_error(path, what,
                           fmt::format("its {} headers are damaged or incomplete ({})",
                                       in.format_name, error_text(err)));
    }
    in.ic.reset(raw);
  }
  if (const int err = avformat_find_stream_info(in.ic.get(), nullptr); err < 0) {
    return corrupt_error(path, what,
                         fmt::format("its streams cannot be analysed ({})", error_text(err)));
  }
  return in;
}

}  // namespace atomcut::libav

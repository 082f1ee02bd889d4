// Media for tests: small files generated with the ffmpeg CLI (exact, known content) and real
// recordings from Debian packages (see /work/shared/guides/MEDIA.md and deps/apt-packages.txt).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut::testing {

// The path of a generated fixture, made on first use into a per-process temporary directory
// (mkdtemp under /tmp, removed at exit) and reused afterwards. Thread safe. On failure (ffmpeg
// missing or failing, unknown name) it records a test failure (ADD_FAILURE) and returns "".
//
// Names:
//   video_h264_aac.mp4    2.0 s 320x240 25 fps testsrc2, H.264 yuv420p + 1 kHz sine AAC 48 kHz
//   stereo video_2997.mp4        2.0 s 320x240 30000/1001 fps H.264 + AAC 44.1 kHz mono
//   video_rotated_90.mp4  1.0 s 320x240 25 fps H.264, display matrix "rotate 90 degrees clockwise"
//                         (ffprobe side_data rotation -90)
//   video_only.mp4        1.0 s 320x240 25 fps H.264, no audio
//   video_vfr.mkv         H.264: 30 frames at 30 fps, then 60 frames at 20 fps (4.0 s)
//   video.webm            1.0 s 160x120 25 fps VP9 + Opus 48 kHz mono
//   video.avi             1.0 s 160x120 25 fps MPEG-4 part 2 + MP3 44.1 kHz mono
//   video.mov             1.0 s 160x120 25 fps H.264 in a QuickTime container (brand "qt  ")
//   audio_sine.wav        1.0 s 440 Hz 44.1 kHz mono s16
//   audio_stereo.mp3      1.5 s 440 Hz 48 kHz stereo MP3
//   audio.flac            1.0 s 440 Hz 48 kHz stereo FLAC
//   audio.ogg             1.0 s 440 Hz 48 kHz mono Vorbis
//   audio.m4a             1.0 s 440 Hz 48 kHz mono AAC in MP4 (brand "M4A ")
//   audio.aac             1.0 s 440 Hz 48 kHz mono AAC in ADTS
//   image.png, image.jpg, image.webp, image.bmp, image.gif   64x48, one frame of testsrc2
//   animation.gif         64x48, 5 frames at 10 fps
//   truncated.mp4         the first 40% of the bytes of a 2 s mp4 whose moov atom is at the end
//   corrupt_header.mp4    a 2 s mp4 whose bytes 8..4000 are overwritten with (seeded) garbage
//   not_media.txt         a few lines of text
//   empty.bin             0 bytes
//   random.bin            64 KiB of (seeded, so reproducible) pseudo-random bytes
std::string fixture(std::string_view name);

// Every name fixture() knows.
std::vector<std::string> fixture_names();

// A real recording if its Debian package is installed, else nullopt:
//   phone_1080p_2997   forensics-samples-files movie1/VID_20191220_170832.mp4 (phone, H.264 + AAC)
//   screen_720p30_mp4  forensics-samples-files movie2/movie-hello.mp4 (H.264 + AAC)
//   screen_avi         movie2/movie-hello.avi (H.264 + AAC in AVI)
//   screen_mpeg        movie2/movie-hello.mpeg (MPEG-2 + MP2 in MPEG-PS)
//   screen_ogg         movie2/movie-hello.ogg (Theora + Vorbis)
//   vtest_avi, tree_avi, messi_jpg   opencv-doc examples/data (MS-MPEG4, Cinepak, JPEG)
std::optional<std::string> real_media(std::string_view name);

// Every name real_media() knows (installed or not).
std::vector<std::string> real_media_names();

// `ffprobe -v error -print_format json -show_streams -show_format PATH`, parsed; null when
// ffprobe fails (exits non-zero, which it does for files that are not media).
nlohmann::json ffprobe_json(const std::string& path);

}  // namespace atomcut::testing

#!/usr/bin/env bash
# Render: the bench timeline (three 8 s 1080p30 clips with audio, 1 s crossfades between them,
# 22 s = 660 frames out) rendered with profile social_1080p_h264. Times POST /video/render from
# request to registered artifact. References, measured in the same run on the same files: one
# hand-written `ffmpeg -filter_complex` (xfade + acrossfade) and MLT's `melt` (-mix, luma + mix),
# both with the profile's codec settings and default threads. Goal: render <= 1.05x ffmpeg.
#   RUNS=3 (median of RUNS runs each; the three are interleaved run by run)
source "$(dirname "$0")/bench_lib.sh"
shopt -s inherit_errexit  # a failing command inside $(...) stops the script too
runs="${RUNS:-3}"
for tool in ffmpeg ffprobe melt curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install $tool)" >&2; exit 2; }
done
start_server --access-log off
src="$BENCH_TMP/src" out="$BENCH_TMP/out"
mkdir -p "$src" "$out"

# Three different 8 s 1920x1080 30 fps H.264 clips with 48 kHz stereo AAC (sine 440/660/880 Hz).
i=0
for video in testsrc2=s=1920x1080:r=30:d=8 smptehdbars=s=1920x1080:r=30:d=8 mandelbrot=s=1920x1080:r=30; do
  i=$((i + 1))
  ffmpeg -v error -y -f lavfi -i "$video" -f lavfi -i "sine=f=$((220 + 220 * i)):r=48000:d=8" \
    -t 8 -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 192k -ar 48000 -ac 2 \
    "$src/clip$i.mp4"
done

# Output settings of social_1080p_h264 (src/core/model/render_profiles.cc), threads left at default.
ffmpeg_ref() {  # output file
  ffmpeg -v error -y -i "$src/clip1.mp4" -i "$src/clip2.mp4" -i "$src/clip3.mp4" -filter_complex \
    "[0:v][1:v]xfade=transition=fade:duration=1:offset=7[v01];[v01][2:v]xfade=transition=fade:duration=1:offset=14[v];[0:a][1:a]acrossfade=d=1[a01];[a01][2:a]acrossfade=d=1[a]" \
    -map '[v]' -map '[a]' -c:v libx264 -preset medium -b:v 8M -pix_fmt yuv420p -s 1920x1080 -r 30 \
    -c:a aac -b:a 192k -ar 48000 -ac 2 -movflags +faststart "$1"
}
# melt: each clip is frames 0..239; -mix 30 overlaps the last two cuts by 30 frames (1 s) with a
# luma dissolve (video) and an automatic linear audio crossfade (mix:-1). threads=0 is libx264's
# automatic count, as in ffmpeg; real_time=-1 is one MLT processing thread, no frame dropping.
melt_ref() {  # output file
  rm -f "$1"
  melt -quiet -profile atsc_1080p_30 \
    "$src/clip1.mp4" in=0 out=239 \
    "$src/clip2.mp4" in=0 out=239 -mix 30 -mixer luma -mixer mix:-1 \
    "$src/clip3.mp4" in=0 out=239 -mix 30 -mixer luma -mixer mix:-1 \
    -consumer "avformat:$1" vcodec=libx264 preset=medium vb=8M pix_fmt=yuv420p width=1920 \
    height=1080 frame_rate_num=30 frame_rate_den=1 progressive=1 acodec=aac ab=192k ar=48000 \
    channels=2 movflags=+faststart threads=0 real_time=-1 2>>"$BENCH_TMP/melt.err"
  [ -s "$1" ] || { echo "melt produced no output:" >&2; cat "$BENCH_TMP/melt.err" >&2; exit 1; }
}

# HTTP helpers: api METHOD PATH [JSON] -> body on stdout; exits unless the status is 2xx.
hdr=(-H "Authorization: Bearer $KEY" -H "X-Tenant-Id: t_bench" -H "X-Env: dev")
api() {
  local code
  code="$(curl -s -o "$BENCH_TMP/resp.json" -w '%{http_code}' -X "$1" "${hdr[@]}" \
    ${3:+-H "Content-Type: application/json" --data "$3"} "$BASE$2")"
  case "$code" in 2??) cat "$BENCH_TMP/resp.json" ;;
    *) echo "$1 $2: HTTP $code $(cat "$BENCH_TMP/resp.json")" >&2; exit 1 ;; esac
}
json_str() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }  # first "key":"value"
json_num() { grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }

# The same edit as an atomcut timeline: upload, project, sequence, video track, three clips, two
# 1 s crossfades.
assets=()
for i in 1 2 3; do
  id="$(curl -s "${hdr[@]}" -F kind=video -F file=@"$src/clip$i.mp4" "$BASE/media-v2/assets" | json_str id)"
  [ -n "$id" ] || { echo "upload of clip$i failed" >&2; cat "$BENCH_TMP/server.err" >&2; exit 1; }
  assets+=("$id")
done
project="$(api POST /video/projects '{"title":"render bench","render_profile":"social_1080p_h264"}' | json_str id)"
sequence="$(api POST "/video/projects/$project/sequences" '{"name":"main","timebase":30}' | json_str id)"
track="$(api POST "/video/sequences/$sequence/tracks" '{"kind":"video"}' | json_str id)"
clips=()
for i in 0 1 2; do
  clips+=("$(api POST "/video/tracks/$track/clips" "{\"asset_id\":\"${assets[$i]}\",\"in_ms\":0,\"out_ms\":8000,\"start_ms_on_timeline\":$((i * 7000))}" | json_str id)")
done
for i in 0 1; do
  api POST "/video/sequences/$sequence/transitions" "{\"type\":\"crossfade\",\"duration_ms\":1000,\"from_clip_id\":\"${clips[$i]}\",\"to_clip_id\":\"${clips[$((i + 1))]}\"}" >/dev/null
done
seq_ms="$(api GET "/video/sequences/$sequence" | json_num duration_ms)"
[ "$seq_ms" = "22000" ] || { echo "sequence is $seq_ms ms, expected 22000" >&2; exit 1; }

# One render over HTTP; prints seconds, or "404" when the endpoint does not exist (yet). The
# project is touched first (untimed) so that every run is a fresh render, not a cache hit.
render_body="{\"project_id\":\"$project\",\"sequence_id\":\"$sequence\",\"render_profile\":\"social_1080p_h264\"}"
atomcut_render() {  # run number
  api PATCH "/video/projects/$project" "{\"meta\":{\"bench_run\":$1}}" >/dev/null
  local t0 t1 code
  t0="$(date +%s.%N)"
  code="$(curl -s -o "$BENCH_TMP/render.json" -w '%{http_code}' "${hdr[@]}" \
    -H "Content-Type: application/json" --data "$render_body" "$BASE/video/render")"
  t1="$(date +%s.%N)"
  case "$code" in
    200 | 201) awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' ;;
    404) echo 404 ;;
    *) echo "POST /video/render: HTTP $code $(cat "$BENCH_TMP/render.json")" >&2; exit 1 ;;
  esac
}
timed() {  # command... -> seconds
  local t0 t1
  t0="$(date +%s.%N)"
  "$@"
  t1="$(date +%s.%N)"
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}

ff_times=() melt_times=() render_times=() render_available=yes
for run in $(seq 1 "$runs"); do
  ff_times+=("$(timed ffmpeg_ref "$out/ffmpeg.mp4")")
  melt_times+=("$(timed melt_ref "$out/melt.mp4")")
  if [ "$render_available" = yes ]; then
    t="$(atomcut_render "$run")"
    if [ "$t" = 404 ]; then
      render_available=no
      render_404="$(json_str message <"$BENCH_TMP/render.json")"
    else
      render_times+=("$t")
    fi
  fi
done
if [ "$render_available" = yes ]; then
  artifact="$(json_str artifact_id <"$BENCH_TMP/render.json")"
  curl -sf -o "$out/atomcut.mp4" "${hdr[@]}" "$BASE/media-v2/artifacts/$artifact/content"
fi

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
describe() {  # file -> "660 frames 1920x1080 30/1, audio aac 48000 Hz 2 ch 22.016 s, x264 threads=3"
  local v a threads
  v="$(ffprobe -v error -select_streams v:0 -count_packets -show_entries \
    stream=nb_read_packets,width,height,r_frame_rate -of default=nw=1:nk=1 "$1" | paste -sd' ')"
  a="$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,sample_rate,channels,duration \
    -of default=nw=1:nk=1 "$1" | paste -sd' ')"
  threads="$({ grep -a -o -m1 ' threads=[0-9]*' "$1" || true; } | head -1 | tr -d ' ')"
  awk -v v="$v" -v a="$a" -v t="${threads:-threads=?}" 'BEGIN {
    split(v, x, " "); split(a, y, " ")
    if (a == "") aud = "no audio"; else aud = sprintf("audio %s %s Hz %s ch %.3f s", y[1], y[2], y[3], y[4])
    printf "%s frames %sx%s %s, %s, x264 %s", x[4], x[1], x[2], x[3], aud, t }'
}

ff="$(median "${ff_times[@]}")" mlt="$(median "${melt_times[@]}")"
echo "render_bench: 3 x 8 s 1080p30 clips, 2 x 1 s crossfades (22 s, 660 frames), social_1080p_h264, median of $runs runs, $(nproc) cores"
awk -v s="$ff" -v all="${ff_times[*]}" 'BEGIN {printf "  reference ffmpeg -filter_complex: %6.2f s  (runs: %s)\n", s, all}'
awk -v s="$mlt" -v all="${melt_times[*]}" -v ver="$(melt -version 2>&1 | awk '/^melt/ {print $2}')" \
  'BEGIN {printf "  melt (MLT %s):               %6.2f s  (runs: %s)\n", ver, s, all}'
if [ "$render_available" = yes ]; then
  rnd="$(median "${render_times[@]}")"
  awk -v s="$rnd" -v all="${render_times[*]}" 'BEGIN {printf "  atomcut POST /video/render:       %6.2f s  (runs: %s)\n", s, all}'
else
  echo "  atomcut POST /video/render:       render endpoint not available (HTTP 404: $render_404)"
fi
awk -v m="$mlt" -v f="$ff" 'BEGIN {printf "  ratio melt/ffmpeg:   %.3f\n", m / f}'
if [ "$render_available" = yes ]; then
  awk -v r="$rnd" -v f="$ff" 'BEGIN {printf "  ratio render/ffmpeg: %.3f (goal <= 1.05: %s)\n", r / f, (r / f <= 1.05 ? "met" : "NOT met")}'
fi
echo "  outputs:"
echo "    ffmpeg:  $(describe "$out/ffmpeg.mp4")"
echo "    melt:    $(describe "$out/melt.mp4")"
[ "$render_available" = yes ] && echo "    atomcut: $(describe "$out/atomcut.mp4")"
exit 0

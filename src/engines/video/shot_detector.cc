#include "engines/video/shot_detector.h"

#include "engines/video/frame_sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <utility>

namespace atomcut {
namespace {

// A frame as the detector keeps it.
struct Record {
  int64_t pos = 0;  // arrival number
  int64_t index = 0;
  int64_t pts_ms = 0;
  double d1 = 0;      // mean absolute difference with the previous frame
  double dw = 0;      // ... with the frame gradual_window frames before
  double sum_d1 = 0;  // sum of d1 over the gradual_window frames ending here
};

// In a gradual run, a single frame-to-frame difference carrying at least this share of the
// window's difference makes it a cut at that frame rather than a transition.
constexpr double kCutShareOfWindow = 0.6;
// A gradual run shorter than this many frames is noise.
constexpr int kMinGradualRun = 3;
// A frame whose difference with the previous one is below this repeats it (up to coding noise).
constexpr double kRepeatDiff = 0.3;
// A cut's difference is at least this many times its immediate neighbours'.
constexpr double kAdjacentRatio = 1.5;
// ... and this many times the largest difference of its context (irregular motion, dropped frames).
constexpr double kLargestRatio = 1.7;
// How far the cut test looks for differences that are not repeats (a 2 fps source at 25 fps).
constexpr int kMaxContextSpan = 13;
// Frames kept for decisions beyond the windows themselves.
constexpr size_t kHistorySlack = 8;

Status check_range(const char* field, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) {
    return Error::invalid_argument(fmt::format("{} must be {}..{}, got {}", field, lo, hi, v),
                                   {{"field", field}, {"value", v}});
  }
  return {};
}

}  // namespace

struct ShotDetector::Impl {
  ShotDetectorOptions opts;
  int64_t seen = 0;
  int64_t last_pts = std::numeric_limits<int64_t>::min();
  std::deque<std::vector<float>> grids;  // the last gradual_window + 1 grids
  std::deque<Record> history;            // the last frames, oldest first
  std::vector<float> grid;               // scratch
  std::vector<int> col_start;            // grid column -> first source column (size gw + 1)
  int col_src_w = -1;
  std::vector<int> row_start;
  int row_src_h = -1;

  int64_t next_cut_pos = 0;           // the next frame whose cut decision is pending
  std::deque<int64_t> cut_positions;  // decided cuts (arrival numbers), recent ones
  // The gradual run in progress.
  bool in_run = false;
  int64_t run_start = 0;
  int64_t run_last = 0;
  double run_max_dw = 0;
  std::vector<Record> run_records;  // from run_start - gradual_window to the run's last frame

  int64_t last_boundary_pos = std::numeric_limits<int64_t>::min() / 2;
  std::vector<ShotBoundary> pending;

  const Record* at(int64_t pos) const {
    if (history.empty() || pos < history.front().pos || pos > history.back().pos) return nullptr;
    return &history[static_cast<size_t>(pos - history.front().pos)];
  }
  void reduce(const VideoFrame& f);
  void decide_cut(int64_t pos);
  void emit(ShotBoundary b, int64_t pos);
  void close_run();
};

// Area average of the frame's luma onto the grid.
void ShotDetector::Impl::reduce(const VideoFrame& f) {
  const int gw = opts.grid_width;
  const int gh = opts.grid_height;
  auto bounds = [](std::vector<int>& v, int src, int cells) {
    v.resize(cells + 1);
    for (int i = 0; i <= cells; ++i) v[i] = static_cast<int>(int64_t{i} * src / cells);
    for (int i = 1; i <= cells; ++i) v[i] = std::max(v[i], std::min(v[i - 1] + 1, src));
  };
  if (col_src_w != f.width) {
    bounds(col_start, f.width, gw);
    col_src_w = f.width;
  }
  if (row_src_h != f.height) {
    bounds(row_start, f.height, gh);
    row_src_h = f.height;
  }
  grid.assign(static_cast<size_t>(gw) * gh, 0.0f);
  const int ch = f.channels();
  std::vector<double> row_sum(gw);
  for (int gy = 0; gy < gh; ++gy) {
    std::fill(row_sum.begin(), row_sum.end(), 0.0);
    const int y0 = std::min(row_start[gy], f.height - 1);
    const int y1 = std::max(row_start[gy + 1], y0 + 1);
    for (int y = y0; y < y1; ++y) {
      const uint8_t* row = f.pixels.data() + static_cast<size_t>(y) * f.width * ch;
      for (int gx = 0; gx < gw; ++gx) {
        const int x0 = std::min(col_start[gx], f.width - 1);
        const int x1 = std::max(col_start[gx + 1], x0 + 1);
        double s = 0;
        if (ch == 1) {
          for (int x = x0; x < x1; ++x) s += row[x];
        } else {
          for (int x = x0; x < x1; ++x) {
            const uint8_t* p = row + x * 3;
            s += 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
          }
        }
        row_sum[gx] += s / (x1 - x0);
      }
    }
    for (int gx = 0; gx < gw; ++gx) {
      grid[static_cast<size_t>(gy) * gw + gx] = static_cast<float>(row_sum[gx] / (y1 - y0));
    }
  }
}

void ShotDetector::Impl::emit(ShotBoundary b, int64_t pos) {
  if (pos - last_boundary_pos < opts.min_shot_frames) return;
  last_boundary_pos = pos;
  pending.push_back(b);
}

// The cut decision for frame `pos`: its difference against the cut_context frames on each side.
void ShotDetector::Impl::decide_cut(int64_t pos) {
  const Record* r = at(pos);
  if (!r || pos == 0) return;
  if (r->d1 < opts.cut_min_diff) return;
  // The context is the nearest cut_context differences on each side that are not repeats: video
  // converted up from a low frame rate repeats frames (differences near 0), and its real changes
  // come as isolated peaks every few frames. The cut must stand out against their median (steady
  // motion), its largest (irregular motion, dropped frames) and its immediate neighbours (a flash
  // makes two peaks in a row).
  std::vector<double> context;
  double adjacent = 0;
  for (const int dir : {-1, 1}) {
    int counted = 0;
    for (int k = 1; k <= kMaxContextSpan && counted < opts.cut_context; ++k) {
      const Record* c = at(pos + dir * k);
      if (!c || c->pos == 0) break;  // pos 0's d1 is not a difference
      if (k == 1) adjacent = std::max(adjacent, c->d1);
      if (c->d1 >= kRepeatDiff) {
        context.push_back(c->d1);
        ++counted;
      }
    }
  }
  double typical = 0;
  double largest = 0;
  if (!context.empty()) {
    largest = *std::max_element(context.begin(), context.end());
    std::sort(context.begin(), context.end());
    typical = context[context.size() / 2];
  }
  if (r->d1 < opts.cut_ratio * std::max(typical, kRepeatDiff)) return;
  if (r->d1 < kAdjacentRatio * adjacent) return;
  if (r->d1 < kLargestRatio * largest) return;
  cut_positions.push_back(pos);
  while (cut_positions.size() > 64) cut_positions.pop_front();
  emit({.frame_index = r->index,
        .time_ms = r->pts_ms,
        .kind = ShotBoundaryKind::kCut,
        .score = r->d1,
        .transition_start_index = r->index,
        .transition_end_index = r->index},
       pos);
}

// Resolves the gradual run that just ended.
void ShotDetector::Impl::close_run() {
  in_run = false;
  const int w = opts.gradual_window;
  const int64_t run_len = run_last - run_start + 1;
  std::vector<Record> recs = std::move(run_records);
  run_records.clear();
  if (run_len < kMinGradualRun || recs.empty()) return;
  // The transition spans the frames whose changes the run's windows saw.
  const int64_t span_first = run_start - w + 1;
  for (const int64_t c : cut_positions) {
    if (c >= span_first && c <= run_last) return;  // a cut already explains it
  }
  auto rec_at = [&](int64_t pos) -> const Record* {
    if (pos < recs.front().pos || pos > recs.back().pos) return nullptr;
    return &recs[static_cast<size_t>(pos - recs.front().pos)];
  };
  // One frame-to-frame difference carrying most of the change: a cut the ratio test missed.
  const Record* peak = nullptr;
  for (const Record& r : recs) {
    if (r.pos >= std::max<int64_t>(1, span_first) && (!peak || r.d1 > peak->d1)) peak = &r;
  }
  if (peak && peak->d1 >= opts.cut_min_diff && peak->d1 >= kCutShareOfWindow * run_max_dw) {
    cut_positions.push_back(peak->pos);
    emit({.frame_index = peak->index,
          .time_ms = peak->pts_ms,
          .kind = ShotBoundaryKind::kCut,
          .score = peak->d1,
          .transition_start_index = peak->index,
          .transition_end_index = peak->index},
         peak->pos);
    return;
  }
  // The window ending at frame k is centred on k - w / 2: the middle of the run, shifted back.
  const int64_t mid = (run_start + run_last) / 2 - w / 2;
  const Record* m = rec_at(std::max<int64_t>(mid, recs.front().pos));
  // The run is about as long as the transition (the windows reach the threshold when about half
  // of them overlap it).
  const int64_t half = (run_last - run_start) / 2;
  const Record* first = rec_at(std::max<int64_t>(mid - half, recs.front().pos));
  const Record* last = rec_at(std::min<int64_t>(mid + half, recs.back().pos));
  if (!m || !first || !last) return;
  emit({.frame_index = m->index,
        .time_ms = m->pts_ms,
        .kind = ShotBoundaryKind::kGradual,
        .score = run_max_dw,
        .transition_start_index = first->index,
        .transition_end_index = last->index},
       m->pos);
}

ShotDetector::ShotDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShotDetector::~ShotDetector() = default;

Result<std::unique_ptr<ShotDetector>> ShotDetector::create(ShotDetectorOptions opts) {
  ATOMCUT_TRY(check_range("grid_width", opts.grid_width, 8, 256));
  ATOMCUT_TRY(check_range("grid_height", opts.grid_height, 8, 256));
  ATOMCUT_TRY(check_range("cut_min_diff", opts.cut_min_diff, 0, 255));
  ATOMCUT_TRY(check_range("cut_ratio", opts.cut_ratio, 1, 1000));
  ATOMCUT_TRY(check_range("cut_context", opts.cut_context, 1, 30));
  ATOMCUT_TRY(check_range("gradual_window", opts.gradual_window, 4, 120));
  ATOMCUT_TRY(check_range("gradual_min_diff", opts.gradual_min_diff, 0, 255));
  ATOMCUT_TRY(check_range("gradual_coherence", opts.gradual_coherence, 0, 1));
  ATOMCUT_TRY(check_range("min_shot_frames", opts.min_shot_frames, 0, 100000));
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  return std::unique_ptr<ShotDetector>(new ShotDetector(std::move(impl)));
}

Result<FrameMotion> ShotDetector::push(const VideoFrame& frame) {
  Impl& d = *impl_;
  const ShotDetectorOptions& o = d.opts;
  if (frame.width <= 0 || frame.height <= 0) {
    return Error::invalid_argument(
        fmt::format("frame must have a size, got {}x{}", frame.width, frame.height),
        {{"field", "frame"}});
  }
  const size_t expected = static_cast<size_t>(frame.width) * frame.height * frame.channels();
  if (frame.pixels.size() != expected) {
    return Error::invalid_argument(
        fmt::format("frame pixels must be {}x{}x{} = {} bytes, got {}", frame.width, frame.height,
                    frame.channels(), expected, frame.pixels.size()),
        {{"field", "frame.pixels"}});
  }
  if (frame.pts_ms < d.last_pts) {
    return Error::invalid_argument(
        fmt::format("frames must come in presentation order: pts_ms {} after {}", frame.pts_ms,
                    d.last_pts),
        {{"field", "frame.pts_ms"}});
  }
  d.last_pts = frame.pts_ms;

  d.reduce(frame);
  Record r;
  r.pos = d.seen++;
  r.index = frame.index >= 0 ? frame.index : r.pos;
  r.pts_ms = frame.pts_ms;
  auto mad = [&](const std::vector<float>& a) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += std::fabs(a[i] - d.grid[i]);
    return s / static_cast<double>(a.size());
  };
  if (!d.grids.empty()) r.d1 = mad(d.grids.back());
  const int w = o.gradual_window;
  if (static_cast<int>(d.grids.size()) >= w) r.dw = mad(d.grids[d.grids.size() - w]);
  d.grids.push_back(d.grid);
  while (static_cast<int>(d.grids.size()) > w) d.grids.pop_front();

  r.sum_d1 = r.d1;
  for (int k = 1; k < w; ++k) {
    if (const Record* p = d.at(r.pos - k)) r.sum_d1 += p->d1;
  }
  d.history.push_back(r);
  const size_t keep = static_cast<size_t>(std::max(w, 2 * kMaxContextSpan) + 1) + kHistorySlack;
  while (d.history.size() > keep) d.history.pop_front();

  // Cut decisions that now have their context.
  while (d.next_cut_pos + kMaxContextSpan <= r.pos) d.decide_cut(d.next_cut_pos++);

  if (o.detect_gradual) {
    const bool cond = r.pos >= w && r.dw >= o.gradual_min_diff &&
                      r.dw >= o.gradual_coherence * std::max(r.sum_d1, 1e-9);
    if (cond && !d.in_run) {
      d.in_run = true;
      d.run_start = r.pos;
      d.run_max_dw = 0;
      d.run_records.clear();
      for (int64_t p = r.pos - w; p < r.pos; ++p) {
        if (const Record* q = d.at(p)) d.run_records.push_back(*q);
      }
    }
    if (cond) {
      d.run_last = r.pos;
      d.run_max_dw = std::max(d.run_max_dw, r.dw);
      d.run_records.push_back(r);
    } else if (d.in_run) {
      // Cut decisions inside the run are needed first.
      while (d.next_cut_pos <= d.run_last) d.decide_cut(d.next_cut_pos++);
      d.close_run();
    }
  }
  return FrameMotion{.frame_index = r.index, .pts_ms = r.pts_ms, .motion = r.d1};
}

void ShotDetector::finish() {
  Impl& d = *impl_;
  while (d.next_cut_pos < d.seen) d.decide_cut(d.next_cut_pos++);
  if (d.in_run) d.close_run();
}

std::vector<ShotBoundary> ShotDetector::take_boundaries() {
  std::vector<ShotBoundary> out = std::move(impl_->pending);
  impl_->pending.clear();
  std::sort(out.begin(), out.end(), [](const ShotBoundary& a, const ShotBoundary& b) {
    return a.frame_index < b.frame_index;
  });
  return out;
}

int64_t ShotDetector::frames_seen() const { return impl_->seen; }

Result<ShotDetection> detect_shots(const std::string& path, ShotDetectorOptions opts) {
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<ShotDetector> detector, ShotDetector::create(opts));
  FrameSamplerOptions so;
  so.max_width = opts.grid_width;
  so.max_height = opts.grid_height;
  so.layout = PixelLayout::kGray8;
  so.fast_decode = true;
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<FrameSampler> sampler, FrameSampler::open(path, so));
  ShotDetection out;
  out.duration_ms = sampler->info().duration_ms;
  VideoFrame frame;
  while (true) {
    ATOMCUT_ASSIGN_OR_RETURN(bool got, sampler->next(frame));
    if (!got) break;
    ATOMCUT_ASSIGN_OR_RETURN(FrameMotion m, detector->push(frame));
    out.motion.push_back(m);
    for (ShotBoundary& b : detector->take_boundaries()) out.boundaries.push_back(b);
  }
  detector->finish();
  for (ShotBoundary& b : detector->take_boundaries()) out.boundaries.push_back(b);
  std::sort(
      out.boundaries.begin(), out.boundaries.end(),
      [](const ShotBoundary& a, const ShotBoundary& b) { return a.frame_index < b.frame_index; });
  out.frame_count = detector->frames_seen();
  return out;
}

}  // namespace atomcut

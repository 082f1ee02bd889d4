// TimelineTree: one project with everything inside it, as flat lists (the expanded view, the
// unit of OTIO export/import). Order within each list: creation (id) order.
#pragma once

#include "core/model/clip.h"
#include "core/model/filter_stack.h"
#include "core/model/sequence.h"
#include "core/model/track.h"
#include "core/model/transition.h"
#include "core/model/video_project.h"

#include <vector>

namespace atomcut {

struct TimelineTree {
  VideoProject project;
  std::vector<Sequence> sequences;
  std::vector<Track> tracks;
  std::vector<Clip> clips;
  std::vector<Transition> transitions;
  std::vector<FilterStack> filter_stacks;
};

}  // namespace atomcut

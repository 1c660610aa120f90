#pragma once
// The report's retrieval section: a few queries (evenly spaced) with their top-10 neighbours as
// rows of images, framed green where a neighbour's label is the query's and red where not, and
// recall@10, precision@10 and mAP measured as `aepipe evaluate --neighbours` does. Collective
// (the figures are measured by every rank); rank 0 builds the section.
#include "report/html.hpp"
#include "stages/context.hpp"
#include "stages/report.hpp"
#include "stages/report_folder.hpp"

namespace aepipe::stages {

inline constexpr std::int64_t kShownQueries = 8;
inline constexpr std::int64_t kShownNeighbours = 10;

report::Section retrieval_section(const ReportOptions& options, ReportFolder& folder,
                                  const StageContext& context);

}  // namespace aepipe::stages

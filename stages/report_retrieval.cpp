#include "stages/report_retrieval.hpp"

#include <algorithm>

#include "codec/codes_reader.hpp"
#include "data/data_file_reader.hpp"
#include "h5/format.hpp"
#include "index/index_file.hpp"
#include "index/neighbours_file.hpp"
#include "mpi/agreement.hpp"
#include "report/tile_grid.hpp"
#include "stages/evaluate_neighbours.hpp"
#include "stages/report_samples.hpp"
#include "util/error.hpp"
#include "util/recorded_path.hpp"

namespace aepipe::stages {
namespace {

constexpr report::Rgb kQueryFrame = {40, 90, 200};
constexpr report::Rgb kSameLabel = {30, 160, 60};
constexpr report::Rgb kOtherLabel = {210, 40, 40};
constexpr report::Rgb kNoLabel = {170, 170, 170};

// The data file holding the images behind `path`: itself if it is a data file, else (a codes
// file) the data file it was encoded from.
std::string images_behind(const std::string& path) {
  const h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
  const std::string kind = h5::read_format_tag(file).kind;
  if (kind == "data") return path;
  if (kind != codec::kCodesFormat)
    throw Error(cat(path, " is an aepipe '", kind, "' file, not a data or codes file"));
  const codec::CodesReader codes(path);
  const std::string source = resolve_recorded_path(codes.origin().source, path);
  if (source.empty()) throw Error(cat(path, " names no data file its codes came from"));
  return source;
}

std::vector<std::uint8_t> read_row(const data::DataFileReader& reader, std::int64_t row) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(reader.row_bytes()));
  reader.read_images(row, 1, pixels.data());
  return pixels;
}

std::string figure_text(const NeighboursFigure& figure) {
  if (!figure.value) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", *figure.value);
  return text;
}

}  // namespace

report::Section retrieval_section(const ReportOptions& options, ReportFolder& folder,
                                  const StageContext& context) {
  const auto& comm = context.comm;
  report::Section section{"retrieval", "Retrieval", ""};
  const index::NeighboursFile found =
      mpi::collectively(comm, [&] { return index::read_neighbours_file(options.neighbours); });
  EvaluateNeighboursOptions evaluate;
  evaluate.neighbours = options.neighbours;
  evaluate.k = std::min(kShownNeighbours, found.info.k);
  const NeighboursQuality quality = measure_neighbours(evaluate, quiet_context(context));

  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    const index::IndexSummary summary = index::read_index_summary(quality.index_path);
    const std::int64_t k = quality.k;
    section.body +=
        report::html_table({"figure", cat("@", k), "how"},
                           {{"recall", figure_text(quality.recall), quality.recall.note},
                            {"precision", figure_text(quality.precision), quality.precision.note},
                            {"mean average precision", figure_text(quality.average_precision),
                             quality.average_precision.note}});
    if (summary.source.codes.empty()) {
      section.body += report::html_note(cat(quality.index_path,
                                            " does not name the codes file it was built from, so "
                                            "its images cannot be shown"));
      return;
    }
    const data::DataFileReader database(
        images_behind(resolve_recorded_path(summary.source.codes, quality.index_path)));
    const data::DataFileReader queries(
        images_behind(resolve_recorded_path(found.info.queries, options.neighbours)));
    if (!(database.shape() == queries.shape()))
      throw Error(cat("the query images of ", queries.path(), " and the database images of ",
                      database.path(), " differ in shape"));
    if (queries.rows() != found.info.rows)
      throw Error(cat(queries.path(), " holds ", queries.rows(), " images but ", options.neighbours,
                      " has ", found.info.rows, " queries"));

    const auto shown = evenly_spaced_rows(found.info.rows, kShownQueries);
    const data::ImageShape shape = database.shape();
    report::TileGrid grid({static_cast<int>(shown.size()), static_cast<int>(1 + k), shape,
                           report::zoom_for(shape), 4, 2, 3},
                          255);
    const std::vector<std::uint8_t> blank(shape.bytes(), 200);
    const auto& labels = summary.source.labels;
    for (std::size_t r = 0; r < shown.size(); ++r) {
      const std::int64_t query = shown[r];
      const int row = static_cast<int>(r);
      grid.place(row, 0, read_row(queries, query).data());
      grid.frame(row, 0, kQueryFrame);
      const std::int32_t query_label = found.query_labels ? (*found.query_labels)[query] : -1;
      for (std::int64_t j = 0; j < k; ++j) {
        const std::int64_t id = found.neighbours.ids_of(query)[j];
        const int col = static_cast<int>(1 + j);
        if (id < 0 || id >= database.rows()) {
          grid.place(row, col, blank.data());
          continue;
        }
        grid.place(row, col, read_row(database, id).data());
        const bool known = labels && query_label >= 0;
        grid.frame(row, col,
                   !known                                                   ? kNoLabel
                   : (*labels)[static_cast<std::size_t>(id)] == query_label ? kSameLabel
                                                                            : kOtherLabel);
      }
    }
    const std::string caption =
        cat(shown.size(), " of the ", found.info.rows, " queries of ", options.neighbours,
            " (blue frame, from ", queries.path(), ") with their ", k, " nearest neighbours in ",
            quality.index_path, " (", found.info.spec, "; images from ", database.path(),
            "), best first: green where the label is the query's, red where not, grey without "
            "labels.");
    section.body += "<figure>\n" +
                    folder.add_png("retrieval.png", grid.image(), "queries and their neighbours") +
                    "<figcaption>" + report::escape_html(caption) + "</figcaption>\n</figure>\n";
  });
  return section;
}

}  // namespace aepipe::stages

#include "codec/source_rounds.hpp"

#include <algorithm>

#include "data/source_table.hpp"
#include "data/tiling.hpp"
#include "mpi/agreement.hpp"
#include "util/error.hpp"

namespace aepipe::codec {

SourceRounds::SourceRounds(std::int64_t sources, std::int64_t rows, int tile,
                           std::int64_t sources_per_rank)
    : sources_(sources),
      rows_(rows),
      tile_(tile),
      per_rank_(std::max<std::int64_t>(1, sources_per_rank)) {}

std::int64_t SourceRounds::rounds(int ranks) const {
  const std::int64_t per_round = per_rank_ * ranks;
  return (sources_ + per_round - 1) / per_round;
}

SourceShare SourceRounds::next(const h5::Dataset& table, std::int64_t round,
                               const mpi::Communicator& comm) {
  SourceShare share;
  share.first_source = std::min(sources_, (round * comm.size() + comm.rank()) * per_rank_);
  const std::int64_t count = std::min(sources_ - share.first_source, per_rank_);
  mpi::collectively(comm, [&] {
    if (count <= 0) return;
    share.records = data::read_sources(table, static_cast<hsize_t>(share.first_source),
                                       static_cast<hsize_t>(count));
    for (size_t i = 0; i < share.records.size(); ++i) {
      const auto& record = share.records[i];
      if (record.height < 1 || record.width < 1 || record.height > (1 << 20) ||
          record.width > (1 << 20))
        throw Error(cat(table.where(), " row ", share.first_source + static_cast<std::int64_t>(i),
                        " ('", record.name, "') gives a size of ", record.height, "x",
                        record.width));
      share.tile_rows.push_back(
          data::tile_count(static_cast<int>(record.height), static_cast<int>(record.width), tile_));
      share.rows += share.tile_rows.back();
    }
  });
  share.first_row = next_row_ + comm.exscan_sum(share.rows);
  next_row_ += comm.allreduce_sum(share.rows);
  const bool last = round + 1 == rounds(comm.size());
  if (next_row_ > rows_ || (last && next_row_ != rows_))
    throw Error(cat(table.where(), " describes images of ",
                    last ? cat(next_row_) : cat(">= ", next_row_), " tiles of ", tile_, "x", tile_,
                    " pixels but the file holds ", rows_, " tiles"));
  return share;
}

void SourceRounds::check_tiles(const SourceShare& share, const std::vector<std::int64_t>& tiles,
                               const std::string& where) const {
  std::int64_t row = 0;
  for (size_t s = 0; s < share.records.size(); ++s) {
    const std::int64_t source = share.first_source + static_cast<std::int64_t>(s);
    const std::int64_t columns = (share.records[s].width + tile_ - 1) / tile_;
    for (std::int64_t t = 0; t < share.tile_rows[s]; ++t, ++row) {
      const std::int64_t* entry = tiles.data() + 4 * row;
      const std::int64_t top = t / columns * tile_, left = t % columns * tile_;
      if (entry[0] != source || entry[1] != top || entry[2] != left)
        throw Error(cat(where, " row ", share.first_row + row, " is (", entry[0], ", ", entry[1],
                        ", ", entry[2], ") but /sources puts tile (", source, ", ", top, ", ", left,
                        ") there: the tiles do not match the sources table"));
    }
  }
}

data::Image assemble_source(const SourceShare& share, std::size_t index, int tile, int channels,
                            const std::uint8_t* tiles) {
  const auto& record = share.records[index];
  const int height = static_cast<int>(record.height), width = static_cast<int>(record.width);
  const std::int64_t columns = (width + tile - 1) / tile;
  std::vector<data::TileOrigin> origins;
  for (std::int64_t t = 0; t < share.tile_rows[index]; ++t)
    origins.push_back({t / columns * tile, t % columns * tile});
  return data::assemble_tiles(height, width, channels, tile, origins, tiles);
}

}  // namespace aepipe::codec

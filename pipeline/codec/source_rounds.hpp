#pragma once
// Whole source images of a tiled file (data or codes: /tiles + /sources) dealt to ranks in
// rounds, so every rank can reassemble the images it holds. In round t rank r takes
// sources [(t * P + r) * S, ... + S); the tiles of a source are the rows that follow those
// of the source before it (as ingest writes them), counted from /sources' sizes.
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.hpp"
#include "data/row_batch.hpp"
#include "h5/dataset.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::codec {

struct SourceShare {
  std::int64_t first_source = 0;  // global index of records[0]
  std::vector<data::SourceRecord> records;
  std::vector<std::int64_t> tile_rows;  // [records.size()] tiles of each source
  std::int64_t first_row = 0;           // global row of the first tile
  std::int64_t rows = 0;                // tiles of all records
};

class SourceRounds {
 public:
  // `sources` rows of /sources describe the `rows` tiles of a file; `tile` is the side of the
  // square tiles; `sources_per_rank` per round.
  SourceRounds(std::int64_t sources, std::int64_t rows, int tile, std::int64_t sources_per_rank);
  std::int64_t rounds(int ranks) const;
  // Collective: this rank's share of `round`; rounds must be visited in order from 0.
  // `table` is the file's /sources. Throws on every rank if the sources need more tiles than
  // the file has, or (in the last round) fewer.
  SourceShare next(const h5::Dataset& table, std::int64_t round, const mpi::Communicator& comm);
  // Throws naming `where` unless `tiles` [share.rows * 4] are the share's sources' tiles in
  // ingest's grid order.
  void check_tiles(const SourceShare& share, const std::vector<std::int64_t>& tiles,
                   const std::string& where) const;
  int tile() const { return tile_; }
  // Rows covered by the rounds visited so far.
  std::int64_t rows_done() const { return next_row_; }

 private:
  std::int64_t sources_;
  std::int64_t rows_;
  int tile_;
  std::int64_t per_rank_;
  std::int64_t next_row_ = 0;  // first row of the next round
};

// Reassembles source image `index` of the share from its tiles' pixels
// [share.tile_rows[index], tile, tile, channels], starting at `tiles`.
data::Image assemble_source(const SourceShare& share, std::size_t index, int tile, int channels,
                            const std::uint8_t* tiles);

}  // namespace aepipe::codec
